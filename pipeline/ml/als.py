"""ALS recommenders (Spark MLlib): splits, training, tuning, evaluation, top-N scoring and fold-in.

Two kinds of model, as the issue asks:
- the explicit *rating* model (the seed's: rank 12, maxIter 15, regParam 0.05, nonnegative, cold start
  "drop"), measured by RMSE on a held-out 20%, and tuned by a cross-validated grid;
- implicit-feedback *ranking* models (Hu, Koren & Volinsky) for the top-10 lists, measured by ranking
  metrics against a popularity baseline, because a model fitted to rating values ranks poorly.

Scoring works on the factor matrices with numpy (`rank_items`), inside Spark (`top_n`, mapInPandas over
users) for a full rewrite and on the driver (`fold_in`) for the few users a Kafka batch touches. Every
top-N list leaves out what the user has already rated or taken.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pyspark import inheritable_thread_target
from pyspark.ml.evaluation import RankingEvaluator, RegressionEvaluator
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.utils import is_remote


@dataclass(frozen=True)
class Columns:
    user: str
    item: str
    rating: str  # the explicit rating, or the implicit strength (1.0 for an enrolment)
    time: str


@dataclass(frozen=True)
class AlsParams:
    rank: int = 12
    max_iter: int = 15
    reg_param: float = 0.05
    implicit: bool = False
    alpha: float = 1.0  # implicit only: confidence = 1 + alpha * rating
    nonnegative: bool = True
    seed: int = 42

    def estimator(self, cols: Columns, blocks: int) -> ALS:
        return ALS(
            rank=self.rank, maxIter=self.max_iter, regParam=self.reg_param, implicitPrefs=self.implicit,
            alpha=self.alpha, nonnegative=self.nonnegative, seed=self.seed,
            userCol=cols.user, itemCol=cols.item, ratingCol=cols.rating, coldStartStrategy="drop",
            # Few blocks: on a small machine the per-block shuffle overhead dominates an iteration.
            numUserBlocks=blocks, numItemBlocks=blocks,
        )

    def as_dict(self) -> dict:
        return asdict(self)


SEED_RATING_PARAMS = AlsParams()
# The grid of the seed's tuning script (als_hypertuning.py). Its notebook tried rank {8, 12, 16} x maxIter
# {10, 15, 20} x regParam {0.01, 0.05, 0.1} on the 20M release (best: 16, 20, 0.05 → RMSE 0.7847); on the
# 100k release rank 10 wins, which only the script's grid has.
SEED_RATING_GRID: dict[str, tuple] = {"rank": (8, 10, 12), "max_iter": (10, 15), "reg_param": (0.05, 0.1, 0.2)}


def in_worker_thread(session: SparkSession, fn: Callable) -> Callable:
    """`fn` made ready to run in a worker thread: on Spark Connect, Spark ML finds its session as the thread's
    active one, which a new thread does not have (pyspark's `inheritable_thread_target` sets it)."""
    return inheritable_thread_target(session)(fn) if is_remote() else fn


def _blocks(df: DataFrame) -> int:
    """ALS user/item blocks: as many as shuffle partitions (few on a small machine: each block costs a shuffle)."""
    return max(1, int(df.sparkSession.conf.get("spark.sql.shuffle.partitions", "4")))


def hash_split(df: DataFrame, cols: Columns, test_share: float = 0.2, seed: int = 42) -> tuple[DataFrame, DataFrame]:
    """(train, test): the seed's random 80/20 split with seed 42, drawn from a hash of (user, item, seed), so the
    same rows land on the same side whatever the partitioning (`randomSplit` depends on the row layout)."""
    bucket = F.pmod(F.xxhash64(F.col(cols.user), F.col(cols.item), F.lit(seed)), F.lit(10_000))
    is_test = bucket < int(test_share * 10_000)
    return df.where(~is_test), df.where(is_test)


def leave_last_out(df: DataFrame, cols: Columns) -> tuple[DataFrame, DataFrame]:
    """(train, test): each user's latest interaction is the test row (the seed's protocol for courses); users
    with a single interaction stay whole in train. Ties in time are broken by item id, for determinism."""
    latest = F.row_number().over(
        Window.partitionBy(cols.user).orderBy(F.col(cols.time).desc(), F.col(cols.item).desc()))
    count = F.count(F.lit(1)).over(Window.partitionBy(cols.user))
    marked = df.withColumn("_n", latest).withColumn("_count", count)
    test = marked.where((F.col("_n") == 1) & (F.col("_count") > 1)).drop("_n", "_count")
    train = marked.where((F.col("_n") > 1) | (F.col("_count") == 1)).drop("_n", "_count")
    return train, test


def fit(train: DataFrame, params: AlsParams, cols: Columns) -> ALSModel:
    return params.estimator(cols, _blocks(train)).fit(train)


def rmse(model: ALSModel, test: DataFrame, cols: Columns) -> float:
    """RMSE on the test rows whose user and item the model knows (cold start "drop"): the cross-validation score,
    which compares parameter sets with each other, never with a baseline."""
    evaluator = RegressionEvaluator(metricName="rmse", labelCol=cols.rating, predictionCol="prediction")
    return float(evaluator.evaluate(model.transform(test)))


def mean_prediction(models: Sequence[ALSModel], rows: DataFrame, cols: Columns) -> pd.DataFrame:
    """(user, item, prediction) for every row of `rows`: the mean prediction of `models` (fitted on the same data),
    NaN where they do not know the user or the item."""
    keys = [cols.user, cols.item]
    pairs = rows.select(*keys)
    predictions = None
    for i, model in enumerate(models):
        scored = model.copy().setColdStartStrategy("nan").transform(pairs)
        scored = scored.select(*keys, F.col("prediction").cast("double").alias(f"_p{i}"))
        predictions = scored if predictions is None else predictions.join(scored, keys)
    mean = sum((F.col(f"_p{i}") for i in range(len(models))), F.lit(0.0)) / len(models)
    return predictions.select(*keys, mean.alias("prediction")).toPandas()


@dataclass(frozen=True)
class TuningRow:
    params: AlsParams
    rmse: float  # mean over the folds
    rmse_std: float


def cross_validate(train: DataFrame, candidates: Sequence[AlsParams], cols: Columns, folds: int = 3,
                   parallelism: int = 2) -> list[TuningRow]:
    """K-fold cross-validated RMSE of each candidate, in the order given.

    Folds come from a hash of (user, item, seed), like `hash_split`, so the choice does not change with the
    data's partitioning (Spark's CrossValidator draws folds per partition). Candidates run `parallelism` at a
    time, each a Spark job of its own.
    """
    seed = candidates[0].seed if candidates else 42
    bucket = F.pmod(F.xxhash64(F.col(cols.user), F.col(cols.item), F.lit(seed + 1)), F.lit(folds))
    data = train.withColumn("_fold", bucket).persist()

    def score(params: AlsParams) -> TuningRow:
        errors = []
        for fold in range(folds):
            model = fit(data.where(F.col("_fold") != fold), params, cols)
            errors.append(rmse(model, data.where(F.col("_fold") == fold), cols))
        return TuningRow(params, float(np.mean(errors)), float(np.std(errors)))

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            return list(pool.map(in_worker_thread(train.sparkSession, score), candidates))
    finally:
        data.unpersist()


# ---- scoring -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Factors:
    """Item factors as numpy, for scoring outside the JVM."""

    ids: np.ndarray  # item ids, sorted
    matrix: np.ndarray  # float32, one row per id

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Factors:
        frame = frame.sort_values("id")
        return cls(frame["id"].to_numpy(), np.stack(frame["features"].to_numpy()).astype(np.float32))

    def positions(self, items: np.ndarray) -> np.ndarray:
        """Row of each known item id (unknown ids are dropped)."""
        items = np.asarray(items)
        pos = np.searchsorted(self.ids, items)
        pos = np.minimum(pos, len(self.ids) - 1)
        return pos[self.ids[pos] == items]


def rank_items(users: np.ndarray, items: Factors, seen: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Top `n` (item ids, scores) per user row of `users`, best first, leaving out each user's `seen` items.
    Slots a user cannot fill (fewer than n unseen items) hold id -1 and score -inf."""
    scores = users.astype(np.float32) @ items.matrix.T
    for row, items_seen in enumerate(seen):
        scores[row, items.positions(items_seen)] = -np.inf
    n_take = min(n, scores.shape[1])
    top = np.argpartition(-scores, n_take - 1, axis=1)[:, :n_take]
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)
    ids = np.where(np.isfinite(top_scores), items.ids[top], -1)
    return ids, top_scores


TOP_N_SCHEMA = "user long, rank int, item long, score float"


def top_n(user_factors: DataFrame, item_factors: pd.DataFrame, seen: DataFrame, cols: Columns, n: int = 10) -> DataFrame:
    """(user, rank, item, score) for every user of `user_factors` (ALS's id/features), leaving out the items of
    `seen` (the user's interactions). Item factors travel with the task; users are scored in pandas batches."""
    items = Factors.of(item_factors)
    seen_lists = seen.groupBy(F.col(cols.user).alias("id")).agg(F.collect_list(cols.item).alias("seen"))
    users = user_factors.join(seen_lists, "id", "left")

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            vectors = np.stack(batch["features"].to_numpy())
            seen_items = [np.asarray(s if s is not None else [], dtype=np.int64) for s in batch["seen"]]
            ids, scores = rank_items(vectors, items, seen_items, n)
            frame = pd.DataFrame({
                "user": np.repeat(batch["id"].to_numpy(), ids.shape[1]),
                "rank": np.tile(np.arange(1, ids.shape[1] + 1, dtype=np.int32), len(batch)),
                "item": ids.ravel(),
                "score": scores.ravel().astype(np.float32),
            })
            yield frame[frame["item"] >= 0]

    return users.mapInPandas(score, TOP_N_SCHEMA)


def popularity(train: DataFrame, cols: Columns) -> pd.DataFrame:
    """Items by number of users who interacted with them, most popular first (ties by id): the baseline and
    the fallback for users the model does not know."""
    counts = train.groupBy(F.col(cols.item).alias("item")).agg(F.countDistinct(cols.user).alias("users"))
    return counts.toPandas().sort_values(["users", "item"], ascending=[False, True]).reset_index(drop=True)


def popular_top_n(popular: pd.DataFrame, seen: Sequence[int], n: int = 10) -> pd.DataFrame:
    """The `n` most popular items the user has not seen, as (rank, item, score = share of users)."""
    taken = set(seen)
    rows = [r for r in popular.head(n + len(taken)).itertuples() if r.item not in taken][:n]
    total = max(1, int(popular["users"].max())) if len(popular) else 1
    return pd.DataFrame({"rank": np.arange(1, len(rows) + 1, dtype=np.int32),
                         "item": [r.item for r in rows], "score": [r.users / total for r in rows]})


def fold_in(items: Factors, rated: np.ndarray, ratings: np.ndarray, params: AlsParams) -> np.ndarray | None:
    """The factor vector an implicit ALS model gives a user with these (item, rating) interactions, item
    factors fixed: exactly the user half-step of Spark's ALS (confidence 1 + alpha·r, regularisation scaled by
    the number of positive interactions). None when no rated item is known to the model."""
    pos = items.positions(rated)
    known = np.isin(rated, items.ids[pos])
    if not len(pos):
        return None
    weights = params.alpha * np.abs(np.asarray(ratings, dtype=np.float64)[known])
    y = items.matrix[pos].astype(np.float64)
    yty = items.matrix.T.astype(np.float64) @ items.matrix.astype(np.float64)
    a = yty + (y.T * weights) @ y + params.reg_param * np.count_nonzero(weights > 0) * np.eye(y.shape[1])
    b = ((1.0 + weights) * (weights > 0)) @ y
    return np.linalg.solve(a, b).astype(np.float32)


# ---- evaluation -----------------------------------------------------------------------------------------------

def ranking_metrics(recommended: DataFrame, test: DataFrame, cols: Columns, k: int = 10) -> dict[str, float]:
    """precision@k, NDCG@k and MAP@k (Spark's RankingEvaluator, binary relevance) of top-k lists
    (user, rank, item) against each test user's held-out items; users without a list count as empty lists."""
    relevant = test.groupBy(F.col(cols.user).alias("user")).agg(
        F.collect_set(F.col(cols.item).cast("double")).alias("label"))
    lists = recommended.where(F.col("rank") <= k).groupBy("user").agg(
        F.sort_array(F.collect_list(F.struct("rank", F.col("item").cast("double").alias("item")))).alias("ranked"))
    joined = relevant.join(lists, "user", "left").select(
        F.coalesce(F.col("ranked.item"), F.array().cast("array<double>")).alias("prediction"), "label")
    joined = joined.persist()
    try:
        metrics = {}
        for name, metric in (("precision_at_10", "precisionAtK"), ("ndcg_at_10", "ndcgAtK"),
                             ("map_at_10", "meanAveragePrecisionAtK")):
            evaluator = RankingEvaluator(metricName=metric, k=k, predictionCol="prediction", labelCol="label")
            metrics[name.replace("10", str(k))] = float(evaluator.evaluate(joined))
        return metrics
    finally:
        joined.unpersist()


def sampled_ranking_metrics(positive_scores: np.ndarray, negative_scores: np.ndarray, k: int = 10,
                            seed: int = 42) -> dict[str, float]:
    """Hit@k and NDCG@k of one held-out item per user ranked among sampled negatives (the seed's protocol):
    `positive_scores` has one score per user, `negative_scores` one row of negatives per user. Ties are broken
    at random, so a constant score earns chance level rather than a perfect one."""
    rng = np.random.default_rng(seed)
    above = (negative_scores > positive_scores[:, None]).sum(axis=1)
    ties = (negative_scores == positive_scores[:, None]).sum(axis=1)
    rank = above + rng.integers(0, ties + 1)  # 0-based position of the positive item
    hit = rank < k
    return {f"hit_at_{k}": float(hit.mean()) if len(hit) else 0.0,
            f"ndcg_at_{k}": float(np.where(hit, 1.0 / np.log2(rank + 2), 0.0).mean()) if len(hit) else 0.0}


def sample_negatives(histories: Sequence[np.ndarray], catalogue: np.ndarray, count: int = 100,
                     seed: int = 42) -> np.ndarray:
    """For each user, `count` distinct items of `catalogue` outside the user's history (one row per user)."""
    rng = np.random.default_rng(seed)
    rows = np.empty((len(histories), count), dtype=catalogue.dtype)
    for i, history in enumerate(histories):
        allowed = np.setdiff1d(catalogue, history)
        if len(allowed) < count:
            raise ValueError(f"only {len(allowed)} items outside a user's history, {count} negatives needed")
        rows[i] = rng.choice(allowed, size=count, replace=False)
    return rows

