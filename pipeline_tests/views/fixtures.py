"""Build small cleaned tables by hand: give only the fields a view reads, the rest get defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession

from pipeline.events.catalogue import CATEGORY_BY_NAME


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
