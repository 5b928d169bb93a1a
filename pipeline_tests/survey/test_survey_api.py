"""`POST /api/survey` against the real Kafka: a valid submission is in the topic when the answer comes, exactly as
the form gave it minus the consent; invalid ones get 422 naming the field and the rule; an unreachable Kafka
gives 503; an oversized body 413."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, TopicPartition
from fastapi.testclient import TestClient

from pipeline.kafka import client_config
from pipeline.serving.api import create_app
from pipeline.survey.stream import SURVEY_TOPIC
from pipeline_tests.api_keys import new_key
from pipeline_tests.keyspaces import scratch_keyspaces

RECO = "reco_survey_test"
FORM = {"country": "C", "campus": "C_A", "mobility": "public transport", "contracts": 3,
        "alternative_choice": "alternative C", "distance": 42.5, "pro_contract": False, "advertisement": "websites",
        "consent": True}


@pytest.fixture
def settings(services, lake_env):
    settings = lake_env.model_copy(update={"cassandra_reco_keyspace": RECO})
    with scratch_keyspaces(settings, settings.cassandra_analytics_keyspace, RECO):
        yield settings


@pytest.fixture
def key(settings) -> dict[str, str]:
    return new_key(settings)


def record_at(settings, partition: int, offset: int) -> tuple[bytes, dict]:
    consumer = Consumer({**client_config(settings), "group.id": "survey-api-test", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(SURVEY_TOPIC, partition, offset)])
        message = consumer.poll(15)
        assert message is not None and message.error() is None
        return message.key(), json.loads(message.value())
    finally:
        consumer.close()


def test_a_valid_submission_is_in_kafka_when_the_answer_comes(settings, key):
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/survey", headers=key, json={**FORM, "submission_id": "retry-me-0001"})
        assert answer.status_code == 201, answer.text
        accepted = answer.json()
        kafka_key, record = record_at(settings, accepted["partition"], accepted["offset"])
        assert kafka_key == b"retry-me-0001" and accepted["submission_id"] == "retry-me-0001"
        assert record == {"submission_id": "retry-me-0001", **{k: v for k, v in FORM.items() if k != "consent"}}
        fresh = client.post("/api/survey", headers=key, json=FORM).json()  # no id given: a new one
        assert fresh["submission_id"] != "retry-me-0001" and fresh["offset"] > accepted["offset"]


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("campus", "<script>alert(1)</script>", "String should match pattern"),
    ("campus", "A_B", "is not a campus of country C"),
    ("distance", -3, "greater than or equal to 0"),
    ("consent", False, "consent is required"),
])
def test_an_invalid_submission_gets_422_naming_the_field_and_the_rule(settings, key, field, value, rule):
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/survey", headers=key, json={**FORM, field: value})
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", field] and rule in problem["msg"]


def test_kafka_unreachable_gives_503_and_a_retryable_message(settings, key):
    unreachable = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(unreachable)) as client:
        answer = client.post("/api/survey", headers=key, json=FORM)
    assert answer.status_code == 503
    assert "Kafka did not confirm" in answer.json()["detail"] and "same submission_id" in answer.json()["detail"]


def test_an_oversized_body_gets_413(settings, key):
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/survey", content=b"{" + b" " * 20_000 + b"}",
                             headers={**key, "Content-Type": "application/json"})
    assert answer.status_code == 413


# The form page (`/survey`), posted as a browser posts it (form-encoded); the browser test drives it in Chromium.
PAGE_FORM = {"country": "C", "campus": "C_A", "mobility": "bike", "contracts": "1", "alternative_choice":
             "alternative A", "distance": "7.5", "advertisement": "fair", "consent": "yes",
             "submission_id": "page-retry-0001"}


def test_the_form_page_shows_each_error_beside_its_field_escapes_what_was_typed_and_publishes_nothing(settings):
    typed = '"><script>alert(1)</script>'
    before = end_offset(settings)
    with TestClient(create_app(settings)) as client:
        page = client.post("/survey", data={**PAGE_FORM, "campus": "B_A", "distance": typed, "consent": ""})
    assert page.status_code == 422
    html = page.text
    assert "<script>alert(1)</script>" not in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html  # kept as typed, as text
    for field, rule in (("campus", "is not a campus of country C"), ("distance", "valid number"),
                        ("consent", "consent is required")):
        assert f'id="{field}-error">' in html and rule in html.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert 'name="submission_id" value="page-retry-0001"' in html  # the same id for the corrected submission
    assert end_offset(settings) == before


def test_the_form_page_publishes_and_redirects_to_the_confirmation(settings):
    with TestClient(create_app(settings)) as client:
        answer = client.post("/survey", data=PAGE_FORM, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/survey/thanks?submission_id=page-retry-0001"
        assert "page-retry-0001" in client.get(answer.headers["location"]).text
    key, record = record_at(settings, 0, end_offset(settings) - 1)
    assert key == b"page-retry-0001"
    assert record == {"submission_id": "page-retry-0001", "country": "C", "campus": "C_A", "mobility": "bike",
                      "contracts": 1, "alternative_choice": "alternative A", "distance": 7.5,
                      "pro_contract": False, "advertisement": "fair"}


def test_the_form_page_keeps_the_answers_when_kafka_does_not_confirm(settings):
    unreachable = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(unreachable)) as client:
        page = client.post("/survey", data=PAGE_FORM)
    assert page.status_code == 503
    assert "were not recorded" in page.text and "Kafka did not confirm" in page.text
    assert 'name="submission_id" value="page-retry-0001"' in page.text
    assert 'id="distance" name="distance"' in page.text and 'value="7.5"' in page.text


def end_offset(settings) -> int:
    consumer = Consumer({**client_config(settings), "group.id": "survey-page-test"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(SURVEY_TOPIC, 0), timeout=15)[1]
    finally:
        consumer.close()
