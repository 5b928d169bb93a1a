"""ALS helpers: splits, scoring, fold-in and metrics, against hand computations (and Spark's own factors)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from pipeline.ml import als

COLS = als.Columns("user", "item", "rating", "time")


def test_hash_split_does_not_depend_on_partitioning(spark):
    df = spark.range(5000).selectExpr("id % 97 AS user", "id AS item", "1.0 AS rating")
    train_a, test_a = als.hash_split(df.repartition(1), COLS)
    train_b, test_b = als.hash_split(df.repartition(7), COLS)
    assert sorted(r.item for r in test_a.collect()) == sorted(r.item for r in test_b.collect())
    assert train_a.count() + test_a.count() == 5000
    assert 0.17 < test_a.count() / 5000 < 0.23


def test_leave_last_out_holds_out_each_users_latest_interaction(spark):
    rows = [(1, 10, 1.0, datetime(2020, 1, 1)), (1, 11, 1.0, datetime(2020, 1, 3)), (1, 12, 1.0, datetime(2020, 1, 2)),
            (2, 10, 1.0, datetime(2020, 1, 5)), (3, 13, 1.0, datetime(2020, 1, 1)), (3, 14, 1.0, datetime(2020, 1, 1))]
    train, test = als.leave_last_out(spark.createDataFrame(rows, "user int, item int, rating double, time timestamp"),
                                     COLS)
    # user 2 has one interaction: it stays in train; user 3's tie is broken by the larger item id.
    assert sorted((r.user, r.item) for r in test.collect()) == [(1, 11), (3, 14)]
    assert sorted((r.user, r.item) for r in train.collect()) == [(1, 10), (1, 12), (2, 10), (3, 13)]


def test_rank_items_orders_by_dot_product_and_leaves_out_seen_items():
    items = als.Factors(np.array([5, 6, 7, 8]), np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32))
    users = np.array([[2.0, 1.0], [0.0, 1.0]])
    ids, scores = als.rank_items(users, items, [np.array([7]), np.array([])], n=3)
    # user 0: scores 5→2, 6→1, 7→3 (seen), 8→-2; user 1: 5→0, 6→1, 7→1, 8→0 (tie 6/7 keeps both above 0).
    assert ids[0].tolist() == [5, 6, 8]
    assert scores[0].tolist() == [2.0, 1.0, -2.0]
    assert set(ids[1][:2].tolist()) == {6, 7} and scores[1][2] == 0.0


def test_rank_items_marks_slots_it_cannot_fill():
    items = als.Factors(np.array([1, 2]), np.eye(2, dtype=np.float32))
    ids, scores = als.rank_items(np.array([[1.0, 1.0]]), items, [np.array([1])], n=2)
    assert ids[0].tolist() == [2, -1] and math.isinf(scores[0][1])


def test_fold_in_reproduces_the_user_factors_of_spark_implicit_als(spark):
    rng = np.random.default_rng(3)
    rows = {(int(u), int(i)): float(rng.integers(1, 6)) for u, i in zip(rng.integers(0, 60, 900),
                                                                          rng.integers(0, 40, 900), strict=True)}
    df = spark.createDataFrame([(u, i, r) for (u, i), r in rows.items()], "user int, item int, rating double")
    params = als.AlsParams(rank=4, max_iter=8, reg_param=0.1, implicit=True, alpha=2.0, nonnegative=False)
    model = als.fit(df, params, COLS)
    items = als.Factors.of(model.itemFactors.toPandas())
    users = model.userFactors.toPandas().set_index("id")
    for user in (0, 17, 42):
        mine = [(i, r) for (u, i), r in rows.items() if u == user]
        vector = als.fold_in(items, np.array([i for i, _ in mine]), np.array([r for _, r in mine]), params)
        # Spark's last step solves each user's factors from the final item factors: the same normal equations.
        np.testing.assert_allclose(vector, np.asarray(users.loc[user, "features"]), rtol=1e-3, atol=1e-4)


def test_fold_in_of_a_user_without_known_items_is_none():
    items = als.Factors(np.array([1, 2]), np.eye(2, dtype=np.float32))
    assert als.fold_in(items, np.array([99]), np.array([4.0]), als.AlsParams(implicit=True)) is None


def test_ranking_metrics_match_a_hand_computation(spark):
    # user 1: list [10, 11, 12], relevant {11, 13}; user 2: list [20, 21], relevant {20}; user 3: no list, {30}.
    recs = spark.createDataFrame([(1, 1, 10, 0.9), (1, 2, 11, 0.8), (1, 3, 12, 0.7), (2, 1, 20, 0.9), (2, 2, 21, 0.1)],
                                 "user long, rank int, item long, score float")
    test = spark.createDataFrame([(1, 11), (1, 13), (2, 20), (3, 30)], "user int, item int")
    metrics = als.ranking_metrics(recs, test, COLS, k=10)
    precision = (1 / 10 + 1 / 10 + 0) / 3  # Spark divides by k, not by the list length
    dcg_1, idcg_1 = 1 / math.log2(3), 1 + 1 / math.log2(3)
    ndcg = (dcg_1 / idcg_1 + 1.0 + 0.0) / 3
    ap_1 = (1 / 2) / 2  # one hit at rank 2 (precision 1/2), divided by min(|relevant|, k) = 2
    assert metrics["precision_at_10"] == pytest.approx(precision)
    assert metrics["ndcg_at_10"] == pytest.approx(ndcg)
    assert metrics["map_at_10"] == pytest.approx((ap_1 + 1.0 + 0.0) / 3)


def test_sampled_metrics_rank_the_positive_among_negatives():
    positives = np.array([0.9, 0.5, 0.1])
    negatives = np.array([[0.1] * 100, [0.9] * 3 + [0.1] * 97, [0.9] * 100])
    metrics = als.sampled_ranking_metrics(positives, negatives, k=10)
    # ranks (0-based): 0, 3, 100 → hits 1, 1, 0; NDCG 1, 1/log2(5), 0.
    assert metrics["hit_at_10"] == pytest.approx(2 / 3)
    assert metrics["ndcg_at_10"] == pytest.approx((1 + 1 / math.log2(5)) / 3)


def test_constant_scores_earn_chance_level_not_a_perfect_score():
    metrics = als.sampled_ranking_metrics(np.zeros(2000), np.zeros((2000, 100)), k=10)
    assert metrics["hit_at_10"] == pytest.approx(10 / 101, abs=0.03)


def test_popular_top_n_skips_seen_items():
    popular = pd.DataFrame({"item": [7, 3, 9, 1], "users": [40, 30, 20, 10]})
    top = als.popular_top_n(popular, seen=[3], n=2)
    assert top["item"].tolist() == [7, 9] and top["rank"].tolist() == [1, 2]
    assert top["score"].tolist() == [1.0, 0.5]


def test_sample_negatives_avoid_the_history():
    histories = [np.array([1, 2, 3]), np.array([4])]
    rows = als.sample_negatives(histories, np.arange(1, 200), count=100)
    assert rows.shape == (2, 100)
    assert not set(rows[0]) & {1, 2, 3} and 4 not in set(rows[1]) and len(set(rows[0])) == 100


def test_mean_prediction_of_several_models_is_their_mean_and_nan_for_unknown_ids(spark):
    rng = np.random.default_rng(3)
    rows = [(u, i, float(rng.integers(1, 6)), datetime(2020, 1, 1)) for u in range(30) for i in range(12)
            if rng.random() < 0.6]
    df = spark.createDataFrame(rows, "user int, item int, rating double, time timestamp")
    train, test = als.hash_split(df, COLS)
    models = [als.fit(train, als.AlsParams(rank=3, max_iter=5, reg_param=0.1, seed=s), COLS) for s in (1, 2)]
    keys = ["user", "item"]
    a, b = (m.transform(test).toPandas().set_index(keys).sort_index() for m in models)
    unknown = spark.createDataFrame([(999, 1, 3.0, datetime(2020, 1, 1))], df.schema)
    mean = als.mean_prediction(models, test.unionByName(unknown), COLS).set_index(keys).sort_index()
    assert mean.loc[(999, 1), "prediction"] != mean.loc[(999, 1), "prediction"]  # NaN: an unknown user
    expected = (a["prediction"] + b["prediction"]) / 2
    assert mean.loc[a.index, "prediction"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-6)
    assert als.rmse(models[0], test, COLS) == pytest.approx(
        math.sqrt(((a["prediction"] - a["rating"]) ** 2).mean()), rel=1e-6)
