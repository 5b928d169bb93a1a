"""The explicit rating model (the seed's ALS): tuning by cross-validation, training, RMSE against a baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipeline.lake import Lake
from pipeline.ml import als
from pipeline.ml.model_store import ModelStore, new_version
from pipeline.ml.recommendations import COLS, MOVIES, interactions

MODEL = "als_ratings"
RATING_SCALE = (0.5, 5.0)  # MovieLens stars: predictions are clipped to it


def tune(spark: SparkSession, lake: Lake, grid: dict[str, Sequence], folds: int = 3, parallelism: int = 2,
         base: als.AlsParams = als.SEED_RATING_PARAMS) -> list[als.TuningRow]:
    """Cross-validate the grid on the training 80% (the held-out 20% stays unseen until the final RMSE)."""
    train, _ = als.hash_split(interactions(spark, lake, MOVIES), COLS)
    train = train.persist()
    try:
        return als.tune(train, base, grid, COLS, folds=folds, parallelism=parallelism)
    finally:
        train.unpersist()


def train(spark: SparkSession, lake: Lake, params: als.AlsParams, progress: Callable[[str], None] = print) -> dict:
    """Fit on the 80% split (seed 42), report RMSE on the 20% (predictions clipped to the star scale) beside the
    item-mean baseline (each movie's mean training rating, the global mean for unknown movies), and save the
    model as a new version."""
    data = interactions(spark, lake, MOVIES)
    train_df, test_df = als.hash_split(data, COLS)
    train_df, test_df = train_df.persist(), test_df.persist()
    try:
        model = als.fit(train_df, params, COLS)
        rmse = als.rmse(model, test_df, COLS, RATING_SCALE)
        mean = train_df.agg(F.avg(COLS.rating)).first()[0]
        item_means = train_df.groupBy(COLS.item).agg(F.avg(COLS.rating).alias("prediction"))
        baseline = (test_df.join(item_means, COLS.item, "left")
                    .select(F.sqrt(F.avg((F.coalesce("prediction", F.lit(mean)) - F.col(COLS.rating)) ** 2)))
                    .first()[0])
        progress(f"rating model: RMSE {rmse:.4f} (item-mean baseline {baseline:.4f})")
        version = new_version()
        store = ModelStore(lake, MODEL)
        model.write().overwrite().save(store.uri(version, "als"))
        return store.save_card(version, params.as_dict(), {"rmse": rmse}, {"rmse": float(baseline)}, "rmse", False,
                               {"train": train_df.count(), "test": test_df.count()})
    finally:
        train_df.unpersist()
        test_df.unpersist()
