"""The two recommenders (movies, courses): their interactions, training with evaluation, and top-10 lists.

Both are implicit-feedback ALS ranking models (`pipeline.ml.als`); a `Recommender` says where each one's
interactions come from (the cleaned CSV table plus everything parsed from its Kafka stream), how it is
evaluated, and how its ids and labels look in its Cassandra table. The same code then trains, evaluates,
scores every user for a full rewrite (Spark) and re-scores the users of one Kafka batch (numpy fold-in on the
driver: seconds, not a Spark job).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipeline.lake import Lake
from pipeline.ml import als, mooc, movielens
from pipeline.ml.csv_tables import read_cleaned
from pipeline.ml.model_store import ModelStore, new_version
from pipeline.ml.streams import STAGED_ZONE, InteractionStream

COLS = als.Columns(user="user", item="item", rating="rating", time="time")
TOP_N = 10
NEGATIVES = 100


@dataclass(frozen=True)
class Recommender:
    name: str
    model: str  # name in the model store
    stream: InteractionStream
    params: als.AlsParams
    evaluation: str = "held_out_20"  # or "leave_last_out"
    table_user: Callable[[int], object] = int  # model id -> the table's user id
    table_item: Callable[[int], object] = int
    columns: tuple[str, ...] = ()  # the Cassandra table's user, rank, item, score, label columns

    def store(self, lake: Lake) -> ModelStore:
        return ModelStore(lake, self.model)


MOVIES = Recommender(
    name="movies", model="als_movie_ranking", stream=movielens.RATING_STREAM,
    # Measured on the 100k release: NDCG@10 0.42 against the popularity baseline's 0.21.
    params=als.AlsParams(rank=16, max_iter=15, reg_param=0.1, implicit=True, alpha=1.0, nonnegative=False),
    columns=("userid", "rank", "movieid", "score", "title", "genres"),
)
COURSES = Recommender(
    name="courses", model="als_course_ranking", stream=mooc.ENROLMENT_STREAM,
    params=als.AlsParams(rank=32, max_iter=15, reg_param=0.05, implicit=True, alpha=20.0, nonnegative=False),
    evaluation="leave_last_out",
    table_user=lambda n: mooc.text_id("U", n), table_item=lambda n: mooc.text_id("C", n),
    columns=("user_id", "rank", "course_id", "score", "course_name"),
)


# ---- interactions --------------------------------------------------------------------------------------------

def _staged_stream(spark: SparkSession, lake: Lake, rec: Recommender) -> DataFrame | None:
    if not lake.list_files(*STAGED_ZONE, rec.stream.topic):
        return None
    return spark.read.parquet(lake.uri(*STAGED_ZONE, rec.stream.topic))


def _one_per_pair(frame: DataFrame, latest: bool) -> DataFrame:
    order = F.col(COLS.time).desc() if latest else F.col(COLS.time).asc()
    n = F.row_number().over(Window.partitionBy(COLS.user, COLS.item).orderBy(order))
    return frame.withColumn("_n", n).where("_n = 1").drop("_n")


def interactions(spark: SparkSession, lake: Lake, rec: Recommender) -> DataFrame:
    """(user, item, rating, time) with int ids, one row per (user, item): the cleaned table plus the stream."""
    if rec is MOVIES:
        def shape(df: DataFrame) -> DataFrame:
            return df.select(F.col("userId").alias("user"), F.col("movieId").alias("item"),
                             F.col("rating").cast("double").alias("rating"), F.col("timestamp").alias("time"))
        frames = [shape(read_cleaned(spark, lake, movielens.RATINGS))]
    else:
        def shape(df: DataFrame) -> DataFrame:
            return df.select(mooc.numeric_id("user_id").alias("user"), mooc.numeric_id("course_id").alias("item"),
                             F.lit(1.0).alias("rating"), F.col("enroll_time").cast("timestamp").alias("time"))
        frames = [shape(read_cleaned(spark, lake, mooc.ENROLMENTS))]
    stream = _staged_stream(spark, lake, rec)
    if stream is not None:
        frames.append(shape(stream))
    union = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    # A re-rated movie counts with its newest rating; a course counts from its first enrolment.
    return _one_per_pair(union.where(F.col("user").isNotNull() & F.col("item").isNotNull()), latest=rec is MOVIES)


def history(lake: Lake, rec: Recommender, users: list[int]) -> pd.DataFrame:
    """The same interactions as `interactions`, for a few users, read with pyarrow (no Spark)."""
    if rec is MOVIES:
        sources = [(movielens.RATINGS.cleaned_parts, ("userId", "movieId", "rating", "timestamp")),
                   ((*STAGED_ZONE, rec.stream.topic), ("userId", "movieId", "rating", "timestamp"))]
        keys = users
    else:
        sources = [(mooc.ENROLMENTS.cleaned_parts, ("user_id", "course_id", None, "enroll_time")),
                   ((*STAGED_ZONE, rec.stream.topic), ("user_id", "course_id", None, "enroll_time"))]
        keys = [rec.table_user(u) for u in users]
    frames = []
    for parts, (user, item, rating, time) in sources:
        dataset = lake.dataset(*parts)
        if dataset is None:
            continue
        table = dataset.to_table(columns=[c for c in (user, item, rating, time) if c],
                                 filter=pc.field(user).isin(keys))
        frame = table.to_pandas()
        frames.append(pd.DataFrame({
            "user": frame[user] if rec is MOVIES else frame[user].str.slice(2).astype("int64"),
            "item": frame[item] if rec is MOVIES else pd.to_numeric(frame[item].str.slice(2), errors="coerce"),
            "rating": frame[rating].astype(float) if rating else 1.0,
            "time": pd.to_datetime(frame[time], utc=True),
        }))
    if not frames:
        return pd.DataFrame({"user": [], "item": [], "rating": [], "time": []})
    every = pd.concat(frames).dropna(subset=["item"]).astype({"item": "int64", "user": "int64"})
    every = every.sort_values("time", ascending=rec is not MOVIES, kind="stable")
    return every.drop_duplicates(["user", "item"], keep="first")


def labels(lake: Lake, rec: Recommender) -> pd.DataFrame:
    """item -> the label columns of the Cassandra table (title and genres; course name)."""
    if rec is MOVIES:
        movies = pq.read_table(lake.path(*movielens.MOVIES.cleaned_parts), filesystem=lake.filesystem).to_pandas()
        return movies.rename(columns={"movieId": "item"}).set_index("item")[["title", "genres"]]
    courses = pq.read_table(lake.path(*mooc.COURSES.cleaned_parts), filesystem=lake.filesystem).to_pandas()
    courses["item"] = pd.to_numeric(courses["course_id"].str.slice(2), errors="coerce")
    name = courses["name_vn"].fillna(courses["name"])
    return pd.DataFrame({"course_name": name.to_numpy()}, index=courses["item"]).loc[lambda f: f.index.notna()]


# ---- training and evaluation ---------------------------------------------------------------------------------

def _popularity_factors(popular: pd.DataFrame) -> pd.DataFrame:
    """Popularity as a one-dimensional 'model': every user vector is [1], an item's factor is its user count,
    so the baseline's lists come from the same scoring code (and leave out seen items the same way)."""
    return pd.DataFrame({"id": popular["item"], "features": [[float(u)] for u in popular["users"]]})


def _evaluate_full(model, train: DataFrame, test: DataFrame, popular: pd.DataFrame) -> tuple[dict, dict]:
    """Full ranking: each test user's top 10 among every item they have not seen in training, against their
    held-out items (precision, NDCG and MAP at 10), for the model and for popularity."""
    users = test.select(F.col(COLS.user).alias("id")).distinct()
    model_lists = als.top_n(model.userFactors.join(users, "id"), model.itemFactors.toPandas(), train, COLS, TOP_N)
    ones = users.withColumn("features", F.array(F.lit(1.0).cast("float")))
    baseline_lists = als.top_n(ones, _popularity_factors(popular), train, COLS, TOP_N)
    return (als.ranking_metrics(model_lists, test, COLS, TOP_N),
            als.ranking_metrics(baseline_lists, test, COLS, TOP_N))


def _evaluate_sampled(model, train: DataFrame, test: DataFrame, popular: pd.DataFrame) -> tuple[dict, dict]:
    """The seed's protocol: each test user's latest held-out item ranked among NEGATIVES items sampled from those
    the user never interacted with (Hit@10, NDCG@10), for the model and for popularity."""
    latest = F.row_number().over(Window.partitionBy(COLS.user).orderBy(F.col(COLS.time).desc(),
                                                                         F.col(COLS.item).desc()))
    one = test.withColumn("_n", latest).where("_n = 1").select(COLS.user, COLS.item).toPandas().sort_values(COLS.user)
    known = train.select(COLS.user, COLS.item).unionByName(test.select(COLS.user, COLS.item))
    every = known.groupBy(COLS.user).agg(F.collect_list(COLS.item).alias("items")).toPandas().set_index(COLS.user)
    histories = [np.asarray(every["items"][u], dtype=np.int64) for u in one[COLS.user]]
    catalogue = np.sort(popular["item"].to_numpy())
    negatives = als.sample_negatives(histories, catalogue, NEGATIVES)
    items = als.Factors.of(model.itemFactors.toPandas())
    users = model.userFactors.toPandas().set_index("id")
    vectors = np.stack([np.asarray(users["features"].get(u, np.zeros(items.matrix.shape[1])), dtype=np.float32)
                        for u in one[COLS.user]])

    def als_scores(item_ids: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(items.ids, item_ids), 0, len(items.ids) - 1)
        known_item = items.ids[pos] == item_ids
        scores = np.einsum("ur,u...r->u...", vectors, items.matrix[pos])
        return np.where(known_item, scores, -np.inf)

    counts = dict(zip(popular["item"], popular["users"], strict=True))
    to_count = np.vectorize(lambda i: counts.get(i, 0), otypes=[float])
    positives = one[COLS.item].to_numpy()
    model_metrics = als.sampled_ranking_metrics(als_scores(positives), als_scores(negatives), TOP_N)
    baseline = als.sampled_ranking_metrics(to_count(positives), to_count(negatives), TOP_N)
    return model_metrics, baseline


def _protocol(rec: Recommender) -> str:
    split = ("random 80/20 hash split (seed 42)" if rec.evaluation == "held_out_20"
             else "leave-last-out (each user's latest interaction)")
    return f"{split}; full ranking among all unseen items, and the latest held-out item among {NEGATIVES} sampled"


def train_ranking(spark: SparkSession, lake: Lake, rec: Recommender, params: als.AlsParams,
                  progress: Callable[[str], None] = print) -> dict:
    """Evaluate `params` on a split against the popularity baseline, both by full ranking (primary: NDCG@10) and
    by the seed's sampled protocol (`sampled_*`), train the serving model on every interaction, and save both
    (model, popularity, card) as a new version. Returns the card."""
    data = interactions(spark, lake, rec).persist()
    try:
        if rec.evaluation == "held_out_20":
            train, test = als.hash_split(data, COLS)
        else:
            train, test = als.leave_last_out(data, COLS)
        train, test = train.persist(), test.persist()
        progress(f"{rec.name}: evaluating on {train.count()} training and {test.count()} held-out interactions")
        model = als.fit(train, params, COLS)
        popular_train = als.popularity(train, COLS)
        metrics, baseline = _evaluate_full(model, train, test, popular_train)
        sampled, sampled_baseline = _evaluate_sampled(model, train, test, popular_train)
        metrics.update({f"sampled_{k}": v for k, v in sampled.items()})
        baseline.update({f"sampled_{k}": v for k, v in sampled_baseline.items()})
        progress(f"{rec.name}: model {metrics}, popularity baseline {baseline}")
        sizes = {"interactions": data.count(), "train": train.count(), "test": test.count()}
        train.unpersist()
        test.unpersist()
        serving_model = als.fit(data, params, COLS)
        version = new_version()
        store = rec.store(lake)
        serving_model.write().overwrite().save(store.uri(version, "als"))
        lake.write_parquet(pa.Table.from_pandas(als.popularity(data, COLS), preserve_index=False),
                           *store.parts(version, "popularity.parquet"))
        return store.save_card(version, params.as_dict(), metrics, baseline, "ndcg_at_10", True,
                               {**sizes, "users": serving_model.userFactors.count(),
                                "items": serving_model.itemFactors.count(), "evaluation": rec.evaluation},
                               {"protocol": _protocol(rec)})
    finally:
        data.unpersist()


# ---- top-10 lists --------------------------------------------------------------------------------------------

def _to_table_rows(rec: Recommender, lists: pd.DataFrame, item_labels: pd.DataFrame) -> pd.DataFrame:
    """(user, rank, item, score) → the Cassandra table's columns, with labels."""
    joined = lists.join(item_labels, on="item", how="left")
    user_col, rank_col, item_col, score_col, *label_cols = rec.columns
    out = pd.DataFrame({
        user_col: joined["user"].map(rec.table_user), rank_col: joined["rank"].astype("int32"),
        item_col: joined["item"].map(rec.table_item), score_col: joined["score"].astype("float32"),
    })
    for label in label_cols:
        out[label] = joined[label].where(joined[label].notna(), None)
    return out.reset_index(drop=True)


def all_top_n(spark: SparkSession, lake: Lake, rec: Recommender, version: str) -> pd.DataFrame:
    """Top-10 of every user the model knows, for a full rewrite of the Cassandra table."""
    from pyspark.ml.recommendation import ALSModel

    model = ALSModel.load(rec.store(lake).uri(version, "als"))
    lists = als.top_n(model.userFactors, model.itemFactors.toPandas(), interactions(spark, lake, rec), COLS, TOP_N)
    return _to_table_rows(rec, lists.toPandas(), labels(lake, rec))


def rescore(lake: Lake, rec: Recommender, version: str, users: list[int]) -> pd.DataFrame:
    """Top-10 of a few users from their whole current history, folded into the model's item factors; users the
    model cannot place (no known item) get the most popular items they have not seen."""
    store = rec.store(lake)
    card = store.card(version)
    params = als.AlsParams(**card["params"])
    items = als.Factors.of(lake.dataset(*store.parts(version, "als", "itemFactors")).to_table().to_pandas())
    popular = pq.read_table(lake.path(*store.parts(version, "popularity.parquet")),
                            filesystem=lake.filesystem).to_pandas()
    seen = history(lake, rec, users)
    by_user = dict(tuple(seen.groupby("user")))
    lists = []
    for user in users:
        mine = by_user.get(user, seen.iloc[0:0])
        vector = als.fold_in(items, mine["item"].to_numpy(), mine["rating"].to_numpy(), params)
        if vector is None:
            top = als.popular_top_n(popular, mine["item"].tolist(), TOP_N)
        else:
            ids, scores = als.rank_items(vector[None, :], items, [mine["item"].to_numpy()], TOP_N)
            keep = ids[0] >= 0
            top = pd.DataFrame({"rank": np.arange(1, keep.sum() + 1, dtype=np.int32),
                                "item": ids[0][keep], "score": scores[0][keep]})
        lists.append(top.assign(user=user))
    frame = pd.concat(lists, ignore_index=True) if lists else pd.DataFrame(columns=["user", "rank", "item", "score"])
    return _to_table_rows(rec, frame, labels(lake, rec))
