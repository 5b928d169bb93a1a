"""The checks of `POST /events` without Kafka: the verdicts of the landing's validator, and an event without an id
published with the id landing keeps, the same on every send."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.validation import ValidationRules, Validator
from pipeline.serving.ingest import EventIntake
from pipeline_tests.serving.event_batch import BATCH, EXPECTED, LOGIN, NOW, VIDEO_WITHOUT_ID

RULES = ValidationRules("Asia/Ho_Chi_Minh", 600, "2025-01-01")


def test_verdicts_follow_the_landing_rules_and_only_accepted_events_become_records():
    verdicts, records = EventIntake(RULES).check(BATCH, NOW)
    assert [(v.status, v.reason) for v in verdicts] == EXPECTED
    assert [(topic, key) for topic, key, _ in records] == [("auth_topic", b"S1"), ("video_topic", b"S2")]
    assert json.loads(records[0][2]) == LOGIN


def test_an_event_without_id_is_published_with_a_stable_id_that_landing_keeps():
    intake = EventIntake(RULES)
    first = intake.check([VIDEO_WITHOUT_ID], NOW)
    again = intake.check([dict(reversed(list(VIDEO_WITHOUT_ID.items())))], NOW)  # same event, other key order
    assert first[0][0].event_id == again[0][0].event_id
    [(_, _, value)] = first[1]
    assert json.loads(value) == {**VIDEO_WITHOUT_ID, "event_id": first[0][0].event_id}
    landed = Validator(CATEGORY_BY_NAME["video"], RULES)(value, datetime.now(timezone.utc))
    assert landed.reason is None and landed.row["event_id"] == first[0][0].event_id


def test_an_event_with_a_null_id_is_given_one_too():
    [verdict], [(_, _, value)] = EventIntake(RULES).check([{**VIDEO_WITHOUT_ID, "event_id": None}], NOW)
    assert verdict.status == "accepted" and json.loads(value)["event_id"] == verdict.event_id
