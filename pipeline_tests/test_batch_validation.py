"""The batch validator (msgspec + Arrow) reaches exactly the single-record `Validator`'s verdicts.

The reference is `Validator`, whose rules the hand-computed cases of test_cleaning.py pin down; here both paths
judge the same records (those cases, generated events broken in every known way, and random mutations of the
texts the fast path parses itself) and every verdict is compared: staged row and day, or reason, detail, day and
whether the day came from the event.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from pipeline.events.catalogue import CATEGORIES, CATEGORY_BY_NAME
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import RAW_SCHEMA
from pipeline.events.validation import DAY, BatchValidator, ValidationRules, Validator
from pipeline_tests.test_cleaning import ALLOWED_SENDERS, CASES, KAFKA_TIME, RULES, event

# Timestamps around every edge of the fast path's own parsing: offsets, fractions, impossible dates and times,
# padding, the forms Python accepts and Arrow does not, and the reverse.
TIMESTAMPS = [
    "2026-11-24 10:30:00", "2026-11-24T10:30:00", "2026-11-24T10:30:00+07:00", "2026-11-24T10:30:00+0700",
    "2026-11-24T10:30:00+07", "2026-11-24T03:30:00Z", "2026-11-24 03:30:00Z", "2026-11-24T03:30:00z",
    "2026-11-24T10:30:00.5+07:00", "2026-11-24 10:30:00.123456", "2026-11-24T10:30:00-23:59",
    "2026-11-24T10:30:00+24:00", "2026-11-24T10:30:00+07:60", "2026-11-24T10:30:00+07:00:00",
    "2026-02-30 10:00:00", "2026-11-24 24:00:00", "2026-11-24 10:60:00", "2026-11-24 10:59:60",
    "2026-11-24 23:59:60", " 2026-11-24 10:30:00", "2026-11-24 10:30:00 ", "2026-11-24 10:30", "2026-11-24",
    "0000-01-01 00:00:00", "2026-11-24T12:09:59Z", "2026-11-24T12:10:00Z", "2026-11-24T12:10:01Z",
    "2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z", "2025-01-01 06:59:59", "2025-01-01 07:00:00",
]


def raw_table(values: list[bytes | None], kafka_times: list[datetime]) -> pa.Table:
    return pa.table({
        "value": pa.array(values, pa.binary()),
        "key": pa.array([b"k"] * len(values), pa.binary()),
        "topic": ["some_topic"] * len(values),
        "partition": pa.array([0] * len(values), pa.int32()),
        "offset": pa.array(range(len(values)), pa.int64()),
        "kafka_timestamp": pa.array(kafka_times, pa.timestamp("ms", tz="UTC")),
    }, schema=RAW_SCHEMA)


def reference_verdicts(category, rules: ValidationRules, raw: pa.Table) -> tuple[list, list]:
    """Staged rows and quarantine verdicts by the single-record `Validator`, in raw order."""
    validator = Validator(category, rules)
    staged, quarantined = [], []
    for i, (value, kafka_time) in enumerate(zip(raw.column("value").to_pylist(),
                                                raw.column("kafka_timestamp").to_pylist())):
        verdict = validator(value, kafka_time)
        if verdict.reason is None:
            staged.append({**verdict.row, "kafka_offset": i, DAY: verdict.day})
        else:
            quarantined.append((i, verdict.reason.value, verdict.detail, verdict.day, verdict.dated_by_event))
    return staged, quarantined


def batch_verdicts(category, rules: ValidationRules, raw: pa.Table) -> tuple[list, list]:
    result = BatchValidator(category, rules)(raw)
    columns = [*Validator(category, rules).columns, DAY]
    staged = [{k: row[k] for k in columns if not k.startswith("kafka_") or k == "kafka_offset"}
              for row in result.staged.to_pylist()]
    quarantined = [(r["kafka_offset"], r["reason"], r["reason_detail"], r["day"], r["dated_by_event"])
                   for r in result.quarantined.to_pylist()]
    return staged, quarantined


def assert_same_verdicts(category, rules: ValidationRules, values: list[bytes | None],
                         kafka_times: list[datetime] | None = None) -> tuple[int, int]:
    raw = raw_table(values, kafka_times or [KAFKA_TIME] * len(values))
    expected_staged, expected_quarantined = reference_verdicts(category, rules, raw)
    expected_staged = [{k: v for k, v in row.items() if not k.startswith("kafka_") or k == "kafka_offset"}
                       for row in expected_staged]
    staged, quarantined = batch_verdicts(category, rules, raw)
    assert sorted(quarantined) == sorted(expected_quarantined)
    assert staged == expected_staged  # raw order, as the single-record path wrote them
    return len(staged), len(quarantined)


def as_object(value: bytes) -> dict | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def encoded(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@pytest.mark.parametrize("name", sorted({c[0] for c in CASES} | {c[0] for c in ALLOWED_SENDERS}))
def test_the_hand_computed_cases_get_the_same_verdicts(name):
    values = [encoded(c[1]) for c in CASES if c[0] == name] + [encoded(c[1]) for c in ALLOWED_SENDERS if c[0] == name]
    assert_same_verdicts(CATEGORY_BY_NAME[name], RULES, values)


def test_every_timestamp_form_gets_the_same_verdict():
    values = [encoded(event("auth", "LOGIN", session_id="s1", timestamp=t)) for t in TIMESTAMPS]
    staged, quarantined = assert_same_verdicts(CATEGORY_BY_NAME["auth"], RULES, values)
    assert staged >= 10 and quarantined >= 10  # both verdicts are exercised


def test_a_zone_with_clock_changes_gets_the_same_verdicts():
    """Europe/Paris: 2026-03-29 02:30 does not exist, 2026-10-25 02:30 happens twice."""
    rules = ValidationRules(source_timezone="Europe/Paris", future_tolerance_seconds=600, start_date="2025-01-01")
    times = ["2026-03-29 02:30:00", "2026-03-29 01:59:59", "2026-03-29 03:00:00", "2026-10-25 02:30:00",
             "2026-10-25 01:30:00", "2026-10-25 03:30:00"]
    values = [encoded(event("auth", "LOGIN", session_id="s1", timestamp=t)) for t in times]
    staged, _ = assert_same_verdicts(CATEGORY_BY_NAME["auth"], rules, values)
    assert staged == len(times)


def test_records_the_parsers_disagree_on_get_the_same_verdicts():
    login = event("auth", "LOGIN", session_id="s1")
    values = [
        b'{"event_id": "0b7a4c52-5d1e-4a8e-9a0e-6f2f3c1d2e4f", "event_id": "1c9e8f0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",'
        b' "event_category": "AUTH", "event_type": "LOGIN", "user_id": "SV001", "timestamp": "2026-11-24 10:30:00",'
        b' "session_id": "s1"}',  # a key given twice: json.loads keeps the last, Arrow refuses the line
        json.dumps(login, indent=2).encode(),  # line breaks between tokens
        encoded({**login, "session_id": "s\u00e9\U0001F600"}),
        encoded({**login, "extra": {"nested": [1, 2.5, None]}}),
        b"", b"   ", None, b"null", b'"text"', b"[]", b'{"a": 1} {"b": 2}', b'{"user_id": "\\ud800"}',
        encoded({**login, "user_id": 99999999999999999999}),
        encoded({**login, "user_id": True}),
        json.dumps({**login}).replace('"LOGIN"', "NaN").encode(),
        encoded({k: v for k, v in login.items() if k != "event_id"}),  # the id derived from the bytes
        encoded({**login, "event_id": login["event_id"].upper()}),
        encoded({**login, "event_id": login["event_id"] + "\n"}),
        encoded({**login, "role": None}),
        encoded({**login, "device_type": "phone"}),
        encoded({**login, "device_type": None, "ip_address": 5}),
    ]
    assert_same_verdicts(CATEGORY_BY_NAME["auth"], RULES, values)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_and_randomly_broken_records_get_the_same_verdicts(seed, monkeypatch):
    """Generated events (a fifth broken in one of the generator's known ways), then random byte-level and
    field-level mutations, over two days of Kafka times, in every category."""
    rng, judge = random.Random(seed), Validator.__call__
    records = list(EventGenerator(seed=seed, days=2, end=KAFKA_TIME, malformed_fraction=0.2,
                                  duplicate_fraction=0.05).generate(3000))
    for category in CATEGORIES:
        values = []
        for record in (r for r in records if r.topic == category.topic):
            value = record.value
            roll = rng.random()
            if roll < 0.05:  # a byte changed, dropped or repeated
                at = rng.randrange(len(value))
                value = value[:at] + rng.choice([b"", bytes([rng.randrange(256)]), value[at:at + 1] * 2]) \
                    + value[at + 1:]
            elif roll < 0.15:  # a field set to a value of another type, or removed
                fields = as_object(value)
                if fields:
                    name = rng.choice(sorted(fields))
                    fields[name] = rng.choice([None, 0, -1, 2**63, 1.5, True, "", "x", [], ["a"], {}, rng.choice(
                        TIMESTAMPS)])
                    if rng.random() < 0.3:
                        del fields[name]
                    value = json.dumps(fields).encode()
            elif roll < 0.2:
                fields = as_object(value)
                if fields is not None:
                    fields["timestamp"] = rng.choice(TIMESTAMPS)
                    value = json.dumps(fields).encode()
            values.append(value)
        kafka_times = [KAFKA_TIME - timedelta(hours=rng.choice([0, 0, 0, 30])) for _ in values]
        judged = []
        with monkeypatch.context() as patch:  # count the records the batch path leaves to `Validator`
            patch.setattr(Validator, "__call__", lambda self, *record: judged.append(record) or judge(self, *record))
            batch_verdicts(category, RULES, raw_table(values, kafka_times))
        staged, quarantined = assert_same_verdicts(category, RULES, values, kafka_times)
        assert staged and quarantined
        # The fast path decides most records itself (else this test would compare the reference with itself).
        assert len(judged) < 0.5 * len(values)
