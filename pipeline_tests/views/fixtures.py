"""Build small cleaned tables by hand (give only the fields a view reads, the rest get defaults), or a lake of
random generated events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from pipeline.events.catalogue import CATEGORIES, CATEGORY_BY_NAME
from pipeline.events.cleaning import clean_partition
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import OffsetRange, raw_parts
from pipeline.events.validation import ValidationRules, stage_batch
from pipeline.lake import Lake


@dataclass
class Case:
    """Inputs (cleaned rows per category) and the expected output rows, worked out by hand."""

    inputs: dict[str, list[dict]]
    expected: list[tuple]
    note: str = ""  # how the expected rows follow from the inputs


def event(event_type: str, user_id: str, event_time: str, **fields) -> dict:
    """One cleaned row for `cleaned()`: event_time is 'yyyy-MM-dd HH:mm:ss' UTC."""
    return {"event_type": event_type, "user_id": user_id, "event_time": event_time, **fields}


def at(text: str) -> datetime:
    """'2026-11-24 08:00:00' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def collected(text: str) -> datetime:
    """'2026-11-24 08:00:00' UTC as PySpark's collect() returns a timestamp: naive, in this process's zone."""
    return at(text).astimezone().replace(tzinfo=None)


def cleaned(spark: SparkSession, category: str, rows: list[dict]) -> DataFrame:
    """A cleaned table of `category` with the given rows. Each row needs event_type, user_id and event_time
    ('yyyy-MM-dd HH:mm:ss' UTC); event_id, event_category, role and the Kafka lineage get defaults."""
    schema = CATEGORY_BY_NAME[category].cleaned_schema
    complete = []
    for offset, row in enumerate(rows):
        values = {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{category}-{offset}")),
            "event_category": category.upper(),
            "role": "teacher" if str(row.get("user_id", "")).startswith("GV") else "student",
            "kafka_topic": CATEGORY_BY_NAME[category].topic,
            "kafka_partition": 0,
            "kafka_offset": offset,
            "kafka_timestamp": at(row["event_time"]),
            **row,
            "event_time": at(row["event_time"]),
        }
        unknown = set(values) - set(schema.fieldNames())
        if unknown:
            raise KeyError(f"{category} has no field(s) {sorted(unknown)}")
        complete.append(tuple(values.get(name) for name in schema.fieldNames()))
    return spark.createDataFrame(complete, schema)


def generated_lake(root: Path, seed: int, events: int, end: datetime, days: float) -> tuple[Lake, list[str]]:
    """A lake whose cleaned zone holds `events` random generated events of every category over `days` days
    before `end`, landed as one batch, validated and cleaned as the pipeline does; and the days it covers."""
    from pipeline_tests.test_cleaning import raw_table  # a test module: imported only by tests that build lakes

    records = list(EventGenerator(seed=seed, days=days, end=end).generate(events))
    lake, paths = Lake(str(root)), []
    for category in CATEGORIES:
        mine = [r.value for r in records if r.topic == category.topic]
        landed = OffsetRange(category.topic, 0, 0, len(mine))
        paths.append(lake.write_parquet(raw_table(category.topic, mine, end), *raw_parts(landed, str(end.date()))))
    touched = stage_batch(lake, paths, "generated", ValidationRules(start_date="2020-01-01")).touched
    for category, day in touched:
        clean_partition(lake, CATEGORY_BY_NAME[category], day)
    return lake, sorted({day for _, day in touched})
