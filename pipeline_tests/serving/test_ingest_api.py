"""`POST /events` against the real Kafka: each event's verdict by the landing's rules, exactly the accepted events
in their topics (keyed by user), a batch sent twice counted once by the cleaning, 503 with nothing published when
Kafka does not confirm, and the request limits. Expected verdicts are written out by hand."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import dagster as dg
import pyarrow.dataset as ds
from fastapi.testclient import TestClient

from assets.keys import cleaned_key
from pipeline.definitions import build_definitions
from pipeline.events.catalogue import CATEGORIES
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.ml.mooc import ENROLMENT_TOPIC
from pipeline.ml.movielens import RATING_TOPIC
from pipeline.serving.api import create_app
from pipeline.serving.ingest import MAX_EVENTS_PER_REQUEST
from pipeline_tests.api_keys import new_key
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.serving.event_batch import BATCH, EXPECTED, LOGIN, NOW, VIDEO_WITHOUT_ID
from pipeline_tests.topics import delete_topics, records_of
from sensors.tick import run_sensor_tick

def published(settings) -> list[tuple[str, bytes, dict]]:
    """Every record of the six learning-event topics, its value parsed."""
    records = records_of(settings, [c.topic for c in CATEGORIES])
    return [(topic, key, json.loads(value)) for topic, key, value in records]


def test_each_event_gets_its_verdict_and_only_the_accepted_ones_are_published(fresh_topics, lake_env):
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), TestClient(create_app(lake_env)) as api:
        answer = api.post("/events", headers=new_key(lake_env), json={"events": BATCH})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["status"], r["reason"]) for r in body["results"]] == EXPECTED
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert "GAME" in body["results"][1]["detail"] and body["results"][2]["detail"] == "user_id"
    derived = body["results"][3]["event_id"]
    assert body["results"][0]["event_id"] == LOGIN["event_id"] and uuid.UUID(derived)
    assert sorted(published(lake_env), key=lambda r: r[0]) == [
        ("auth_topic", b"S1", LOGIN), ("video_topic", b"S2", {**VIDEO_WITHOUT_ID, "event_id": derived})]


def test_a_batch_sent_twice_is_cleaned_once(fresh_topics, lake_env):
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), TestClient(create_app(lake_env)) as api:
        key = new_key(lake_env)
        first = api.post("/events", headers=key, json={"events": BATCH}).json()
        again = api.post("/events", headers=key, json={"events": BATCH}).json()  # the first answer was lost
    assert [r["event_id"] for r in again["results"]] == [r["event_id"] for r in first["results"]]
    assert len(published(lake_env)) == 4  # both sends are in Kafka ...
    defs = build_definitions(lake_env)
    with dg.instance_for_test() as instance:
        assert run_sensor_tick(defs, instance, None, "learning_events_sensor", log_level="WARNING").success
        cleaned = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=[cleaned_key(c) for c in CATEGORIES if c.upper in ("AUTH", "VIDEO")],
            partition_key=NOW.strftime("%Y-%m-%d"), instance=instance)
        assert cleaned.success
    lake = Lake.from_settings(lake_env)
    ids = Counter()
    for category in ("auth", "video"):
        ids.update(ds.dataset(lake.path("cleaned", category), filesystem=lake.filesystem).to_table(
            columns=["event_id"])["event_id"].to_pylist())
    assert ids == Counter({LOGIN["event_id"]: 1, first["results"][3]["event_id"]: 1})  # ... and counted once


def test_kafka_unreachable_gives_503_and_publishes_nothing(fresh_topics, lake_env):
    unreachable = lake_env.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), \
            TestClient(create_app(unreachable)) as api:
        answer = api.post("/events", headers=new_key(lake_env), json={"events": [LOGIN]})
    assert answer.status_code == 503
    assert "Kafka did not confirm" in answer.json()["detail"] and "same submission_id or event_id" in \
        answer.json()["detail"]
    assert published(lake_env) == []


def test_a_batch_must_hold_one_to_a_thousand_events_within_the_body_limit(services, lake_env):
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), TestClient(create_app(lake_env)) as api:
        key = new_key(lake_env)
        assert api.post("/events", headers=key, json={"events": []}).status_code == 422
        assert api.post("/events", headers=key, json={"events": [{}] * (MAX_EVENTS_PER_REQUEST + 1)}).status_code == 422
        assert api.post("/events", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                        headers={**key, "Content-Type": "application/json"}).status_code == 413


def test_interactions_and_ratings_are_published_in_their_streams_format(services, lake_env):
    config = client_config(services)
    delete_topics(config, [ENROLMENT_TOPIC, RATING_TOPIC])
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), TestClient(create_app(lake_env)) as api:
        key = new_key(lake_env)
        enrolled = api.post("/interactions", headers=key, json={"user_id": "U_1001", "course_id": "C_42"})
        rated = api.post("/ratings", headers=key, json={"user_id": 7, "movie_id": 50, "rating": 4.5,
                                                        "timestamp": 1_764_000_000})
        assert (enrolled.status_code, rated.status_code) == (201, 201), (enrolled.text, rated.text)
        assert enrolled.json()["topic"] == ENROLMENT_TOPIC and rated.json()["offset"] == 0
        for path, body, field in (("/interactions", {"user_id": "1001", "course_id": "C_42"}, "user_id"),
                                  ("/interactions", {"user_id": "U_1001", "course_id": "course 42"}, "course_id"),
                                  ("/ratings", {"user_id": 7, "movie_id": 50, "rating": 7}, "rating")):
            refused = api.post(path, headers=key, json=body)
            assert refused.status_code == 422, refused.text
            assert [problem["loc"] for problem in refused.json()["detail"]] == [["body", field]]
        assert api.post("/ratings", json={"user_id": 7, "movie_id": 50, "rating": 4.5}).status_code == 401
    assert records_of(lake_env, [ENROLMENT_TOPIC]) == [(ENROLMENT_TOPIC, b"U_1001", b"C_42")]
    [(_, rating_key, rating_value)] = records_of(lake_env, [RATING_TOPIC])
    assert rating_key == b"7" and json.loads(rating_value) == {"userId": 7, "movieId": 50, "rating": 4.5,
                                                                "timestamp": 1_764_000_000}
