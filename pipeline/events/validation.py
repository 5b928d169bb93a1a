"""Validate and route the raw records of one landing batch (plain Python + pyarrow, no Spark).

Every record of the batch is parsed, checked against the catalogue and filed under a day: its event's
UTC day when its timestamp is usable, else the day of its Kafka timestamp. Valid records go to
`staged/events/category=<c>/date=<d>/batch=<id>.parquet` in the cleaned table's schema; the others, with a
reason code and a detail, to `quarantine/events/category=<c>/date=<d>/batch=<id>.parquet`. Object names
come from the batch, so a re-run overwrites exactly its own output, and validation depends only on the
record and its Kafka timestamp, never on the clock.

`Validator` is the rule book, one record at a time (the HTTP intake uses it too); `BatchValidator` reaches the
same verdicts for a whole raw table at once, with msgspec and Arrow, and asks `Validator` about every record it
cannot prove valid. Why not Spark: validation is a parse and a few comparisons per record, which Arrow's
vector operations do at millions of records a second, with no JVM start or job scheduling.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from typing import Annotated
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipeline.events.catalogue import (
    CATEGORY_BY_NAME,
    CATEGORY_BY_TOPIC,
    ENVELOPE,
    OPTIONAL_ENVELOPE,
    QUARANTINE_SCHEMA,
    REQUIRED_ENVELOPE,
    Category,
    FieldType,
    Reason,
    to_arrow,
)
from pipeline.events.landing import OffsetRange
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
        except RecursionError:  # one record must not fail its whole batch (and every retry of it)
            return Verdict(Reason.INVALID_JSON, "value is nested too deeply to parse",
                           kafka_time.strftime("%Y-%m-%d"), False)
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


_JSON_TYPES = {FieldType.STRING: pa.string(), FieldType.INT: pa.int64(), FieldType.STRING_ARRAY: pa.list_(pa.string())}
# An int must fit Arrow's int64 too, or the whole piece would be refused.
_STRUCT_TYPES = {FieldType.STRING: str, FieldType.INT: Annotated[int, msgspec.Meta(ge=-2**63, le=2**63 - 1)],
                 FieldType.STRING_ARRAY: list[str]}
# The timestamps the batch path converts itself: whole seconds, an offset within a day or none. Any other form
# (fractions, padding, an odd offset) is left to `parse_timestamp`, so both paths agree on every text.
_PLAIN_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?$"
_ANCHORED_UUID = f"^{_UUID.pattern}$"
_CHUNK = 65_536  # records per Arrow JSON read: a record Arrow refuses sends its chunk, not the batch, to `Validator`
DAY = "day"  # the column of `Validated`'s tables that names the day a record is filed under
_DAY_FIELD = pa.field(DAY, pa.string())


def _is_utf8(data: bytes) -> bool:
    if data.isascii():  # the usual case, checked without decoding
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _any(masks: list) -> pa.ChunkedArray:
    return reduce(pc.or_, masks)


@dataclass(frozen=True)
class Validated:
    """A raw table's records: the valid ones as cleaned rows, the others as quarantine rows, each with its `day`."""

    staged: pa.Table
    quarantined: pa.Table


class BatchValidator:
    """`Validator`'s verdicts for a whole raw table of one category at once, at the speed of the parsers.

    msgspec checks each record against a typed struct of the category's fields (valid JSON, an object, every field
    of its type); Arrow's JSON reader turns the records that pass into columns; every rule is then a vector
    operation on them. A record that this does not prove valid (any error, any broken rule, a timestamp in a less
    usual form, an event without an id) is judged by `Validator`: reasons, details and days come from the one
    rule book, and a valid row is the same whichever path found it (tested on random records).
    """

    def __init__(self, category: Category, rules: ValidationRules):
        self.category = category
        self.reference = Validator(category, rules)
        self.zone = rules.source_timezone
        self.tolerance = pa.scalar(rules.future_tolerance_seconds * 1_000_000, pa.duration("us"))
        self.start = pa.scalar(self.reference.start, pa.timestamp("us", tz="UTC"))
        fields = self.reference.fields
        struct = msgspec.defstruct(f"{category.name}_event",
                                   [(f.name, _STRUCT_TYPES[f.type] | None, None) for f in fields], gc=False)
        self.decoder = msgspec.json.Decoder(struct)
        self.json_options = pajson.ParseOptions(
            explicit_schema=pa.schema([(f.name, _JSON_TYPES[f.type]) for f in fields]),
            unexpected_field_behavior="ignore")
        self.schema = to_arrow(category.cleaned_schema)
        self.sent_by = pa.array(sorted(f"{e.name}/{role}" for e in category.event_types for role in e.roles))

    def __call__(self, raw: pa.Table) -> Validated:
        values = raw.column("value").to_pylist()
        proven, rows = [], []
        for index, parsed in self._parsed_pieces(values):
            lineage = raw.select(["topic", "partition", "offset", "kafka_timestamp"])
            # Usually every record decodes: the piece's rows are then a slice, which costs nothing to take.
            contiguous = index[-1] - index[0] + 1 == len(index)
            lineage = lineage.slice(index[0], len(index)) if contiguous else lineage.take(index)
            event_time = self._event_time(parsed.column("timestamp"))
            valid = pc.invert(self._unproven(parsed, event_time, lineage.column("kafka_timestamp")))
            proven.append(index[valid.to_numpy(zero_copy_only=False)])
            rows.append(self._rows(parsed, event_time, lineage).filter(valid))
        unproven = np.ones(len(values), bool)
        for index in proven:
            unproven[index] = False
        slow_index, slow, quarantined = self._judge(raw, values, np.flatnonzero(unproven).tolist())
        staged = pa.concat_tables([*rows, pa.Table.from_pylist(slow, schema=self.schema.append(_DAY_FIELD))])
        if slow:  # raw order, as the single-record path wrote them (the proven rows are in it already)
            staged = staged.take(np.argsort(np.concatenate([*proven, np.array(slow_index, np.int64)]), kind="stable"))
        return Validated(staged, pa.Table.from_pylist(quarantined, schema=QUARANTINE_ARROW.append(_DAY_FIELD)))

    def _parsed_pieces(self, values: list[bytes | None]) -> list[tuple[np.ndarray, pa.Table]]:
        """The records msgspec accepts, parsed into columns by Arrow, as (row numbers, columns) pieces."""
        decode, candidates = self.decoder.decode, []
        for i, value in enumerate(values):
            # A line break would split the record in Arrow's line-delimited reader.
            if value is not None and b"\n" not in value:
                try:
                    decode(value)
                except (msgspec.MsgspecError, RecursionError):  # left to `Validator`, which says why
                    continue
                candidates.append(i)
        pieces = []
        for start in range(0, len(candidates), _CHUNK):
            chunk = candidates[start:start + _CHUNK]
            index = np.array(chunk, np.int64)
            lines = b"\n".join([values[i] for i in chunk])  # Python ints: a list looks them up faster
            if not _is_utf8(lines):  # msgspec skips the keys it does not know without decoding them
                index = np.array([i for i in index if _is_utf8(values[i])], np.int64)
                lines = b"\n".join(values[i] for i in index)
            pieces += self._parse(values, index, lines)
        return pieces

    def _judge(self, raw: pa.Table, values: list[bytes | None],
               rows: list[int]) -> tuple[list[int], list[dict], list[dict]]:
        """`Validator`'s verdicts on the given rows: (rows found valid, their staged rows, the quarantine rows)."""
        kafka_times = raw.column("kafka_timestamp")
        valid, staged, quarantined = [], [], []
        for i in rows:
            verdict = self.reference(values[i], kafka_times[i].as_py())
            coordinates = {"kafka_topic": raw.column("topic")[i].as_py(),
                           "kafka_partition": raw.column("partition")[i].as_py(),
                           "kafka_offset": raw.column("offset")[i].as_py(), "kafka_timestamp": kafka_times[i].as_py()}
            if verdict.reason is None:
                valid.append(i)
                staged.append(verdict.row | coordinates | {DAY: verdict.day})
            else:
                key = raw.column("key")[i].as_py()
                quarantined.append(coordinates | {
                    "kafka_key": key.decode("utf-8", "replace") if key is not None else None,
                    "value": values[i].decode("utf-8", "replace") if values[i] is not None else None,
                    "reason": verdict.reason.value, "reason_detail": verdict.detail,
                    "dated_by_event": verdict.dated_by_event, DAY: verdict.day,
                })
        return valid, staged, quarantined

    def _parse(self, values: list[bytes], index: np.ndarray, lines: bytes) -> list[tuple[np.ndarray, pa.Table]]:
        """The records at `index` as columns, in pieces: a piece Arrow refuses (a key given twice, which json.loads
        and msgspec accept) is halved until the records it refuses are alone, and left to `Validator`."""
        if not len(index):
            return []
        try:
            parsed = pajson.read_json(pa.BufferReader(lines), parse_options=self.json_options)
            if parsed.num_rows == len(index):
                return [(index, parsed)]
        except pa.ArrowInvalid:
            pass
        if len(index) == 1:
            return []
        pieces = np.array_split(index, 2)
        return [part for piece in pieces for part in self._parse(values, piece, b"\n".join(values[i] for i in piece))]

    def _event_time(self, text: pa.ChunkedArray) -> pa.ChunkedArray:
        """The UTC instant of each plain timestamp (`_PLAIN_TIMESTAMP`), null for any other text."""
        plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_TIMESTAMP), False)
        text = pc.if_else(plain, text, "2000-01-01 00:00:00")  # the others are left null below: parse a stand-in
        wall = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 19), "T", " ")
        naive = pc.strptime(wall, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
        # Arrow rolls an impossible time over (Feb 30 -> Mar 2, 10:59:60 -> 11:00:00) where Python refuses it: the
        # day and the second must be the ones written.
        exact = pc.fill_null(pc.and_(
            pc.equal(pc.day(naive), pc.utf8_slice_codeunits(text, 8, 10).cast(pa.int64())),
            pc.equal(pc.second(naive), pc.utf8_slice_codeunits(text, 17, 19).cast(pa.int64()))), False)
        offset = pc.coalesce(
            pc.strptime(text, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True),
            pc.strptime(text, format="%Y-%m-%d %H:%M:%S%z", unit="us", error_is_null=True))
        # A bare time is in the source zone; one that a clock change makes ambiguous or skips is left to Python.
        utc = pa.timestamp("us", tz="UTC")
        earliest, latest = (pc.assume_timezone(naive, self.zone, ambiguous=way, nonexistent=way).cast(utc)
                            for way in ("earliest", "latest"))
        unknown = pa.scalar(None, utc)
        local = pc.if_else(pc.fill_null(pc.equal(earliest, latest), False), earliest, unknown)
        when = pc.if_else(pc.equal(pc.utf8_length(text), 19), local, offset.cast(utc))
        return pc.if_else(pc.and_(plain, exact), when, unknown)

    def _unproven(self, parsed: pa.Table, event_time: pa.ChunkedArray, kafka_time: pa.ChunkedArray) -> pa.ChunkedArray:
        """True where any rule fails, or where the vector checks cannot tell (then `Validator` decides)."""
        def where(condition):  # a condition on a null value does not fail by itself
            return pc.fill_null(condition, False)

        def outside(value, allowed):  # a value not among the allowed ones; null is not a value
            return pc.and_(pc.is_valid(value), pc.invert(pc.is_in(value, allowed)))

        column, event_type = parsed.column, parsed.column("event_type")
        failed = [pc.is_null(column(name)) for name in REQUIRED_ENVELOPE]
        failed.append(where(pc.not_equal(column("event_category"), self.category.upper)))
        failed.append(pc.invert(pc.is_in(event_type, pa.array(list(self.reference.required)))))
        for name, required in self.reference.required.items():
            if required:
                missing = reduce(pc.or_, [pc.is_null(column(f.name)) for f in required])
                failed.append(where(pc.and_(pc.equal(event_type, name), missing)))
        failed.append(pc.is_null(event_time))
        failed.append(where(pc.greater(event_time, pc.add(kafka_time.cast(event_time.type), self.tolerance))))
        failed.append(where(pc.less(event_time, self.start)))
        event_id = column("event_id")  # none: the id derived from the record's bytes is left to `Validator`
        failed.append(pc.invert(where(pc.match_substring_regex(event_id, _ANCHORED_UUID))))
        for field in self.reference.ruled:
            value = column(field.name)
            if field.minimum is not None:
                failed.append(where(pc.less(value, field.minimum)))
            if field.maximum is not None:
                failed.append(where(pc.greater(value, field.maximum)))
            if field.allowed is not None:
                failed.append(outside(value, pa.array(field.allowed)))
        sender = pc.binary_join_element_wise(event_type, column("role"), "/")  # null without a role: no rule
        failed.append(outside(sender, self.sent_by))
        return _any(failed)

    def _rows(self, parsed: pa.Table, event_time: pa.ChunkedArray, lineage: pa.Table) -> pa.Table:
        """The cleaned rows of parsed records, with the day each is filed under."""
        given = {"event_time": event_time, "kafka_topic": lineage.column("topic"),
                 "kafka_partition": lineage.column("partition"), "kafka_offset": lineage.column("offset"),
                 "kafka_timestamp": lineage.column("kafka_timestamp").cast(pa.timestamp("us", tz="UTC"))}
        columns = [given[f.name] if f.name in given else parsed.column(f.name) for f in self.schema]
        day = event_time.cast(pa.date32()).cast(pa.string())  # the UTC day: event_time is in UTC
        return pa.Table.from_arrays([*columns, day], schema=self.schema.append(_DAY_FIELD))


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


def stage_category(lake: Lake, name: str, paths: list[str], batch: str,
                   rules: ValidationRules) -> dict[tuple[str, str, str | None], int]:
    """Validate a category's raw objects of a batch, write its staged and quarantined records per day, and count
    them per (category, day, reason); reason None = staged."""
    counts: dict[tuple[str, str, str | None], int] = defaultdict(int)
    raws = [pq.read_table(path, filesystem=lake.filesystem) for path in paths]
    validated = BatchValidator(CATEGORY_BY_NAME[name], rules)(pa.concat_tables(raws))
    for day, rows in _by_day(validated.staged):
        lake.write_parquet(rows, *batch_parts(STAGED_ZONE, name, day, batch))
        counts[(name, day, None)] = rows.num_rows
    for day, rows in _by_day(validated.quarantined):
        lake.write_parquet(rows, *batch_parts(QUARANTINE_ZONE, name, day, batch))
        for reason, n in zip(*pc.value_counts(rows.column("reason")).flatten()):
            counts[(name, day, reason.as_py())] += n.as_py()
    return counts


def stage_batch(lake: Lake, raw_paths: list[str], batch: str, rules: ValidationRules,
                threads: int | None = None) -> StageCounts:
    """Validate the raw objects of one landing batch; write staged and quarantined records per category and day;
    count them. Categories are validated on `threads` threads at once (one per core by default), the largest
    first: much of the work is in Arrow, which runs outside the GIL, and threads cost nothing to start (worker
    processes took longer to start than they saved)."""
    paths: dict[str, list[str]] = defaultdict(list)
    for path in raw_paths:
        paths[CATEGORY_BY_TOPIC[OffsetRange.from_file_name(path).topic].name].append(path)
    sizes = {name: sum(pq.ParquetFile(p, filesystem=lake.filesystem).metadata.num_rows for p in category_paths)
             for name, category_paths in paths.items()}
    with ThreadPoolExecutor(threads or os.cpu_count() or 1) as pool:
        results = pool.map(lambda name: stage_category(lake, name, paths[name], batch, rules),
                           sorted(paths, key=sizes.get, reverse=True))
        return StageCounts({key: n for counts in results for key, n in counts.items()})


def _by_day(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """The rows of each day, without the `day` column."""
    days = sorted(pc.unique(table.column(DAY)).to_pylist())
    return [(day, table.filter(pc.equal(table.column(DAY), day)).drop_columns([DAY])) for day in days]


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
