"""Purchase prediction end to end on generated orders and real services: the `train_purchase_model` job (Spark,
parameter search, XGBoost, Cassandra), then feature records through Kafka and the `purchase_features_sensor`, then
`pipeline predict`, then `/predictions/purchase` scoring pairs on request.

Expected values come from the raw CSV files read with pandas, a booster loaded straight from the lake with
xgboost, and an AUC computed here by counting pairs, never from the pipeline's own outputs.
"""

from __future__ import annotations

import base64
import json
import time
import xml.etree.ElementTree as ET

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from fastapi.testclient import TestClient

from pipeline import cli
from pipeline.kafka import client_config
from pipeline.ml.purchase import orders, reorder_model
from pipeline.ml.purchase.features import FEATURES
from pipeline.ml.stream_producer import send
from pipeline.serving.api import create_app
from pipeline.serving.predictions import ledger_of, read_predictions, write_predictions
from pipeline.settings import get_settings
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.training import QUIET, Trained, trained_job
from sensors.tick import run_sensor_tick

pytestmark = [pytest.mark.services, pytest.mark.slow]

KEYSPACE, API_KEYSPACE = "purchase_test", "purchase_test_api"
USERS = 1500


def predictions(trained: Trained) -> pd.DataFrame:
    """The purchase predictions table in Cassandra."""
    with trained.defs.resources["cassandra"].session() as session:
        return read_predictions(session, KEYSPACE)


def booster(trained: Trained, version: str) -> xgb.Booster:
    """A model version loaded straight from the lake with xgboost."""
    model = xgb.Booster()
    model.load_model(trained.lake.path("models", reorder_model.MODEL, version, "model.json"))
    return model


@pytest.fixture(scope="module")
def trained(services, spark, tmp_path_factory):
    with trained_job(tmp_path_factory.mktemp("purchase"), "train_purchase_model", KEYSPACE, [orders.FEATURE_TOPIC],
                     ORDERS_USERS=str(USERS)) as run:
        yield run


@pytest.fixture(scope="module")
def api(trained):
    """The serving API on the trained lake and keyspace, kept across tests (it must follow a new serving model)."""
    settings = get_settings().model_copy(update={"cassandra_analytics_keyspace": API_KEYSPACE})
    with scratch_keyspaces(settings, API_KEYSPACE), TestClient(create_app(settings)) as client:
        yield client


def candidate_features(trained: Trained) -> pd.DataFrame:
    """The candidate table as Spark wrote it, read with pyarrow."""
    return pq.read_table(trained.lake.path("features", "purchase", "candidates")).to_pandas()


def svg_of(markdown: str) -> ET.Element:
    """The SVG inlined in a markdown image (`![caption](data:image/svg+xml;base64,...)`), parsed."""
    prefix = "data:image/svg+xml;base64,"
    assert markdown.startswith("![") and prefix in markdown and markdown.endswith(")")
    return ET.fromstring(base64.b64decode(markdown.split(prefix, 1)[1][:-1]))


@pytest.fixture(scope="module")
def raw(trained) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(trained.lake.path("raw", "orders", name), dtype=str, keep_default_na=False)
            for name in ("orders.csv", "order_products__prior.csv", "order_products__train.csv")}


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + half the ties, by counting every pair."""
    pos, neg = scores[labels == 1], np.sort(scores[labels == 0])
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


def test_the_training_job_succeeds_with_every_check_passing(trained):
    assert trained.result.success
    checks = trained.result.get_asset_check_evaluations()
    assert len(checks) == 12 and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]


def test_malformed_orders_are_quarantined_with_their_reason(trained, raw):
    table = raw["orders.csv"]
    missing_id = int(((table["order_id"] == "") | (table["user_id"] == "")).sum())
    not_numeric = int((~table["order_number"].str.fullmatch(r"\d+") & (table["order_id"] != "")
                       & (table["user_id"] != "")).sum())
    assert missing_id > 0 and not_numeric > 0
    quarantined = pq.read_table(trained.lake.path("quarantine", "orders", "orders")).to_pandas()
    assert quarantined["reason"].value_counts().to_dict() == {"missing_value": missing_id, "bad_type": not_numeric}
    cleaned = pq.read_table(trained.lake.path("cleaned", "orders", "orders")).num_rows
    assert cleaned == len(table) - missing_id - not_numeric


def test_the_model_beats_the_baseline_on_held_out_users(trained):
    version = reorder_model.store(trained.lake).serving()
    card = reorder_model.store(trained.lake).card(version)
    labelled = reorder_model.read_candidates(trained.lake, "train")
    users = np.unique(labelled["user_id"].to_numpy())
    held_out = np.random.default_rng(42).choice(users, size=round(len(users) * 0.2), replace=False)
    valid = labelled[labelled["user_id"].isin(held_out)]
    assert card["data"]["valid_rows"] == len(valid) and card["data"]["train_rows"] == len(labelled) - len(valid)

    scores = booster(trained, version).predict(xgb.DMatrix(valid[list(FEATURES)].astype("float32")))
    labels = valid["reordered"].to_numpy()
    model_auc = _auc(labels, scores)
    baseline_auc = _auc(labels, valid["up_order_rate"].to_numpy())
    assert model_auc == pytest.approx(card["metrics"]["auc"], abs=1e-6)
    assert baseline_auc == pytest.approx(card["baseline"]["auc"], abs=1e-9)
    assert model_auc > baseline_auc + 0.01


def test_the_model_trains_with_the_search_winner_and_both_are_shown_as_images(trained):
    search = json.loads(open(trained.lake.path("models", reorder_model.MODEL, "tuning.json")).read())
    trials = search["trials"]
    assert trials[0]["stage"] == "seed" and {k: trials[0][k] for k in search["best"]} == {
        "max_depth": 5, "eta": 0.1, "gamma": 4, "min_child_weight": 6, "subsample": 0.8}
    best = trials[search["best_trial"]]
    assert best["auc"] == max(t["auc"] for t in trials) >= trials[0]["auc"]
    assert {k: best[k] for k in search["best"]} == search["best"]

    # The winner is adopted, whatever its gain on the held-out users (reported beside it).
    held_out = search["held_out"]
    assert search["adopted"]["params"] == search["best"]
    assert search["gain"]["held_out_auc"] == pytest.approx(held_out["best"]["auc"] - held_out["seed"]["auc"])
    version = reorder_model.store(trained.lake).serving()
    card = reorder_model.store(trained.lake).card(version)
    assert {k: card["params"][k] for k in search["best"]} == search["adopted"]["params"]
    # The search's confirmation fit of the adopted parameters is the model: same users, parameters and seed.
    assert held_out["best"]["auc"] == pytest.approx(card["metrics"]["auc"], abs=1e-12)

    tuning_run = trained.result.asset_materializations_for_node("models__purchase_xgboost_tuning")[0].metadata
    assert [r.data["trial"] for r in tuning_run["search"].value.records] == list(range(len(trials)))
    assert tuning_run["best_params"].value == search["best"]
    assert tuning_run["gain/held_out_auc"].value == pytest.approx(
        search["held_out"]["best"]["auc"] - search["held_out"]["seed"]["auc"])
    curves = {k for k in tuning_run if k.startswith("tuning_curve/")}
    assert curves == {f"tuning_curve/{n}" for n in ("search", "learning_curves", "max_depth", "eta",
                                                    "min_child_weight", "subsample", "gamma")}
    for key in curves:
        svg = svg_of(tuning_run[key].value)
        assert svg.get("width") and svg.get("height")  # an image needs its size in pixels
    model_run = trained.result.asset_materializations_for_node("models__purchase_xgboost")[0].metadata
    importance = svg_of(model_run["feature_importance_plot"].value)
    assert {t.text for t in importance.iter("{http://www.w3.org/2000/svg}text")} >= set(FEATURES)


def test_cassandra_holds_every_test_candidate_scored_by_the_model(trained, raw):
    # The pairs, from the raw files: what each test user bought in their prior orders.
    order_rows = raw["orders.csv"]
    order_rows = order_rows[order_rows["order_id"].str.fullmatch(r"\d+") & order_rows["user_id"].str.fullmatch(r"\d+")
                            & order_rows["order_number"].str.fullmatch(r"\d+")]
    test_users = set(order_rows.loc[order_rows["eval_set"] == "test", "user_id"].astype(int))
    prior = raw["order_products__prior.csv"].merge(order_rows[["order_id", "user_id"]], on="order_id")
    expected_pairs = {(int(u), int(p)) for u, p in zip(prior["user_id"], prior["product_id"], strict=True)
                      if int(u) in test_users}

    table = predictions(trained)
    version = reorder_model.store(trained.lake).serving()
    assert set(zip(table["user_id"], table["product_id"], strict=True)) == expected_pairs
    assert len(table) == len(expected_pairs) and set(table["model_version"]) == {version}

    candidates = reorder_model.read_candidates(trained.lake, "test").set_index(["user_id", "product_id"])
    joined = table.set_index(["user_id", "product_id"]).join(candidates[list(FEATURES)])
    direct = booster(trained, version).inplace_predict(joined[list(FEATURES)].to_numpy(dtype=np.float32))
    np.testing.assert_allclose(joined["probability"].to_numpy(), direct, rtol=1e-6)


def test_feature_records_from_kafka_are_scored_and_bad_ones_quarantined(trained):
    before = predictions(trained).set_index(["user_id", "product_id"])
    known = before.index[0]
    features_known = [0.5 * (i + 1) for i in range(len(FEATURES))]
    features_new = [1.0] * len(FEATURES)
    features_new[4] = float("nan")  # user_reorder_ratio missing: an empty field
    good = [
        {"user_id": str(known[0]), "product_id": str(known[1]), "features": orders.feature_text(features_known)},
        {"user_id": "990001", "product_id": "77", "feature": orders.feature_text(features_new)},  # the seed's key
    ]
    bad = [b'{"product_id": "7", "features": "1"}', b'{"user_id": "5", "product_id": "7", "features": "1,2"}',
           json.dumps({"user_id": "5", "product_id": "7", "features": ",".join(["x"] * len(FEATURES))}).encode()]
    messages = [(r["user_id"].encode(), json.dumps(r).encode()) for r in good] + [(None, b) for b in bad]
    send(client_config(get_settings()), orders.FEATURE_TOPIC, messages)

    outcome = run_sensor_tick(trained.defs, trained.instance, None, "purchase_features_sensor", log=print,
                              log_level="WARNING")
    assert outcome.success and len(outcome.results) == 1
    stream = outcome.results[0].asset_materializations_for_node(f"raw__streams__{orders.FEATURE_TOPIC}")[0]
    assert stream.metadata["records"].value == 5
    assert stream.metadata["quarantined_by_reason"].value == {
        "missing_user_id": 1, "wrong_feature_count": 1, "non_numeric_feature": 1}

    after = predictions(trained).set_index(["user_id", "product_id"])
    version = reorder_model.store(trained.lake).serving()
    direct = booster(trained, version).inplace_predict(np.array([features_known, features_new], dtype=np.float32))
    assert after.loc[known, "probability"] == pytest.approx(float(direct[0]), rel=1e-6)
    assert after.loc[(990001, 77), "probability"] == pytest.approx(float(direct[1]), rel=1e-6)
    unchanged = before.drop(index=[known])
    pd.testing.assert_frame_equal(after.drop(index=[known, (990001, 77)]).sort_index(), unchanged.sort_index())


def test_predict_prints_the_serving_models_probability(trained, capsys):
    version = reorder_model.store(trained.lake).serving()
    table = predictions(trained)
    row = table[table["user_id"] != 990001].iloc[-1]
    assert cli.main(["predict", "--user", str(row["user_id"]), "--product", str(row["product_id"])]) == 0
    printed = capsys.readouterr().out
    assert f"reorder probability {row['probability']:.6f}" in printed and version in printed
    assert cli.main(["predict", "--user", "990001", "--product", "12345"]) == 2


def test_a_pair_not_scored_in_advance_is_scored_on_request_as_the_batch_scores_it(trained, api):
    version = reorder_model.store(trained.lake).serving()
    table = predictions(trained).set_index(["user_id", "product_id"])
    streamed = set(zip(*(reorder_model.stream_records(trained.lake)[k] for k in ("user_id", "product_id"))))
    batch_pair = next(tuple(map(int, pair)) for pair in table.index if pair not in streamed)
    batch_probability = table.loc[batch_pair, "probability"]

    def ask(user: int, product: int):
        return api.get("/predictions/purchase", params={"user_id": user, "product_id": product})

    before = ask(*batch_pair).json()
    assert (before["probability"], before["scored"]) == (batch_probability, "in_advance")
    with trained.defs.resources["cassandra"].session() as session:
        session.execute(f"DELETE FROM {KEYSPACE}.purchase_predictions WHERE user_id = %s AND product_id = %s",
                        batch_pair)
        try:
            on_request = ask(*batch_pair).json()
        finally:  # the next test compares the table before and after a rewrite
            write_predictions(session, KEYSPACE, pd.DataFrame([{"user_id": batch_pair[0], "product_id": batch_pair[1],
                                                                 "probability": batch_probability}]), version)
    assert on_request["scored"] == "on_request" and on_request["model_version"] == version
    assert on_request["probability"] == pytest.approx(batch_probability, rel=1e-12)

    # A train user's pair: never in the table; expected from its candidate row and the booster, with xgboost.
    candidates = candidate_features(trained)
    row = candidates[candidates["eval_set"] == "train"].iloc[7]
    assert (int(row["user_id"]), int(row["product_id"])) not in table.index
    expected = booster(trained, version).predict(xgb.DMatrix(row[list(FEATURES)].to_frame().T.astype("float32")))
    answer = ask(int(row["user_id"]), int(row["product_id"])).json()
    assert answer["scored"] == "on_request" and answer["model_version"] == version
    assert answer["probability"] == pytest.approx(float(expected[0]), rel=1e-6)

    bought = set(candidates.loc[candidates["user_id"] == row["user_id"], "product_id"])
    never = next(p for p in range(1, 100_000) if p not in bought)
    no_pair = ask(int(row["user_id"]), never)
    assert no_pair.status_code == 404 and f"never bought product {never}" in no_pair.json()["detail"]
    no_user = ask(int(candidates["user_id"].max()) + 1, 1)
    assert no_user.status_code == 404 and "has no prior orders" in no_user.json()["detail"]


def test_a_new_model_rewrites_the_table_keeping_the_stream_records(trained):
    old = reorder_model.store(trained.lake).serving()
    with trained.defs.resources["cassandra"].session() as session:  # a pair of an older model, recorded as written
        write_predictions(session, KEYSPACE, pd.DataFrame({"user_id": [999999], "product_id": [1],
                                                           "probability": [0.5]}), "ancient",
                          ledger=ledger_of(trained.lake, KEYSPACE))
    before = predictions(trained)
    result = trained.defs.resolve_job_def("train_purchase_model").execute_in_process(
        instance=trained.instance, run_config=QUIET,
        asset_selection=[reorder_model_key(), dg.AssetKey(["cassandra", "reco", "purchase_predictions"])])
    assert result.success
    after = predictions(trained)
    new = reorder_model.store(trained.lake).serving()
    assert new != old and set(after["model_version"]) == {new}
    kept = set(zip(before["user_id"], before["product_id"], strict=True)) - {(999999, 1)}
    assert set(zip(after["user_id"], after["product_id"], strict=True)) == kept  # stream pair (990001, 77) too


def reorder_model_key() -> dg.AssetKey:
    return dg.AssetKey(["models", reorder_model.MODEL])


def test_on_request_scoring_follows_the_new_serving_model(trained, api):
    """The API above started before the new model of the previous test: it must now score with that one."""
    version = reorder_model.store(trained.lake).serving()
    candidates = candidate_features(trained)
    row = candidates[candidates["eval_set"] == "train"].iloc[7]
    deadline = time.monotonic() + 30
    while (answer := api.get("/predictions/purchase", params={"user_id": int(row["user_id"]),
                                                               "product_id": int(row["product_id"])}).json()
           )["model_version"] != version and time.monotonic() < deadline:
        time.sleep(0.5)
    expected = booster(trained, version).predict(xgb.DMatrix(row[list(FEATURES)].to_frame().T.astype("float32")))
    assert answer["model_version"] == version
    assert answer["probability"] == pytest.approx(float(expected[0]), rel=1e-6)
