"""Interaction streams (movie ratings, course enrolments): Kafka offset ranges → raw → parsed + quarantine.

The same exactly-once landing as the learning events (`pipeline.events.landing`), into
`raw/streams/<topic>/date=<landing day>/<range>.parquet`. Each landed range is then parsed record by record in
plain Python (a batch is small; Spark's start-up would dominate): good records go to
`staged/streams/<topic>/<range>.parquet`, bad ones to `quarantine/streams/<topic>/<range>.parquet` with a
reason. Both are named after the range, so a retried run overwrites instead of duplicating.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline.events.landing import OffsetRange, land_ranges
from pipeline.lake import Lake

RAW_ZONE = ("raw", "streams")
STAGED_ZONE = ("staged", "streams")
QUARANTINE_ZONE = ("quarantine", "streams")
QUARANTINE_SCHEMA = pa.schema([
    ("topic", pa.string()), ("partition", pa.int32()), ("offset", pa.int64()), ("key", pa.binary()),
    ("value", pa.binary()), ("reason", pa.string()), ("detail", pa.string()),
])

# parse(key, value, kafka timestamp in ms) -> (record, None, "") or (None, reason, detail); never raises.
Parser = Callable[[bytes | None, bytes | None, int | None], tuple[dict | None, str | None, str]]


@dataclass(frozen=True)
class InteractionStream:
    topic: str
    parse: Parser
    schema: pa.Schema  # of the parsed records
    user_field: str  # the field that names the user, for re-scoring

    def staged(self, lake: Lake) -> ds.Dataset | None:
        return lake.dataset(*STAGED_ZONE, self.topic)


@dataclass(frozen=True)
class StreamBatch:
    records: int
    parsed: int
    quarantined: dict[str, int]  # reason -> records
    users: list  # users with at least one parsed record, sorted

    @property
    def reconciles(self) -> bool:
        return self.records == self.parsed + sum(self.quarantined.values())


def parse_range(stream: InteractionStream, raw: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(parsed records, quarantined records) of one landed range."""
    good, bad = [], []
    columns = raw.to_pydict()
    timestamps = raw.column("kafka_timestamp").cast(pa.int64()).to_pylist()
    for i, (key, value) in enumerate(zip(columns["key"], columns["value"], strict=True)):
        record, reason, detail = stream.parse(key, value, timestamps[i])
        if record is None:
            bad.append({"topic": columns["topic"][i], "partition": columns["partition"][i],
                        "offset": columns["offset"][i], "key": key, "value": value, "reason": reason,
                        "detail": detail})
        else:
            good.append(record)
    return (pa.Table.from_pylist(good, schema=stream.schema),
            pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA))


def land_and_parse(kafka_config: dict[str, str], lake: Lake, stream: InteractionStream,
                   ranges: Iterable[OffsetRange], ingest_date: str,
                   progress: Callable[[str], None] | None = None) -> StreamBatch:
    landed = land_ranges(kafka_config, lake, ranges, ingest_date, progress, zone=RAW_ZONE)
    records = parsed = 0
    reasons: Counter[str] = Counter()
    users: set = set()
    for item in landed:
        good, bad = parse_range(stream, pq.read_table(item.path, filesystem=lake.filesystem))
        lake.write_parquet(good, *STAGED_ZONE, stream.topic, item.range.file_name)
        lake.write_parquet(bad, *QUARANTINE_ZONE, stream.topic, item.range.file_name)
        records += item.rows
        parsed += good.num_rows
        reasons.update(bad.column("reason").to_pylist())
        users.update(good.column(stream.user_field).to_pylist())
    return StreamBatch(records, parsed, dict(sorted(reasons.items())), sorted(users))


def read_staged(lake: Lake, stream: InteractionStream, ranges: Iterable[OffsetRange],
                columns: list[str] | None = None) -> pa.Table:
    """The parsed records of these landed ranges, in range order."""
    tables = [pq.read_table(lake.path(*STAGED_ZONE, stream.topic, rng.file_name), columns=columns,
                            filesystem=lake.filesystem) for rng in ranges]
    schema = stream.schema if columns is None else pa.schema([stream.schema.field(c) for c in columns])
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()
