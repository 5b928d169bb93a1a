"""Validation, routing and de-duplication of raw records (expected values worked out by hand)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import clean_partition
from pipeline.events.validation import ValidationRules, Validator, batch_counts, stage_batch
from pipeline.events.landing import RAW_SCHEMA, OffsetRange, raw_parts

KAFKA_TIME = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
RULES = ValidationRules(source_timezone="Asia/Ho_Chi_Minh", future_tolerance_seconds=600, start_date="2025-01-01")
EVENT_ID = "0b7a4c52-5d1e-4a8e-9a0e-6f2f3c1d2e4f"


def event(category: str, event_type: str, **fields) -> dict:
    base = {"event_id": EVENT_ID, "event_category": category.upper(), "event_type": event_type,
            "user_id": "SV001", "role": "student", "timestamp": "2026-11-24 10:30:00"}
    return {**base, **fields}


def raw_table(topic: str, values: list, kafka_time: datetime = KAFKA_TIME, first_offset: int = 0) -> pa.Table:
    encoded = [v if isinstance(v, bytes) else json.dumps(v).encode() for v in values]
    return pa.table(
        {
            "value": encoded,
            "key": [b"SV001"] * len(values),
            "topic": [topic] * len(values),
            "partition": pa.array([0] * len(values), pa.int32()),
            "offset": list(range(first_offset, first_offset + len(values))),
            "kafka_timestamp": [kafka_time] * len(values),
        },
        schema=RAW_SCHEMA,
    )


def verdict(category: str, value):
    encoded = value if isinstance(value, bytes) else json.dumps(value).encode()
    return Validator(CATEGORY_BY_NAME[category], RULES)(encoded, KAFKA_TIME)


CASES = [
    # (category, raw value, expected reason, expected detail, expected routing date)
    ("auth", b'{"event_type": "LOGIN"', "invalid_json", "value is not valid JSON", "2026-11-24"),
    ("auth", [1, 2], "not_an_object", "array", "2026-11-24"),
    ("auth", {k: v for k, v in event("auth", "LOGIN", session_id="s1").items() if k != "user_id"},
     "missing_field", "user_id", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", user_id=None), "missing_field", "user_id", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", user_id=123), "wrong_type", "user_id", "2026-11-24"),
    ("auth", event("video", "LOGIN", session_id="s1"), "category_mismatch", "VIDEO on auth_topic", "2026-11-24"),
    ("auth", event("auth", "TELEPORTED"), "unknown_event_type", "TELEPORTED", "2026-11-24"),
    ("auth", event("auth", "LOGIN"), "missing_field", "session_id", "2026-11-24"),
    ("auth", event("auth", "SIGNUP"), "missing_field", "email,registration_source", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", timestamp="yesterday"), "invalid_timestamp", "yesterday",
     "2026-11-24"),
    # 12:15 UTC is 15 minutes after the Kafka timestamp: beyond the 10-minute tolerance.
    ("auth", event("auth", "LOGIN", session_id="s1", timestamp="2026-11-24T12:15:00Z"), "future_timestamp",
     "2026-11-24T12:15:00Z", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", timestamp="2019-03-01 08:00:00"), "timestamp_before_start",
     "2019-03-01 08:00:00", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", role="admin"), "invalid_value", "role", "2026-11-24"),
    ("auth", event("auth", "LOGIN", session_id="s1", event_id="not-a-uuid"), "invalid_value", "event_id",
     "2026-11-24"),
    ("assessment", event("assessment", "QUIZ_COMPLETED", quiz_id="Q1", course_id="C1", correct_answers="many"),
     "wrong_type", "correct_answers", "2026-11-24"),
    ("assessment", event("assessment", "GRADE_ASSIGNMENT", role="teacher", student_id="SV002",
                         assignment_id="A1", course_id="C1", score=150), "invalid_value", "score", "2026-11-24"),
    ("profile", event("profile", "UPDATE_PROFILE", updated_fields="email"), "wrong_type", "updated_fields",
     "2026-11-24"),
    # A problem after the timestamp checks keeps the event's own day: 2026-11-23 23:15 UTC.
    ("video", event("video", "VIDEO_WATCHED", video_id="V1", course_id="C1", session_id="s", watch_duration_seconds=-5,
                    timestamp="2026-11-24T06:15:00+07:00"), "invalid_value", "watch_duration_seconds", "2026-11-23"),
    # Who may send an event type (seed-facts §1.2, §1.3): VIDEO_WATCHED is a student's, GRADE_ASSIGNMENT a teacher's.
    ("video", event("video", "VIDEO_WATCHED", role="teacher", user_id="GV001", video_id="V1", course_id="C1",
                    session_id="s", watch_duration_seconds=60),
     "role_not_allowed", "teacher may not send VIDEO_WATCHED", "2026-11-24"),
    ("assessment", event("assessment", "GRADE_ASSIGNMENT", student_id="SV002", assignment_id="A1", course_id="C1",
                         score=80), "role_not_allowed", "student may not send GRADE_ASSIGNMENT", "2026-11-24"),
    # The role rule comes last: a teacher's VIDEO_WATCHED with a negative duration is an invalid value first.
    ("video", event("video", "VIDEO_WATCHED", role="teacher", video_id="V1", course_id="C1", session_id="s",
                    watch_duration_seconds=-5), "invalid_value", "watch_duration_seconds", "2026-11-24"),
]


@pytest.mark.parametrize("category,value,reason,detail,day", CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_quarantines_with_its_reason(category, value, reason, detail, day):
    result = verdict(category, value)
    assert (result.reason.value, result.detail, result.day) == (reason, detail, day)


ALLOWED_SENDERS = [
    # (category, raw value, the role the cleaned row carries)
    ("auth", event("auth", "LOGIN", session_id="s1", role="teacher", user_id="GV001"), "teacher"),
    ("auth", event("auth", "LOGIN", session_id="s1", role="student"), "student"),
    # No role at all (as on the original course events) is not a wrong role, even on a teacher-only type.
    ("assessment", {k: v for k, v in event("assessment", "GRADE_ASSIGNMENT", student_id="SV002", assignment_id="A1",
                                           course_id="C1", score=80).items() if k != "role"}, None),
]


@pytest.mark.parametrize("category,value,role", ALLOWED_SENDERS, ids=["teacher-login", "student-login", "no-role"])
def test_a_role_the_event_type_allows_or_no_role_is_accepted(category, value, role):
    result = verdict(category, value)
    assert (result.reason, result.detail, result.row["role"]) == (None, None, role)


def test_valid_events_are_typed_and_converted_to_utc():
    legacy = event("video", "VIDEO_WATCHED", video_id="VID001", course_id="COURSE001", session_id="s1",
                   watch_duration_seconds=300, timestamp="2026-11-24 10:30:00")
    iso = event("video", "VIDEO_WATCHED", video_id="VID002", course_id="COURSE001", session_id="s2",
                watch_duration_seconds=60, timestamp="2026-11-24T06:15:00+07:00")
    del iso["event_id"]
    first, second = verdict("video", legacy), verdict("video", iso)
    assert (first.reason, second.reason) == (None, None)
    # 10:30 in Ho Chi Minh City (UTC+7) is 03:30 UTC; 06:15+07:00 is 23:15 UTC the day before.
    assert first.row["event_time"] == datetime(2026, 11, 24, 3, 30, tzinfo=timezone.utc)
    assert second.row["event_time"] == datetime(2026, 11, 23, 23, 15, tzinfo=timezone.utc)
    assert (first.day, second.day) == ("2026-11-24", "2026-11-23")
    assert first.row["watch_duration_seconds"] == 300 and first.row["video_id"] == "VID001"
    assert first.row["event_id"] == EVENT_ID
    # Without an event_id, the id is the payload's MD5 written as a UUID.
    digest = hashlib.md5(json.dumps(iso).encode()).hexdigest()
    assert second.row["event_id"] == f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def test_batch_stages_valid_records_quarantines_the_rest_and_cleaning_keeps_one_per_event(spark, lake):
    login = event("auth", "LOGIN", session_id="s1")
    logout = event("auth", "LOGOUT", session_id="s1", event_id="1c9e8f0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
                   timestamp="2026-11-24 11:00:00")
    values = [login, b"not json", logout, login, event("auth", "TELEPORTED")]  # offset 3 repeats offset 0
    rng = OffsetRange("auth_topic", 0, 0, len(values))
    path = lake.write_parquet(raw_table("auth_topic", values), *raw_parts(rng, "2026-11-24"))

    counts = stage_batch(lake, [path], "batch1", RULES)
    assert counts.staged == 3 and counts.quarantined == 2
    assert counts.by_reason() == {"invalid_json": 1, "unknown_event_type": 1}
    assert batch_counts(lake, "batch1", counts) == (3, 2)

    # Re-staging the same batch overwrites its output instead of adding to it.
    assert stage_batch(lake, [path], "batch1", RULES) == counts
    assert batch_counts(lake, "batch1", counts) == (3, 2)
    assert len(lake.list_files("staged")) == 1 and len(lake.list_files("quarantine")) == 1

    result = clean_partition(lake, CATEGORY_BY_NAME["auth"], "2026-11-24")
    assert (result.staged_rows, result.distinct_event_ids, result.cleaned_rows) == (3, 2, 2)
    assert (result.duplicates, result.quarantined_rows, result.duplicate_ids_written) == (1, 2, 0)
    cleaned = spark.read.parquet(result.path).orderBy("event_time").collect()
    assert [(r["event_type"], r["kafka_offset"]) for r in cleaned] == [("LOGIN", 0), ("LOGOUT", 2)]
    assert [f.name for f in spark.read.parquet(result.path).schema.fields] == \
        CATEGORY_BY_NAME["auth"].cleaned_schema.fieldNames()


def test_cleaning_a_day_without_events_writes_an_empty_table(spark, lake):
    result = clean_partition(lake, CATEGORY_BY_NAME["profile"], "2026-01-02")
    assert (result.staged_rows, result.cleaned_rows, result.quarantined_rows) == (0, 0, 0)
    assert spark.read.parquet(result.path).schema.fieldNames() == CATEGORY_BY_NAME["profile"].cleaned_schema.fieldNames()


def test_generated_malformed_records_get_the_reason_the_generator_intended(spark, lake):
    from pipeline.events.generator import EventGenerator

    records = list(EventGenerator(seed=7, days=2, end=KAFKA_TIME, malformed_fraction=0.2).generate(3000))
    paths, expected = [], {}
    for category in CATEGORY_BY_NAME.values():
        mine = [r for r in records if r.topic == category.topic]
        rng = OffsetRange(category.topic, 0, 0, len(mine))
        paths.append(lake.write_parquet(raw_table(category.topic, [r.value for r in mine]),
                                        *raw_parts(rng, "2026-11-24")))
        expected |= {(category.topic, i): r.expected_reason.value if r.expected_reason else None
                     for i, r in enumerate(mine)}
    stage_batch(lake, paths, "generated", RULES)
    quarantined = {
        (r["kafka_topic"], r["kafka_offset"]): r["reason"]
        for r in spark.read.parquet(lake.uri("quarantine", "events")).collect()
    }
    assert sum(1 for v in expected.values() if v) > 400
    assert quarantined == {k: v for k, v in expected.items() if v}
