"""The event catalogue against seed-facts §1, and the generator's shapes (pure Python)."""

import json
from collections import Counter
from datetime import datetime, timezone

from pipeline.events.catalogue import CATEGORIES, CATEGORY_BY_TOPIC, Reason
from pipeline.events.generator import EventGenerator

# seed-facts §1.1-1.6, typed in by hand; ACCESS_COURSE_MATERIAL is the documented addition.
SPEC_EVENT_TYPES = {
    "auth_topic": {"LOGIN", "LOGOUT", "SIGNUP"},
    "assessment_topic": {"VIEW_ASSIGNMENT_FIRST_TIME", "SUBMIT_ASSIGNMENT", "EDIT_ASSIGNMENT", "DELETE_ASSIGNMENT",
                         "QUIZ_COMPLETED", "VIEW_STUDENT_WORK", "GRADE_ASSIGNMENT", "ASSIGNMENT_REOPENED"},
    "video_topic": {"VIDEO_WATCHED"},
    "course_topic": {"COURSE_CREATED", "COURSE_DELETED", "COURSE_VIEW", "ITEM_CLICK", "DOWNLOAD_MATERIAL",
                     "COURSE_ENROLLED", "COURSE_DROPPED", "ACCESS_COURSE_MATERIAL"},
    "profile_topic": {"CREATE_PROFILE", "UPDATE_PROFILE", "PROFILE_PICTURE_UPDATED", "PASSWORD_CHANGED"},
    "notification_topic": {"NOTIFICATION_SENT", "NOTIFICATION_OPENED", "NOTIFICATION_CLICKED"},
}
SPEC_WEIGHTS = {"auth_topic": 15, "assessment_topic": 25, "video_topic": 35, "course_topic": 18,
                "profile_topic": 3, "notification_topic": 4}
SPEC_PARTITIONS = {"auth_topic": 3, "assessment_topic": 5, "video_topic": 5, "course_topic": 3,
                   "profile_topic": 2, "notification_topic": 2}
END = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_catalogue_has_every_event_type_topic_weight_and_partition_count_of_the_spec():
    assert {c.topic: {e.name for e in c.event_types} for c in CATEGORIES} == SPEC_EVENT_TYPES
    assert {c.topic: c.weight for c in CATEGORIES} == SPEC_WEIGHTS
    assert {c.topic: c.partitions for c in CATEGORIES} == SPEC_PARTITIONS
    assert dict(CATEGORY_BY_TOPIC["profile_topic"].topic_config)["cleanup.policy"] == "compact"


def test_cleaned_schemas_carry_envelope_fields_and_lineage():
    for category in CATEGORIES:
        names = category.cleaned_schema.fieldNames()
        assert names[:6] == ["event_id", "event_category", "event_type", "user_id", "role", "event_time"]
        assert names[-4:] == ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"]
        for event_type in category.event_types:
            assert set(event_type.required) <= set(names), event_type.name


def test_same_seed_same_events_and_the_category_mix_follows_the_weights():
    first = [r.value for r in EventGenerator(seed=5, end=END).generate(500)]
    assert first == [r.value for r in EventGenerator(seed=5, end=END).generate(500)]
    assert first != [r.value for r in EventGenerator(seed=6, end=END).generate(500)]
    topics = Counter(r.topic for r in EventGenerator(seed=1, end=END).generate(20000))
    for topic, weight in SPEC_WEIGHTS.items():
        assert abs(topics[topic] / 20000 - weight / 100) < 0.015, topic


def test_events_are_valid_json_keyed_by_user_within_the_window():
    days = 3
    records = list(EventGenerator(seed=2, days=days, end=END, timestamp_format="iso").generate(2000))
    for record in records:
        event = json.loads(record.value)
        assert record.key == event["user_id"].encode()
        assert event["event_category"] == CATEGORY_BY_TOPIC[record.topic].upper
        when = datetime.fromisoformat(event["timestamp"])
        assert (END - when).total_seconds() <= days * 86400 and when <= END


def test_logout_closes_the_session_its_user_opened():
    events = [json.loads(r.value) for r in EventGenerator(seed=3, end=END).generate(5000) if r.topic == "auth_topic"]
    open_sessions, matched, logouts = {}, 0, 0
    for e in events:
        if e["event_type"] == "LOGIN":
            open_sessions[e["user_id"]] = e["session_id"]
        elif e["event_type"] == "LOGOUT":
            logouts += 1
            matched += open_sessions.pop(e["user_id"], None) == e["session_id"]
    assert logouts > 100 and matched / logouts > 0.5


def test_malformed_and_duplicate_fractions():
    records = list(EventGenerator(seed=4, end=END, malformed_fraction=0.1, duplicate_fraction=0.05).generate(10000))
    malformed = Counter(r.expected_reason for r in records if r.expected_reason)
    assert 800 < sum(malformed.values()) < 1200
    assert set(malformed) == {Reason.INVALID_JSON, Reason.MISSING_FIELD, Reason.WRONG_TYPE,
                              Reason.UNKNOWN_EVENT_TYPE, Reason.FUTURE_TIMESTAMP}
    duplicates = [i for i, r in enumerate(records) if r.duplicate]
    assert 300 < len(duplicates) < 600
    assert all(records[i].value == records[i - 1].value for i in duplicates)
