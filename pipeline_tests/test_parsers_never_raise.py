"""Property: whatever bytes arrive on a topic, each record is either accepted and typed or quarantined with one
reason; nothing raises (one record that raised would fail its whole batch, and every retry of it, forever).

Inputs come from hypothesis: arbitrary bytes, arbitrary JSON documents, valid events with a field replaced by
any JSON value, and the hostile shapes named in issue 19 (non-UTF-8 bytes, byte-order marks, deeply nested
arrays and objects, huge fields). The event validator is checked on whole batches (the fast path and its
fallback); the stream parsers (ratings, enrolments, survey submissions, purchase feature records) per record.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.events.catalogue import CATEGORIES, Reason
from pipeline.events.generator import EventGenerator
from pipeline.events.validation import BatchValidator, ValidationRules
from pipeline.ml.mooc import parse_enrolment
from pipeline.ml.movielens import parse_rating
from pipeline.ml.purchase.model import ParsedRecord, Rejected, parse_feature_record
from pipeline.survey.cleaning import clean_record
from pipeline_tests.test_batch_validation import raw_table

KAFKA_TIME = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
RULES = ValidationRules(start_date="2020-01-01")
REASONS = {r.value for r in Reason}
VALID = {c.name: [json.loads(r.value) for r in EventGenerator(seed=9, days=1, end=KAFKA_TIME).generate(400)
                  if r.topic == c.topic][:5] for c in CATEGORIES}
DEPTH = 60_000  # far beyond Python's recursion limit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
hostile = st.sampled_from([
    b"[" * DEPTH + b"]" * DEPTH,
    b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    b"\xef\xbb\xbf" + json.dumps(VALID["auth"][0]).encode(),  # a byte-order mark before a valid event
    b'{"event_id": "\xff\xfe\xfd"}',
    json.dumps({**VALID["video"][0], "video_id": "v" * 2_000_000}).encode(),  # a huge field
    b"", b"null", b"\x00\x01\x02", "ünïcödé".encode("latin-1"),
])


@st.composite
def broken_events(draw, category: str) -> bytes:
    """A valid event of the category with one field (existing or new) set to any JSON value."""
    event = dict(draw(st.sampled_from(VALID[category])))
    field = draw(st.sampled_from(sorted(event)) | st.text(max_size=10))
    event[field] = draw(json_values)
    return json.dumps(event).encode()


def records(category: str) -> st.SearchStrategy[bytes | None]:
    return (st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()) | broken_events(category)
            | st.sampled_from([json.dumps(e).encode() for e in VALID[category]]) | hostile | st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), category=st.sampled_from([c.name for c in CATEGORIES]))
def test_every_event_record_is_staged_or_quarantined_once_with_a_reason(data, category):
    values = data.draw(st.lists(records(category), min_size=1, max_size=12))
    result = BatchValidator(next(c for c in CATEGORIES if c.name == category), RULES)(
        raw_table(values, [KAFKA_TIME] * len(values)))
    staged = result.staged.column("kafka_offset").to_pylist()
    quarantined = result.quarantined.column("kafka_offset").to_pylist()
    assert sorted(staged + quarantined) == list(range(len(values)))  # each record once, none lost
    assert set(result.quarantined.column("reason").to_pylist()) <= REASONS
    assert None not in result.staged.column("event_id").to_pylist()
    assert None not in result.staged.column("event_time").to_pylist()
    for offset in staged:  # what is staged parsed as a JSON object
        assert isinstance(json.loads(values[offset]), dict)


stream_values = st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()) | hostile | st.none()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(key=st.none() | st.binary(max_size=20), value=stream_values)
def test_the_stream_parsers_answer_a_record_or_a_reason(key, value):
    for parse in (parse_rating, parse_enrolment):
        record, reason, _ = parse(key, value, 1_764_000_000_000)
        assert (record is None) != (reason is None), (parse.__name__, record, reason)
    cleaned = clean_record(value)
    assert (cleaned.row is None) != (cleaned.reason is None)
    assert isinstance(parse_feature_record(value), ParsedRecord | Rejected)


def test_a_deeply_nested_record_is_quarantined_as_invalid_json_beside_a_valid_one():
    """The case that used to raise RecursionError out of the landing run."""
    good = json.dumps(VALID["auth"][0]).encode()
    result = BatchValidator(CATEGORIES[0], RULES)(raw_table([b"[" * DEPTH + b"]" * DEPTH, good], [KAFKA_TIME] * 2))
    assert result.staged.column("kafka_offset").to_pylist() == [1]
    assert result.quarantined.select(["kafka_offset", "reason"]).to_pylist() == [
        {"kafka_offset": 0, "reason": "invalid_json"}]
    assert pa.types.is_string(result.quarantined.schema.field("reason_detail").type)
