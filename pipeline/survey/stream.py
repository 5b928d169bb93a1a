"""The `student_survey` topic as a stream: landed exactly once like the other streams (`pipeline.ml.streams`),
each record cleaned as it is parsed (`pipeline.survey.cleaning`), bad ones quarantined with the reason; and
`cleaned/students`, one row per submission over every landed batch."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from pipeline.lake import Lake
from pipeline.ml.streams import InteractionStream
from pipeline.survey.cleaning import clean_record

SURVEY_TOPIC = "student_survey"
CLEANED_PARTS = ("cleaned", "students", "students.parquet")
RECORD_SCHEMA = pa.schema([
    ("submission_id", pa.string()), ("country", pa.string()), ("campus", pa.string()), ("mobility", pa.string()),
    ("contracts", pa.int32()), ("alternative_choice", pa.string()), ("distance", pa.float64()),
    ("pro_contract", pa.bool_()), ("advertisement", pa.string()),
    ("submitted_at", pa.timestamp("ms", tz="UTC")),  # the Kafka timestamp: when Kafka confirmed the submission
])


def parse_submission(key: bytes | None, value: bytes | None, kafka_ms: int | None):
    cleaned = clean_record(value)
    if cleaned.row is None:
        return None, cleaned.reason, cleaned.detail or ""
    submitted = datetime.fromtimestamp(kafka_ms / 1000, tz=timezone.utc) if kafka_ms is not None else None
    return {**cleaned.row, "submitted_at": submitted}, None, ""


SURVEY_STREAM = InteractionStream(SURVEY_TOPIC, parse_submission, RECORD_SCHEMA, user_field="submission_id")


def first_submissions(records: pa.Table) -> pa.Table:
    """Every parsed submission once: a submission retried with the same id (a client that did not see the answer)
    counts once, as first confirmed by Kafka. Sorted by submission time."""
    records = records.sort_by([("submitted_at", "ascending"), ("submission_id", "ascending")])
    seen: set[str] = set()
    first = []
    for index, submission in enumerate(records["submission_id"].to_pylist()):
        if submission not in seen:
            seen.add(submission)
            first.append(index)
    return records.take(first)


def write_cleaned_students(lake: Lake) -> tuple[int, int]:
    """`cleaned/students` rebuilt from every parsed submission; (rows written, retried submissions left out)."""
    dataset = SURVEY_STREAM.staged(lake)
    parsed = dataset.to_table().cast(RECORD_SCHEMA) if dataset is not None else RECORD_SCHEMA.empty_table()
    students = first_submissions(parsed)
    lake.write_parquet(students, *CLEANED_PARTS)
    return students.num_rows, parsed.num_rows - students.num_rows
