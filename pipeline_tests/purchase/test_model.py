"""Evaluation by hand, the user split, model bytes, scoring, the Kafka record parser, the whole chain on
generated orders (generator -> Spark features -> XGBoost) beating the up_order_rate baseline, and the parameter
search (its winner, retrained with plain xgboost and scored by counting pairs, at least as good as the seed's
parameters; its walk past a range edge)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipeline.ml.purchase import tuning
from pipeline.ml.purchase.features import FEATURES, LABEL, candidates
from pipeline.ml.purchase.generator import OrdersSize, generate_orders
from pipeline.ml.purchase.model import (
    REJECT_REASONS,
    SEED_PARAMS,
    ParsedRecord,
    Rejected,
    evaluate,
    load_model,
    parse_feature_record,
    save_model,
    score,
    split_by_user,
    train_xgboost,
)

ORDERS_SCHEMA = ("order_id INT, user_id INT, eval_set STRING, order_number INT, order_dow INT, "
                 "order_hour_of_day INT, days_since_prior_order DOUBLE")
LINES_SCHEMA = "order_id INT, product_id INT, add_to_cart_order INT, reordered INT"


# --- evaluate ----------------------------------------------------------------------------------------------

def test_evaluate_by_hand():
    labels = [1, 1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.6, 0.1]
    metrics = evaluate(np.array(labels), np.array(scores))
    # AUC over the 9 (positive, negative) pairs: 0.9 and 0.8 beat all three negatives; 0.6 loses to 0.7,
    # ties 0.6 (half) and beats 0.1: (3 + 3 + 1.5) / 9.
    assert metrics.auc == pytest.approx(7.5 / 9, abs=1e-12)
    expected_loss = -(math.log(0.9) + math.log(0.8) + math.log(0.3) + math.log(0.6) + math.log(0.4)
                      + math.log(0.9)) / 6
    assert metrics.log_loss == pytest.approx(expected_loss, abs=1e-12)
    # Thresholds 0.9, 0.8, 0.7, 0.6, 0.1 predict 1, 2, 3, 5, 6 positives with 1, 2, 2, 3, 3 right:
    # F1 = 2TP / (predicted + 3) = 2/4, 4/5, 4/6, 6/8, 6/9: best 0.8 at 0.8.
    assert (metrics.f1, metrics.threshold) == (pytest.approx(0.8), 0.8)
    assert (metrics.rows, metrics.positives) == (6, 3)


def test_evaluate_edge_cases():
    ties = evaluate([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    assert ties.auc == 0.5 and ties.f1 == pytest.approx(2 * 2 / (4 + 2))
    assert evaluate([1, 0], [0.0, 1.0]).auc == 0.0
    one_class = evaluate([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(one_class.auc) and one_class.f1 == 0.0 and math.isnan(one_class.threshold)
    assert math.isfinite(evaluate([1, 0], [0.0, 1.0]).log_loss)  # clipped, not infinite
    with pytest.raises(ValueError):
        evaluate([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        evaluate([0, 1], [0.1])


# --- split ---------------------------------------------------------------------------------------------------

def test_split_by_user_keeps_users_whole_and_ignores_row_order():
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame({"user_id": rng.integers(1, 501, 5_000), "x": np.arange(5_000)})
    train, valid = split_by_user(pdf, validation_share=0.2, seed=1)
    assert not set(train["user_id"]) & set(valid["user_id"])
    assert len(train) + len(valid) == len(pdf)
    assert valid["user_id"].nunique() == round(0.2 * pdf["user_id"].nunique())
    _, shuffled_valid = split_by_user(pdf.sample(frac=1, random_state=3), validation_share=0.2, seed=1)
    assert set(shuffled_valid["user_id"]) == set(valid["user_id"])


# --- parser --------------------------------------------------------------------------------------------------

VALUES = [str(v) for v in range(1, 19)]


def record(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_parse_a_good_record_with_either_key():
    schema_key = parse_feature_record(record(user_id="7", product_id="42", features=",".join(VALUES)))
    assert schema_key == ParsedRecord(7, 42, tuple(float(v) for v in range(1, 19)))
    producer_key = parse_feature_record(record(user_id=7, product_id=42, feature=" , ".join(["0.5"] * 18)))
    assert producer_key == ParsedRecord(7, 42, (0.5,) * 18)


def test_a_blank_feature_is_missing_not_an_error():
    parsed = parse_feature_record(record(user_id="1", product_id="2", features=",".join(["1"] * 4 + [""] + ["1"] * 13)))
    assert isinstance(parsed, ParsedRecord) and math.isnan(parsed.features[4])


@pytest.mark.parametrize("value, reason", [
    (b"not json", "not_json"),
    (b"\xff\xfe{", "not_json"),
    (None, "not_json"),
    (b"[1, 2]", "not_object"),
    (record(product_id="2", features=",".join(VALUES)), "missing_user_id"),
    (record(user_id="abc", product_id="2", features=",".join(VALUES)), "bad_user_id"),
    (record(user_id=True, product_id="2", features=",".join(VALUES)), "bad_user_id"),
    (record(user_id="1", product_id=None, features=",".join(VALUES)), "missing_product_id"),
    (record(user_id="1", product_id="2.5", features=",".join(VALUES)), "bad_product_id"),
    (record(user_id="1", product_id="2"), "missing_features"),
    (record(user_id="1", product_id="2", features=[1.0] * 18), "features_not_text"),
    (record(user_id="1", product_id="2", features=",".join(VALUES[:17])), "wrong_feature_count"),
    (record(user_id="1", product_id="2", features=""), "wrong_feature_count"),
    (record(user_id="1", product_id="2", features=",".join(VALUES[:17] + ["x"])), "non_numeric_feature"),
    (record(user_id="1", product_id="2", features=",".join(VALUES[:17] + ["inf"])), "non_numeric_feature"),
    (b"[" * 100_000, "not_json"),
])
def test_malformed_records_are_rejected_with_a_reason(value, reason):
    parsed = parse_feature_record(value)
    assert isinstance(parsed, Rejected) and parsed.reason == reason and reason in REJECT_REASONS


# --- on generated orders -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The generated files' folder and the candidate rows Spark builds from them."""
    folder = tmp_path_factory.mktemp("purchase_orders")
    generate_orders(folder, OrdersSize(users=800, products=1_500), seed=11)

    def read(name: str, schema: str):
        return spark.read.csv(str(folder / name), header=True, schema=schema)

    frame = candidates(read("orders.csv", ORDERS_SCHEMA), read("order_products__prior.csv", LINES_SCHEMA),
                       read("order_products__train.csv", LINES_SCHEMA))
    return folder, frame.toPandas()


@pytest.fixture(scope="module")
def candidate_rows(generated) -> pd.DataFrame:
    return generated[1]


def test_labels_agree_with_the_generated_train_orders(generated):
    folder, candidate_rows = generated
    orders = pd.read_csv(folder / "orders.csv")
    train_lines = pd.read_csv(folder / "order_products__train.csv").merge(orders, on="order_id")
    train = candidate_rows[candidate_rows["eval_set"] == "train"]
    # A train line is a positive candidate iff the user bought the product before, i.e. reordered = 1.
    assert train[LABEL].sum() == train_lines["reordered"].sum()
    assert candidate_rows.loc[candidate_rows["eval_set"] == "test", LABEL].isna().all()
    assert set(candidate_rows["eval_set"]) == {"train", "test"}


@pytest.fixture(scope="module")
def trained(candidate_rows):
    train, valid = split_by_user(candidate_rows[candidate_rows["eval_set"] == "train"])
    return train_xgboost(train, valid), valid


def test_model_beats_the_up_order_rate_baseline(trained):
    result, valid = trained
    print(f"\nAUC {result.metrics.auc:.4f} vs baseline {result.baseline.auc:.4f}; rounds {result.rounds}")
    assert result.metrics.auc > result.baseline.auc + 0.01
    assert result.metrics.log_loss < result.baseline.log_loss
    assert result.metrics.rows == len(valid) == result.valid_rows
    assert 1 <= result.rounds <= result.trained_rounds <= 500
    assert result.booster.num_boosted_rounds() == result.rounds
    assert set(result.importance) == set(FEATURES) and max(result.importance.values()) > 0


def test_scores_from_frame_matrix_and_saved_bytes_agree(trained, tmp_path):
    result, valid = trained
    from_frame = score(result.booster, valid)
    matrix = valid[list(FEATURES)].to_numpy(np.float32)
    np.testing.assert_array_equal(from_frame, score(result.booster, matrix))
    assert ((from_frame > 0) & (from_frame < 1)).all()
    raw = save_model(result.booster, tmp_path / "model.json")
    assert json.loads(raw)["learner"]["feature_names"] == list(FEATURES)
    np.testing.assert_array_equal(from_frame, score(load_model(raw), valid))
    np.testing.assert_array_equal(from_frame, score(load_model(tmp_path / "model.json"), valid))
    with pytest.raises(ValueError):
        score(result.booster, matrix[:, :17])


def test_training_on_unlabelled_test_rows_is_refused(candidate_rows):
    test_rows = candidate_rows[candidate_rows["eval_set"] == "test"]
    with pytest.raises(ValueError, match="no label"):
        train_xgboost(test_rows, test_rows, num_round=1)


def test_seed_parameters():
    assert {k: SEED_PARAMS[k] for k in ("max_depth", "eta", "gamma", "min_child_weight", "subsample", "objective")} \
        == {"max_depth": 5, "eta": 0.1, "gamma": 4, "min_child_weight": 6, "subsample": 0.8,
            "objective": "binary:logistic"}


# --- tuning --------------------------------------------------------------------------------------------------

def _auc_by_pairs(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + half the ties, counting every pair."""
    pos, neg = scores[labels == 1], np.sort(scores[labels == 0])
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


def _plain_xgboost_auc(params: dict, train: pd.DataFrame, valid: pd.DataFrame) -> float:
    """The seed's recipe with plain xgboost: up to 500 rounds, early stopping 10 on validation log loss."""
    config = {"objective": "binary:logistic", "eval_metric": ["auc", "logloss"], "tree_method": "hist",
              "nthread": 2, "seed": 42, **params}
    dtrain = xgb.DMatrix(train[list(FEATURES)].astype("float32"), label=train[LABEL])
    dvalid = xgb.DMatrix(valid[list(FEATURES)].astype("float32"), label=valid[LABEL])
    booster = xgb.train(config, dtrain, 500, evals=[(dvalid, "v")], early_stopping_rounds=10, verbose_eval=False)
    return _auc_by_pairs(valid[LABEL].to_numpy(), booster[: booster.best_iteration + 1].predict(dvalid))


def test_the_search_picks_parameters_at_least_as_good_as_the_seeds_on_validation(candidate_rows):
    train, valid = split_by_user(candidate_rows[candidate_rows["eval_set"] == "train"], seed=5)
    found = tuning.search(train, valid, trials=6, seed=3, progress=lambda _: None)
    seed_params = {"max_depth": 5, "eta": 0.1, "gamma": 4, "min_child_weight": 6, "subsample": 0.8}
    assert found.trials[0].params == seed_params and found.trials[0].stage == "seed"
    assert [t.stage for t in found.trials[1:7]] == ["random"] * 6
    ranges = {"max_depth": (3, 12), "eta": (0.05, 0.5), "min_child_weight": (2, 8), "subsample": (0.5, 0.9),
              "gamma": (0, 10)}  # seed-facts §5
    for trial in found.trials[1:7]:
        assert all(low <= trial.params[name] <= high for name, (low, high) in ranges.items()), trial.params
        assert isinstance(trial.params["max_depth"], int)
    assert len({tuple(t.params.values()) for t in found.trials}) == len(found.trials)

    seed_auc, best_auc = (_plain_xgboost_auc(p, train, valid) for p in (seed_params, found.best.params))
    print(f"\nvalidation AUC: seed parameters {seed_auc:.5f}, winner {best_auc:.5f} ({found.best.params})")
    assert best_auc >= seed_auc
    # What the search reports is what plain xgboost measures, and its winner is the best trial.
    assert found.trials[0].auc == pytest.approx(seed_auc, abs=1e-9)
    assert found.best.auc == pytest.approx(best_auc, abs=1e-9)
    assert found.best.auc == max(t.auc for t in found.trials)


def test_range_edges_and_steps_past_them():
    depth, eta, gamma, subsample = (tuning.SEED_RANGES[n] for n in ("max_depth", "eta", "gamma", "subsample"))
    assert (depth.edge(3), depth.edge(7), depth.edge(12)) == ("low", None, "high")
    assert (depth.beyond(12, "high"), depth.beyond(11, "high"), depth.beyond(16, "high")) == (13, 13, None)
    assert eta.edge(0.06) == "low" and eta.edge(0.3) is None  # log scale: 0.06 is 8% of the way from 0.05 to 0.5
    assert eta.beyond(0.05, "low") == pytest.approx(0.05 / 1.5, abs=1e-4)
    assert gamma.beyond(0.4, "low") == 0 and gamma.beyond(0, "low") is None  # gamma cannot go below 0
    assert subsample.beyond(0.88, "high") == pytest.approx(0.95) and subsample.beyond(1.0, "high") is None


def test_a_winner_at_an_edge_is_walked_past_it(monkeypatch):
    """A fake training whose validation AUC grows with max_depth up to 14: the search goes past 12 to 14, and
    stops there because 15 is not better."""
    def fake_training(train_pdf, valid_pdf, params, num_round, early_stopping_rounds):
        auc = 0.8 + 0.01 * min(params["max_depth"], 14) - 0.001 * abs(params["eta"] - 0.1)
        metrics = type("M", (), {"auc": auc, "log_loss": 1 - auc})
        return type("R", (), {"metrics": metrics, "rounds": 10, "seconds": 0.0, "curve": (0.5,)})

    monkeypatch.setattr(tuning, "train_xgboost", fake_training)
    found = tuning.search(pd.DataFrame(), pd.DataFrame(), trials=30, seed=1, progress=lambda _: None)
    assert found.best.params["max_depth"] == 14 and found.best.stage == "past max_depth edge"
    walked = [t.params["max_depth"] for t in found.trials if t.stage == "past max_depth edge"]
    assert walked == [13, 14, 15]
    assert any("max_depth 14 near the high edge; 15 past it was not better" in note for note in found.edges)
