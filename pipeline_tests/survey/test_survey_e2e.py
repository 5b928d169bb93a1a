"""Survey submissions through the real Kafka and the stream sensor: landed once, cleaned per record, bad ones
quarantined with the reason the generator planted, a retried submission counted once, a re-run adding nothing;
then, in the same run, every question answered with its checks passed, `survey_results` in Cassandra and the
results page counting the submissions."""

from __future__ import annotations

import json
from collections import Counter

import dagster as dg
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from pipeline.definitions import build_definitions
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.ml.stream_producer import send
from pipeline.ml.streams import QUARANTINE_ZONE
from pipeline.serving.api import create_app
from pipeline.survey.generator import generate_submissions
from pipeline.survey.questions import QUESTIONS
from pipeline.survey.serving import read_results
from pipeline.survey.stream import CLEANED_PARTS, SURVEY_TOPIC
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.topics import delete_topics
from sensors.tick import console_log_level, run_sensor_tick

SENSOR = f"{SURVEY_TOPIC}_sensor"


def expected_row(value: bytes) -> dict:
    """A valid form's record as cleaning must leave it, by hand: text lowercased, numbers and flags unchanged."""
    form = json.loads(value)
    return {**form, **{k: form[k].lower() for k in ("country", "campus", "alternative_choice")}}


def test_submissions_are_landed_once_cleaned_and_quarantined_with_their_reasons(services, lake_env):
    config = client_config(services)
    delete_topics(config, [SURVEY_TOPIC])
    submissions = generate_submissions(300, seed=5, malformed_fraction=0.1, retry_fraction=0.05)
    assert sum(s.retry for s in submissions) > 5 and sum(bool(s.expected_reason) for s in submissions) > 15
    send(config, SURVEY_TOPIC, [(s.key, s.value) for s in submissions])
    defs = build_definitions(lake_env)
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace), dg.instance_for_test() as instance:
        tick = run_sensor_tick(defs, instance, None, SENSOR, log=print, log_level="WARNING")
        assert tick.success and [r.job_def.name for r in tick.results] == ["land_student_survey"]
        checks = tick.results[0].get_asset_check_evaluations()
        assert len(checks) >= 2 * len(QUESTIONS) + 3 and all(c.passed for c in checks), \
            [(c.asset_key.to_user_string(), c.check_name) for c in checks if not c.passed]
        assert not run_sensor_tick(defs, instance, tick.cursor, SENSOR).requests  # nothing new
        # A retried run (same run config) lands and cleans the same records again: nothing is added.
        [request] = tick.requests
        retry = defs.resolve_job_def(request.job_name).execute_in_process(
            run_config={**request.run_config, **console_log_level("WARNING")}, instance=instance)
        assert retry.success

    lake = Lake.from_settings(lake_env)
    students = pq.read_table(lake.path(*CLEANED_PARTS)).to_pylist()
    valid = {s.submission_id: s for s in submissions if s.expected_reason is None and not s.retry}
    assert sorted(r["submission_id"] for r in students) == sorted(valid)  # each once, retries included
    for row in students:
        cleaned = {k: v for k, v in row.items() if k != "submitted_at"}
        assert cleaned == expected_row(valid[row["submission_id"]].value)
        assert row["submitted_at"] is not None
    quarantined = lake.dataset(*QUARANTINE_ZONE, SURVEY_TOPIC).to_table().to_pylist()
    assert Counter(r["reason"] for r in quarantined) == Counter(s.expected_reason for s in submissions
                                                                if s.expected_reason)


def test_the_results_page_counts_every_submission_once_and_draws_every_question(services, lake_env):
    config = client_config(services)
    delete_topics(config, [SURVEY_TOPIC])
    submissions = generate_submissions(40, seed=9, malformed_fraction=0.1, retry_fraction=0.1)
    valid = {s.submission_id for s in submissions if s.expected_reason is None}
    send(config, SURVEY_TOPIC, [(s.key, s.value) for s in submissions])
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace) as session, \
            dg.instance_for_test() as instance:
        tick = run_sensor_tick(build_definitions(lake_env), instance, None, SENSOR, log=print, log_level="WARNING")
        assert tick.success
        stored = read_results(session, lake_env.cassandra_analytics_keyspace)
        assert [r.question for r in stored] == [q.number for q in QUESTIONS]
        assert stored[0].sample_size == len(valid)
        assert sum(int(float(p.y)) for p in stored[0].points) == len(valid)  # the bars of responses per country
        with TestClient(create_app(lake_env)) as client:
            page = client.get("/survey/results")
    assert page.status_code == 200
    assert f'id="responses">{len(valid)}</span>' in page.text
    assert page.text.count('<section class="question"') == len(QUESTIONS)
    assert page.text.count("<svg") == len(QUESTIONS)
