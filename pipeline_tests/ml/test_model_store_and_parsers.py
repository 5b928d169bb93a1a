"""Model versions and their comparison; the Kafka record parsers of the two interaction streams."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from pipeline.ml.model_store import ModelStore, compare, new_version
from pipeline.ml.mooc import parse_enrolment
from pipeline.ml.movielens import parse_rating


def _save(store: ModelStore, version: str, ndcg: float) -> dict:
    return store.save_card(version, {"rank": 8}, {"ndcg_at_10": ndcg}, {"ndcg_at_10": 0.1}, "ndcg_at_10", True, {})


def test_a_card_records_the_version_it_replaces_and_compare_judges_it(lake):
    store = ModelStore(lake, "m")
    first = _save(store, "v1", 0.40)
    assert first["replaces"] is None and compare(first).passed
    store.promote("v1")
    better, worse = _save(store, "v2", 0.41), _save(store, "v3", 0.35)
    assert better["replaces"] == {"version": "v1", "value": 0.40}
    assert compare(better).passed
    assert not compare(worse).passed and "WORSE" in compare(worse).text
    assert compare(_save(store, "v4", 0.399), tolerance=0.002).passed  # within tolerance
    assert store.versions() == ["v1", "v2", "v3", "v4"] and store.latest() == "v4" and store.serving() == "v1"


def test_lower_is_better_metrics_compare_the_other_way(lake):
    store = ModelStore(lake, "rmse_model")
    store.save_card("v1", {}, {"rmse": 0.90}, {"rmse": 1.0}, "rmse", False, {})
    store.promote("v1")
    assert compare(store.save_card("v2", {}, {"rmse": 0.89}, {"rmse": 1.0}, "rmse", False, {})).passed
    assert not compare(store.save_card("v3", {}, {"rmse": 0.95}, {"rmse": 1.0}, "rmse", False, {})).passed


def test_a_version_without_a_card_does_not_exist(lake):
    store = ModelStore(lake, "m")
    lake.write_file(b"partial", "models", "m", "v9", "als", "part-0")
    assert store.versions() == [] and store.latest() is None


def test_versions_sort_by_time():
    early = new_version(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc))
    assert early == "v20260102T030405006Z" < new_version()


@pytest.mark.parametrize(("value", "reason"), [
    (b"{oops", "invalid_json"),
    (b"[1]", "not_an_object"),
    (b'{"userId": 1, "movieId": 2, "timestamp": 3}', "missing_field"),
    (b'{"userId": "1", "movieId": 2, "rating": 4.0, "timestamp": 3}', "wrong_type"),
    (b'{"userId": 1.5, "movieId": 2, "rating": 4.0, "timestamp": 3}', "wrong_type"),
    (b'{"userId": true, "movieId": 2, "rating": 4.0, "timestamp": 3}', "wrong_type"),
    (b'{"userId": 1, "movieId": 2, "rating": 0.2, "timestamp": 3}', "invalid_value"),
    (None, "empty_message"),
    (b"", "empty_message"),
])
def test_bad_rating_messages_get_a_reason(value, reason):
    record, got, _ = parse_rating(None, value, 0)
    assert record is None and got == reason


def test_a_good_rating_message_parses():
    value = json.dumps({"userId": 7, "movieId": 50, "rating": 4, "timestamp": 1_700_000_000}).encode()
    assert parse_rating(b"7", value, 0) == ({"userId": 7, "movieId": 50, "rating": 4.0,
                                             "timestamp": 1_700_000_000}, None, "")


@pytest.mark.parametrize(("key", "value", "reason"), [
    (None, b"C_1", "missing_field"), (b"U_1", b"", "missing_field"), (b"\xff", b"C_1", "invalid_utf8"),
    (b"student", b"C_1", "invalid_value"), (b"U_1", b"C_x", "invalid_value"),
])
def test_bad_enrolment_messages_get_a_reason(key, value, reason):
    record, got, _ = parse_enrolment(key, value, 0)
    assert record is None and got == reason


def test_an_enrolment_takes_its_time_from_kafka():
    record, reason, _ = parse_enrolment(b"U_15773538", b"C_584313", 1_600_000_000_000)
    assert reason is None
    assert record == {"user_id": "U_15773538", "course_id": "C_584313",
                      "enroll_time": datetime(2020, 9, 13, 12, 26, 40, tzinfo=timezone.utc)}
