"""Validate and route the raw records of one landing batch (plain Python + pyarrow, no Spark).

Every record of the batch is parsed, checked against the catalogue and filed under a day: its event's
UTC day when its timestamp is usable, else the day of its Kafka timestamp. Valid records go to
`staged/events/category=<c>/date=<d>/batch=<id>.parquet` in the cleaned table's schema; the others, with a
reason code and a detail, to `quarantine/events/category=<c>/date=<d>/batch=<id>.parquet`. Object names
come from the batch, so a re-run overwrites exactly its own output, and validation depends only on the
record and its Kafka timestamp, never on the clock.

Why not Spark: a landing batch is small, and this runs in a fraction of a second where a Spark job pays
tens of seconds of JVM start and code generation (measured: 12,000 records, 0.3 s here against 45 s cold
in Spark); the per-day de-duplication and everything downstream stays in Spark.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.events.catalogue import (
    CATEGORY_BY_TOPIC,
    ENVELOPE,
    OPTIONAL_ENVELOPE,
    QUARANTINE_SCHEMA,
    REQUIRED_ENVELOPE,
    Category,
    Reason,
    to_arrow,
)
from pipeline.lake import Lake

STAGED_ZONE = ("staged", "events")
QUARANTINE_ZONE = ("quarantine", "events")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?")
_JSON_KIND = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
QUARANTINE_ARROW = to_arrow(QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class ValidationRules:
    source_timezone: str = "Asia/Ho_Chi_Minh"  # zone of timestamps written without an offset
    future_tolerance_seconds: int = 600  # how far an event may be ahead of its Kafka timestamp
    start_date: str = "2025-01-01"  # first day of the daily partitions


def parse_timestamp(text: object, zone: ZoneInfo) -> datetime | None:
    """UTC instant of an ISO-8601 time with an offset, or of a bare local time in `zone`; None if neither."""
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text.strip()):
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Verdict:
    reason: Reason | None  # None: valid
    detail: str | None
    day: str  # the day the record is filed under
    dated_by_event: bool  # True when `day` comes from the event's own timestamp
    row: dict | None = None  # the typed row of a valid record


class Validator:
    """The catalogue's rules for one category; the first failing rule, in `Reason` order, is reported."""

    def __init__(self, category: Category, rules: ValidationRules):
        self.category = category
        self.zone = ZoneInfo(rules.source_timezone)
        self.tolerance = timedelta(seconds=rules.future_tolerance_seconds)
        self.start = datetime.fromisoformat(rules.start_date).replace(tzinfo=timezone.utc)
        self.envelope = [category.field_by_name[n] for n in REQUIRED_ENVELOPE]
        self.fields = (*ENVELOPE, *OPTIONAL_ENVELOPE, *category.fields)
        self.required = {e.name: [category.field_by_name[n] for n in e.required] for e in category.event_types}
        self.ruled = [f for f in self.fields if f.minimum is not None or f.maximum is not None or f.allowed]
        self.columns = [f.name for f in category.cleaned_schema.fields]

    def __call__(self, value: bytes | None, kafka_time: datetime) -> Verdict:
        try:
            event = json.loads(value) if value is not None else None
        except (ValueError, UnicodeDecodeError):
            return Verdict(Reason.INVALID_JSON, "value is not valid JSON", kafka_time.strftime("%Y-%m-%d"), False)
        return self.judge(event, value, kafka_time)

    def judge(self, event: object, value: bytes | None, kafka_time: datetime) -> Verdict:
        """The verdict of a parsed record; `value`, its bytes, names an event that carries no id (None is enough
        for an event that has one)."""
        kafka_day = kafka_time.strftime("%Y-%m-%d")

        def bad(reason: Reason, detail: str, when: datetime | None = None) -> Verdict:
            usable = when is not None and self.start <= when <= kafka_time + self.tolerance
            return Verdict(reason, detail, when.strftime("%Y-%m-%d") if usable else kafka_day, usable)

        if not isinstance(event, dict):
            return bad(Reason.NOT_AN_OBJECT, _JSON_KIND.get(type(event), "null"))
        if missing := [f.name for f in self.envelope if event.get(f.name) is None]:
            return bad(Reason.MISSING_FIELD, ",".join(missing))
        if wrong := [f.name for f in ENVELOPE if event.get(f.name) is not None and not f.type.accepts(event[f.name])]:
            return bad(Reason.WRONG_TYPE, ",".join(wrong))
        when = parse_timestamp(event["timestamp"], self.zone)
        if event["event_category"] != self.category.upper:
            return bad(Reason.CATEGORY_MISMATCH, f"{event['event_category']} on {self.category.topic}", when)
        if event["event_type"] not in self.required:
            return bad(Reason.UNKNOWN_EVENT_TYPE, event["event_type"], when)
        if missing := [f.name for f in self.required[event["event_type"]] if event.get(f.name) is None]:
            return bad(Reason.MISSING_FIELD, ",".join(missing), when)
        if wrong := [f.name for f in self.fields if event.get(f.name) is not None and not f.type.accepts(event[f.name])]:
            return bad(Reason.WRONG_TYPE, ",".join(wrong), when)
        if when is None:
            return bad(Reason.INVALID_TIMESTAMP, event["timestamp"])
        if when > kafka_time + self.tolerance:
            return bad(Reason.FUTURE_TIMESTAMP, event["timestamp"])
        if when < self.start:
            return bad(Reason.TIMESTAMP_BEFORE_START, event["timestamp"])
        event_id = event.get("event_id")
        if event_id is None:  # events of the original producer carry no id: derive a stable one
            digest = hashlib.md5(value).hexdigest()
            event_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"
        invalid = ["event_id"] if not _UUID.fullmatch(event_id) else []
        invalid += [f.name for f in self.ruled if event.get(f.name) is not None and f.breaks_rule(event[f.name])]
        if invalid:
            return bad(Reason.INVALID_VALUE, ",".join(invalid), when)
        role, event_type = event.get("role"), event["event_type"]
        if role is not None and role not in self.category.event_type_by_name[event_type].roles:
            return bad(Reason.ROLE_NOT_ALLOWED, f"{role} may not send {event_type}", when)
        row = {name: event.get(name) for name in self.columns}
        row |= {"event_id": event_id, "event_time": when}
        return Verdict(None, None, when.strftime("%Y-%m-%d"), True, row)


@dataclass(frozen=True)
class StageCounts:
    """Records of one batch per (category, date, reason); reason None = staged (valid)."""

    counts: dict[tuple[str, str, str | None], int]

    @property
    def staged(self) -> int:
        return sum(n for (_, _, reason), n in self.counts.items() if reason is None)

    @property
    def quarantined(self) -> int:
        return sum(n for (_, _, reason), n in self.counts.items() if reason is not None)

    @property
    def touched(self) -> list[tuple[str, str]]:
        """(category, date) pairs that got records, valid or not."""
        return sorted({(c, d) for (c, d, _) in self.counts})

    def quarantine_shares(self) -> dict[str, float]:
        """Per category, quarantined / all records of the batch."""
        totals: dict[str, list[int]] = {}
        for (category, _, reason), n in self.counts.items():
            bucket = totals.setdefault(category, [0, 0])
            bucket[0] += n if reason is not None else 0
            bucket[1] += n
        return {c: bad / total for c, (bad, total) in sorted(totals.items())}

    def by_reason(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for (_, _, reason), n in self.counts.items():
            if reason is not None:
                totals[reason] += n
        return dict(sorted(totals.items()))


def stage_batch(lake: Lake, raw_paths: list[str], batch: str, rules: ValidationRules) -> StageCounts:
    """Validate the raw objects of one landing batch; write staged and quarantined records; count them."""
    staged: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarantined: dict[tuple[str, str], list[dict]] = defaultdict(list)
    validators: dict[str, Validator] = {}
    for path in raw_paths:
        raw = pq.read_table(path, filesystem=lake.filesystem)
        for value, key, topic, partition, offset, kafka_time in zip(*(c.to_pylist() for c in raw.columns)):
            category = CATEGORY_BY_TOPIC[topic]
            validator = validators.get(topic) or validators.setdefault(topic, Validator(category, rules))
            verdict = validator(value, kafka_time)
            lineage = {"kafka_topic": topic, "kafka_partition": partition, "kafka_offset": offset,
                       "kafka_timestamp": kafka_time}
            if verdict.reason is None:
                staged[(category.name, verdict.day)].append(verdict.row | lineage)
            else:
                quarantined[(category.name, verdict.day)].append(lineage | {
                    "kafka_key": key.decode("utf-8", "replace") if key is not None else None,
                    "value": value.decode("utf-8", "replace") if value is not None else None,
                    "reason": verdict.reason.value, "reason_detail": verdict.detail,
                    "dated_by_event": verdict.dated_by_event,
                })
    counts: dict[tuple[str, str, str | None], int] = defaultdict(int)
    for (category, day), rows in staged.items():
        schema = to_arrow(CATEGORY_BY_TOPIC[rows[0]["kafka_topic"]].cleaned_schema)
        lake.write_parquet(pa.Table.from_pylist(rows, schema=schema), *batch_parts(STAGED_ZONE, category, day, batch))
        counts[(category, day, None)] = len(rows)
    for (category, day), rows in quarantined.items():
        table = pa.Table.from_pylist(rows, schema=QUARANTINE_ARROW)
        lake.write_parquet(table, *batch_parts(QUARANTINE_ZONE, category, day, batch))
        for reason, n in zip(*pc.value_counts(table.column("reason")).flatten()):
            counts[(category, day, reason.as_py())] += n.as_py()
    return StageCounts(dict(counts))


def batch_parts(zone: tuple[str, ...], category: str, day: str | date, batch: str) -> tuple[str, ...]:
    return (*zone, f"category={category}", f"date={day}", f"batch={batch}.parquet")


def days_with_records(lake: Lake, category: str) -> set[str]:
    """The UTC days under which a category has staged or quarantined records (folder names only)."""
    return {folder.removeprefix("date=") for zone in (STAGED_ZONE, QUARANTINE_ZONE)
            for folder in lake.folders(*zone, f"category={category}") if folder.startswith("date=")}


def _rows(lake: Lake, paths: list[str]) -> int:
    return sum(pq.ParquetFile(p, filesystem=lake.filesystem).metadata.num_rows for p in paths)


def batch_counts(lake: Lake, batch: str, counts: StageCounts) -> tuple[int, int]:
    """(staged, quarantined) records of a batch, read back from the objects it should have written.

    A missing object raises instead of counting as zero, so a lost write cannot pass for a reconciled batch.
    """
    staged = {(c, d) for (c, d, reason) in counts.counts if reason is None}
    quarantined = {(c, d) for (c, d, reason) in counts.counts if reason is not None}
    return (
        _rows(lake, [lake.path(*batch_parts(STAGED_ZONE, c, d, batch)) for c, d in sorted(staged)]),
        _rows(lake, [lake.path(*batch_parts(QUARANTINE_ZONE, c, d, batch)) for c, d in sorted(quarantined)]),
    )


@dataclass(frozen=True)
class QuarantineCounts:
    total: int
    dated: int  # filed under this day by the event's own timestamp


def quarantined_counts(lake: Lake, category: str, day: str) -> QuarantineCounts:
    files = lake.list_files(*QUARANTINE_ZONE, f"category={category}", f"date={day}")
    if not files:
        return QuarantineCounts(0, 0)
    dated = pq.read_table(files, filesystem=lake.filesystem, columns=["dated_by_event"]).column("dated_by_event")
    return QuarantineCounts(len(dated), pc.sum(dated).as_py() or 0)
