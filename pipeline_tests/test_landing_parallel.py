"""Landing split over topic-partitions, in a real Kafka: the same events land exactly once whether one process
lands a batch, worker processes share its partitions, or several landings of it run at once (a retry racing
the run it retries). The reference is what the producer's delivery reports say was stored where."""

from __future__ import annotations

import threading
from collections import Counter

import pyarrow.dataset as ds
import pytest
from confluent_kafka import Producer

from pipeline.events import landing
from pipeline.events.landing import OffsetRange, land_ranges, partition_groups
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline_tests.topics import recreate_topics

TOPIC, PARTITIONS, EVENTS = "landing_split_test", 6, 3000


@pytest.fixture(scope="module")
def produced(services):
    """EVENTS records spread unevenly over the partitions; {(partition, offset): value} as delivered."""
    config = client_config(services)
    recreate_topics(config, [(TOPIC, PARTITIONS, {})])
    delivered: dict[tuple[int, int], bytes] = {}

    def stored(error, message):
        assert error is None, error
        delivered[(message.partition(), message.offset())] = message.value()

    producer = Producer(config)
    for i in range(EVENTS):
        producer.produce(TOPIC, f"event {i}".encode(), key=str(i).encode(), partition=(i * i) % PARTITIONS,
                         on_delivery=stored)
        producer.poll(0)
    assert producer.flush(30) == 0 and len(delivered) == EVENTS
    ends = Counter(partition for partition, _ in delivered)
    # Two ranges for one partition: a batch holding the next range of a partition already in it.
    ranges = [OffsetRange(TOPIC, p, 0, n) for p, n in sorted(ends.items()) if p != 0]
    ranges += [OffsetRange(TOPIC, 0, 0, ends[0] // 2), OffsetRange(TOPIC, 0, ends[0] // 2, ends[0])]
    return config, ranges, delivered


def landed(lake: Lake) -> tuple[Counter, list[str]]:
    """Every landed record as (partition, offset, value), counted; and the object names."""
    files = lake.list_files("raw")
    table = ds.dataset(files, format="parquet").to_table(columns=["partition", "offset", "value"])
    rows = zip(*(table.column(c).to_pylist() for c in ("partition", "offset", "value")), strict=True)
    return Counter(rows), sorted(path.rsplit("/", 1)[-1] for path in files)


def expected(delivered: dict[tuple[int, int], bytes]) -> Counter:
    return Counter((partition, offset, value) for (partition, offset), value in delivered.items())


def test_workers_land_the_same_objects_as_one_process(produced, tmp_path, monkeypatch):
    config, ranges, delivered = produced
    monkeypatch.setattr(landing, "PARALLEL_FROM_EVENTS", 0)  # a small batch, split all the same
    alone, shared = Lake(str(tmp_path / "one")), Lake(str(tmp_path / "three"))
    land_ranges(config, alone, ranges, "2026-12-02", workers=1)
    reports = land_ranges(config, shared, ranges, "2026-12-02", workers=3)
    assert sorted(r.range for r in reports) == sorted(ranges) and sum(r.rows for r in reports) == EVENTS
    assert landed(alone) == landed(shared)
    assert landed(shared)[0] == expected(delivered)


def test_landings_of_one_batch_running_at_once_leave_each_event_once(produced, tmp_path, monkeypatch):
    config, ranges, delivered = produced
    monkeypatch.setattr(landing, "PARALLEL_FROM_EVENTS", 0)
    lake = Lake(str(tmp_path / "lake"))
    runs = [threading.Thread(target=land_ranges, args=(config, lake, ranges, "2026-12-02"), kwargs={"workers": w})
            for w in (1, 2, 3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(120)
    rows, names = landed(lake)
    assert rows == expected(delivered) and len(names) == len(ranges)  # every object once, every event once


def test_partition_groups_are_disjoint_whole_partitions_of_about_equal_events():
    ranges = [OffsetRange("t", p, 0, n) for p, n in enumerate([900, 100, 400, 400, 300, 50])]
    ranges.append(OffsetRange("t", 0, 900, 1000))  # partition 0's next range: stays with its first
    groups = partition_groups(ranges, 2)
    assert sorted(r for g in groups for r in g) == sorted(ranges)
    owners = {(r.topic, r.partition): i for i, g in enumerate(groups) for r in g}
    assert all(owners[(r.topic, r.partition)] == i for i, g in enumerate(groups) for r in g)
    # By hand: 1000 (p0) | 400 (p2), 400 (p3), 300 (p4) -> 1100; then 100 (p1) -> p0's 1100; 50 (p5) -> 1150 | 1100.
    assert sorted(sum(map(len, g)) for g in groups) == [1100, 1150]
    assert partition_groups(ranges[:1], 4) == [[ranges[0]]]  # never more groups than partitions
