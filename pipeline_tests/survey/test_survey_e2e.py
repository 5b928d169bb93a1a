"""Survey submissions through the real Kafka and the stream sensor: landed once, cleaned per record, bad ones
quarantined with the reason the generator planted, a retried submission counted once, a re-run adding nothing."""

from __future__ import annotations

import json
from collections import Counter

import dagster as dg
import pyarrow.parquet as pq

from pipeline.definitions import build_definitions
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.ml.stream_producer import send
from pipeline.ml.streams import QUARANTINE_ZONE
from pipeline.survey.generator import generate_submissions
from pipeline.survey.stream import CLEANED_PARTS, SURVEY_TOPIC
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
    with dg.instance_for_test() as instance:
        tick = run_sensor_tick(defs, instance, None, SENSOR, log=print, log_level="WARNING")
        assert tick.success and [r.job_def.name for r in tick.results] == ["land_student_survey"]
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
