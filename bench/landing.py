"""Benchmark: the Kafka → Parquet landing path against a bare confluent-kafka consume of the same messages.

    python bench/landing.py [--events 1000000] [--rounds 2]

Starts the local services if needed, produces the events, then times, in this process and over the same
offset ranges (--rounds times each, the best reported): (1) a bare consume that touches each message's
value, and (2) `land_ranges`, which also reads key, offset and timestamp and writes one Parquet object per
range.
Targets (issue 2): landing >= 50% of the bare consume rate, and >= 50,000 events/s.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone

from confluent_kafka import KafkaError, TopicPartition

from common import arguments
from pipeline import services
from pipeline.events.catalogue import TOPICS
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import OffsetRange, land_ranges
from pipeline.events.producer import produce
from pipeline.kafka import client_config, probe_consumer, watermarks
from pipeline.lake import Lake
from pipeline.settings import get_settings


def bare_consume(config: dict[str, str], ranges: list[OffsetRange]) -> int:
    """Read every message of the ranges and touch its value: the floor any landing pays."""
    consumer, total = probe_consumer(config), 0
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
                    total += len(message.value())
                    position = message.offset() + 1
            consumer.unassign()
    finally:
        consumer.close()
    return total


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each path (best is reported)")
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


if __name__ == "__main__":
    main()
