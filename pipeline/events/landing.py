"""Exactly-once landing of Kafka offset ranges into the raw zone.

The sensor plans half-open offset ranges [start, end) per topic-partition; the landing reads exactly
those offsets with `assign()` (no consumer group, no commits) and writes one Parquet object per range
under a name derived from the range. A re-run writes the same names, so it overwrites and never
duplicates; a range that was planned but never landed shows up as a gap (`find_gaps`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
from confluent_kafka import KafkaError, TopicPartition

from pipeline.kafka import probe_consumer
from pipeline.lake import Lake

RAW_SCHEMA = pa.schema(
    [
        pa.field("value", pa.binary()),
        pa.field("key", pa.binary()),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("kafka_timestamp", pa.timestamp("ms", tz="UTC")),
    ]
)
RAW_EVENTS_ZONE = ("raw", "events")
_FILE_NAME = re.compile(r"^(?P<topic>.+)-(?P<partition>\d+)-(?P<start>\d{12})-(?P<end>\d{12})\.parquet$")


@dataclass(frozen=True, order=True)
class OffsetRange:
    """Offsets [start, end) of one topic-partition."""

    topic: str
    partition: int
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def file_name(self) -> str:
        return f"{self.topic}-{self.partition}-{self.start:012d}-{self.end:012d}.parquet"

    @classmethod
    def from_file_name(cls, name: str) -> OffsetRange | None:
        match = _FILE_NAME.match(name.rsplit("/", 1)[-1])
        if match is None:
            return None
        return cls(match["topic"], int(match["partition"]), int(match["start"]), int(match["end"]))

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.start}-{self.end}"


def batch_id(ranges: Iterable[OffsetRange]) -> str:
    """A short stable id of a set of ranges: the sensor's run key and the name of the batch's staged output."""
    text = ",".join(str(r) for r in sorted(ranges))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def plan_batches(
    next_offsets: Mapping[tuple[str, int], int],
    end_offsets: Mapping[tuple[str, int], int],
    max_events_per_batch: int,
) -> list[list[OffsetRange]]:
    """Cut everything between `next_offsets` and `end_offsets` into batches of at most `max_events_per_batch`.

    A topic-partition with more pending events than the limit is split into several consecutive ranges,
    each in its own batch, so no batch exceeds the limit and ranges stay contiguous.
    """
    batches: list[list[OffsetRange]] = [[]]
    room = max_events_per_batch
    for key in sorted(end_offsets):
        start, end = next_offsets.get(key, 0), end_offsets[key]
        while start < end:
            if room == 0:
                batches.append([])
                room = max_events_per_batch
            stop = min(end, start + room)
            batches[-1].append(OffsetRange(key[0], key[1], start, stop))
            room -= stop - start
            start = stop
    return [b for b in batches if b]


def raw_parts(rng: OffsetRange, ingest_date: str, zone: tuple[str, ...] = RAW_EVENTS_ZONE) -> tuple[str, ...]:
    return (*zone, rng.topic, f"date={ingest_date}", rng.file_name)


class RangeReadError(RuntimeError):
    pass


def read_ranges(consumer, ranges: list[OffsetRange], idle_timeout: float = 30.0) -> list[pa.Table]:
    """Read exactly the offsets of each range (at most one range per topic-partition) from an already created
    consumer, all partitions at once: librdkafka fetches them concurrently while this loop files the messages."""
    by_partition = {(r.topic, r.partition): r for r in ranges}
    if len(by_partition) != len(ranges):
        raise ValueError("read_ranges takes at most one range per topic-partition")
    columns = {key: ([], [], [], []) for key in by_partition}  # values, keys, offsets, timestamps
    pending = {key for key, r in by_partition.items() if len(r)}
    consumer.assign([TopicPartition(r.topic, r.partition, r.start) for r in ranges if len(r)])
    deadline = time.monotonic() + idle_timeout
    try:
        # Offsets may have holes (compaction, transaction markers): stop on the position, never on a count.
        while pending:
            messages = consumer.consume(num_messages=100_000, timeout=1.0)
            if not messages and time.monotonic() > deadline:
                stuck = ", ".join(str(by_partition[key]) for key in sorted(pending))
                raise RangeReadError(f"no progress reading {stuck} for {idle_timeout:.0f}s")
            for message in messages:
                key, error = (message.topic(), message.partition()), message.error()
                if key not in pending:
                    continue  # past its range's end: what the fetcher read ahead
                rng = by_partition[key]
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise RangeReadError(f"{rng}: {error}")
                    if message.offset() < rng.end:
                        raise RangeReadError(f"{rng}: partition ends at offset {message.offset()}, before the range end")
                    pending.discard(key)
                    continue
                offset = message.offset()
                if offset >= rng.end:
                    pending.discard(key)
                    continue
                values, keys, offsets, timestamps = columns[key]
                values.append(message.value())
                keys.append(message.key())
                offsets.append(offset)
                timestamps.append(message.timestamp()[1])
                if offset == rng.end - 1:
                    pending.discard(key)
            if messages:
                deadline = time.monotonic() + idle_timeout
    finally:
        consumer.unassign()
    return [_raw_table(r, *columns[(r.topic, r.partition)]) for r in ranges]


def _raw_table(rng: OffsetRange, values: list, keys: list, offsets: list, timestamps: list) -> pa.Table:
    count = len(offsets)
    return pa.Table.from_arrays(
        [
            pa.array(values, pa.binary()),
            pa.array(keys, pa.binary()),
            pa.array([rng.topic] * count, pa.string()),
            pa.array([rng.partition] * count, pa.int32()),
            pa.array(offsets, pa.int64()),
            pa.array(timestamps, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        ],
        schema=RAW_SCHEMA,
    )


@dataclass(frozen=True)
class LandedRange:
    range: OffsetRange
    path: str
    rows: int


# A batch smaller than this lands in the run's own process: a worker costs about 0.6 s to start (a fresh
# interpreter importing pyarrow and the Kafka client), which one process at ~200,000 events/s makes up for
# only from ~300,000 events on (bench/landing.py).
PARALLEL_FROM_EVENTS = 500_000


def land_ranges(
    kafka_config: dict[str, str],
    lake: Lake,
    ranges: Iterable[OffsetRange],
    ingest_date: str,
    progress: Callable[[str], None] | None = None,
    zone: tuple[str, ...] = RAW_EVENTS_ZONE,
    workers: int = 1,
) -> list[LandedRange]:
    """Read each range and write it to `<zone>/<topic>/date=<ingest_date>/<range>.parquet` (overwrite); the zone
    is `raw/events` for the learning events.

    With `workers` > 1 and at least PARALLEL_FROM_EVENTS events, the topic-partitions are dealt into that many
    disjoint groups of about equal events, each landed by a process of its own with its own consumer (reading
    and filing messages is Python work: one process uses one core). Still exactly once: every range is written
    by one worker to the object its offsets name, and a partition's ranges stay in one worker, in order."""
    ranges = sorted(ranges)
    groups = partition_groups(ranges, workers) if sum(map(len, ranges)) >= PARALLEL_FROM_EVENTS else [ranges]
    if len(groups) < 2:
        return _land(kafka_config, lake, ranges, ingest_date, progress, zone)
    # spawn: the run's process has threads (Dagster's, librdkafka's) that a fork would copy mid-lock.
    with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_land, kafka_config, lake, group, ingest_date, None, zone) for group in groups]
        landed = [item for future in futures for item in future.result()]
    if progress:
        for item in landed:
            progress(f"landed {item.range} ({item.rows} records) -> {item.path}")
    return sorted(landed, key=lambda item: item.range)


def partition_groups(ranges: list[OffsetRange], workers: int) -> list[list[OffsetRange]]:
    """The ranges dealt into at most `workers` non-empty groups: all of a topic-partition's ranges in one group,
    the partitions with the most events first, each to the group with the fewest events so far."""
    by_partition: dict[tuple[str, int], list[OffsetRange]] = {}
    for rng in ranges:
        by_partition.setdefault((rng.topic, rng.partition), []).append(rng)
    groups: list[list[OffsetRange]] = [[] for _ in range(max(1, min(workers, len(by_partition))))]
    loads = [0] * len(groups)
    for key in sorted(by_partition, key=lambda k: (-sum(map(len, by_partition[k])), k)):
        lightest = loads.index(min(loads))
        groups[lightest] += by_partition[key]
        loads[lightest] += sum(map(len, by_partition[key]))
    return [sorted(group) for group in groups if group]


def _land(kafka_config: dict[str, str], lake: Lake, ranges: list[OffsetRange], ingest_date: str,
          progress: Callable[[str], None] | None, zone: tuple[str, ...]) -> list[LandedRange]:
    consumer = probe_consumer(kafka_config)
    landed = []
    try:
        for together in _one_range_per_partition(sorted(ranges)):
            for rng, table in zip(together, read_ranges(consumer, together)):
                path = lake.write_parquet(table, *raw_parts(rng, ingest_date, zone))
                landed.append(LandedRange(rng, path, table.num_rows))
                if progress:
                    progress(f"landed {rng} ({table.num_rows} records) -> {path}")
    finally:
        consumer.close()
    return landed


def _one_range_per_partition(ranges: list[OffsetRange]) -> list[list[OffsetRange]]:
    """Sorted ranges in rounds that each hold at most one range per topic-partition (a planned batch is one
    round: `plan_batches` puts a partition's next range in the next batch)."""
    rounds: list[list[OffsetRange]] = []
    seen: dict[tuple[str, int], int] = {}
    for rng in ranges:
        index = seen.get((rng.topic, rng.partition), -1) + 1
        seen[(rng.topic, rng.partition)] = index
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(rng)
    return rounds


def landing_days(lake: Lake, zone: tuple[str, ...] = RAW_EVENTS_ZONE) -> set[str]:
    """The UTC days on which a batch of any topic was landed into a raw zone (folder names only)."""
    return {folder.removeprefix("date=") for topic in lake.folders(*zone)
            for folder in lake.folders(*zone, topic) if folder.startswith("date=")}


def landed_ranges(lake: Lake, zone: tuple[str, ...] = RAW_EVENTS_ZONE) -> list[OffsetRange]:
    """Every range in a raw zone, read from the object names (the source of truth)."""
    found = (OffsetRange.from_file_name(p) for p in lake.list_files(*zone))
    return sorted(r for r in found if r is not None)


@dataclass(frozen=True)
class Gap:
    topic: str
    partition: int
    after: int  # end of the range before the gap
    next_start: int  # start of the range after it (< after for an overlap)

    def __str__(self) -> str:
        kind = "overlap" if self.next_start < self.after else "gap"
        return f"{self.topic}:{self.partition} {kind} between offsets {self.after} and {self.next_start}"


def find_gaps(ranges: Iterable[OffsetRange]) -> list[Gap]:
    """Holes or overlaps (a range landed twice included) between consecutive ranges of each topic-partition."""
    gaps, previous = [], None
    for rng in sorted(ranges):
        if previous and (previous.topic, previous.partition) == (rng.topic, rng.partition):
            if rng.start != previous.end:
                gaps.append(Gap(rng.topic, rng.partition, previous.end, rng.start))
        previous = rng
    return gaps
