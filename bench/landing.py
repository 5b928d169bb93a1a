"""Benchmark: the Kafka → Parquet landing path against a bare confluent-kafka consume of the same messages.

    python bench/landing.py [--events 1000000] [--rounds 2] [--workers 2]

Starts the local services if needed, produces the events, then times, in this process and over the same
offset ranges (--rounds times each, the best reported): (1) a bare consume that touches each message's
value, and (2) `land_ranges`, which also reads key, offset and timestamp and writes one Parquet object per
range. Then (3) the same events copied into one topic of 12 partitions, landed by one process and by
--workers processes over disjoint partitions (`land_ranges(..., workers=N)`, what LANDING_WORKERS sets).
Targets (issue 2): landing >= 50% of the bare consume rate, and >= 50,000 events/s; (issue 18) 2 workers
>= 1.6 times the single process's rate on 2 cores.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone

from confluent_kafka import KafkaError, Message, Producer, TopicPartition

from common import arguments
from pipeline import services
from pipeline.events.catalogue import TOPICS
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import OffsetRange, land_ranges
from pipeline.events.producer import produce
from pipeline.kafka import client_config, ensure_topics, probe_consumer, watermarks
from pipeline.lake import Lake
from pipeline.settings import get_settings


def messages(config: dict[str, str], ranges: list[OffsetRange]) -> Iterator[Message]:
    """Every message of the ranges, range after range, with a probe consumer."""
    consumer = probe_consumer(config)
    try:
        for rng in ranges:
            consumer.assign([TopicPartition(rng.topic, rng.partition, rng.start)])
            position = rng.start
            while position < rng.end:
                for message in consumer.consume(num_messages=min(100_000, rng.end - position), timeout=1.0):
                    if message.error() is not None:
                        if message.error().code() == KafkaError._PARTITION_EOF:
                            continue
                        raise RuntimeError(message.error())
                    yield message
                    position = message.offset() + 1
            consumer.unassign()
    finally:
        consumer.close()


def bare_consume(config: dict[str, str], ranges: list[OffsetRange]) -> int:
    """Read every message of the ranges and touch its value: the floor any landing pays."""
    return sum(len(message.value()) for message in messages(config, ranges))


SPLIT_TOPIC, SPLIT_PARTITIONS = "bench_landing_12", 12


def copy_to_split_topic(config: dict[str, str], ranges: list[OffsetRange]) -> list[OffsetRange]:
    """The messages of `ranges` produced again, round robin, into SPLIT_TOPIC; its new offset ranges."""
    ensure_topics(config, [(SPLIT_TOPIC, SPLIT_PARTITIONS, {})])
    before = watermarks(config, [SPLIT_TOPIC])
    producer = Producer({**config, "linger.ms": 20, "batch.size": 1_000_000, "compression.type": "lz4",
                         "queue.buffering.max.messages": 1_000_000})
    for sent, message in enumerate(messages(config, ranges)):
        while True:
            try:
                producer.produce(SPLIT_TOPIC, message.value(), message.key(), partition=sent % SPLIT_PARTITIONS)
                break
            except BufferError:  # local queue full: let librdkafka drain it
                producer.poll(0.1)
    assert producer.flush(120) == 0
    after = watermarks(config, [SPLIT_TOPIC])
    return [OffsetRange(t, p, before.get((t, p), (0, 0))[1], high) for (t, p), (_, high) in sorted(after.items())]


def best_rate(config: dict[str, str], ranges: list[OffsetRange], rounds: int, workers: int) -> list[float]:
    events, rates = sum(len(r) for r in ranges), []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            landed = land_ranges(config, Lake(folder), ranges, "2026-01-01", workers=workers)
            rates.append(events / (time.perf_counter() - started))
            assert sum(r.rows for r in landed) == events, "landing lost or duplicated records"
    return rates


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each path (best is reported)")
    parser.add_argument("--workers", type=int, default=2, help="landing processes of the split run")
    args = parser.parse_args()

    settings = get_settings()
    services.up(progress=lambda message: None)
    config = client_config(settings)
    before = watermarks(config, TOPICS)
    print(f"producing {args.events:,} events ...", flush=True)
    report = produce(config, EventGenerator(seed=99, days=1).generate(args.events), args.events, progress=None)
    print(f"  {report.summary()}")
    after = watermarks(config, TOPICS)
    ranges = [OffsetRange(t, p, before.get((t, p), (0, 0))[1], high)
              for (t, p), (_, high) in sorted(after.items()) if high > before.get((t, p), (0, 0))[1]]
    events = sum(len(r) for r in ranges)

    bare_consume(config, ranges[:1])  # warm-up: connections, metadata
    bare, landing = [], []
    with tempfile.TemporaryDirectory() as folder:
        lake = Lake(folder)
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        for _ in range(args.rounds):
            started = time.perf_counter()
            bare_consume(config, ranges)
            bare.append(events / (time.perf_counter() - started))
            started = time.perf_counter()
            landed = land_ranges(config, lake, ranges, today)
            landing.append(events / (time.perf_counter() - started))
            assert sum(r.rows for r in landed) == events, "landing lost or duplicated records"
    ratio = max(landing) / max(bare)
    print(f"\nlanding benchmark: {events:,} events in {len(ranges)} offset ranges, best of {args.rounds} rounds")
    print(f"  bare confluent-kafka consume : {max(bare):>12,.0f} events/s   (rounds: {', '.join(f'{x:,.0f}' for x in bare)})")
    print(f"  landing to Parquet           : {max(landing):>12,.0f} events/s   (rounds: {', '.join(f'{x:,.0f}' for x in landing)})")
    print(f"  ratio landing / bare         : {ratio:>12.2f}   target >= 0.50 {'OK' if ratio >= 0.5 else 'MISSED'}")
    print(f"  landing rate                 : {max(landing):>12,.0f}   target >= 50,000 events/s "
          f"{'OK' if max(landing) >= 50_000 else 'MISSED'}")


    print(f"\ncopying the events into {SPLIT_TOPIC} ({SPLIT_PARTITIONS} partitions) ...", flush=True)
    split = copy_to_split_topic(config, ranges)
    one = best_rate(config, split, args.rounds, workers=1)
    several = best_rate(config, split, args.rounds, workers=args.workers)
    gain = max(several) / max(one)
    print(f"landing split over partitions: {sum(len(r) for r in split):,} events in {len(split)} partitions")
    print(f"  1 process                    : {max(one):>12,.0f} events/s   (rounds: {', '.join(f'{x:,.0f}' for x in one)})")
    print(f"  {args.workers} worker processes           : {max(several):>12,.0f} events/s   "
          f"(rounds: {', '.join(f'{x:,.0f}' for x in several)})")
    print(f"  ratio workers / 1 process    : {gain:>12.2f}   target >= 1.6 {'OK' if gain >= 1.6 else 'MISSED'}")


if __name__ == "__main__":
    main()
