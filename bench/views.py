"""Benchmark: the 41 views on one day of 1,000,000 events, and adding a day to a 7-day history.

    python bench/views.py [--events 1000000]

Events come from the generator and are written to the raw zone as the landing would write them (Kafka is
not what is measured here), validated, cleaned, then every view is materialised as its asset does it
(the Spark write, then the counts its checks use). Prints per-view and total seconds.
Targets (issue 3): all views for one day in at most 60 s; adding an 8th day to a 7-day history at most
1/3 of the time of recomputing all 7 days.

The same two steps are then timed on a history of a few thousand events over the same days: what is left is
Spark's cost per materialisation (planning, code generation, stage scheduling, committing the write),
which no incremental algorithm removes. Adding a day on that tiny history, divided by the full recompute,
is the lowest ratio this one-asset-per-view layout can reach at this scale.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from common import arguments
from pipeline.events.catalogue import CATEGORIES
from pipeline.events.cleaning import clean_partition
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import RAW_SCHEMA, OffsetRange, raw_parts
from pipeline.events.validation import ValidationRules, stage_batch
from pipeline.lake import Lake
from pipeline.views.materialize import materialize_view
from pipeline.views.registry import all_views
from resources import SparkResource

FIXED_COST_EVENTS = 7_000  # about 1,000 a day: every view has rows, and reading them costs next to nothing


def land_and_clean(spark, lake: Lake, count: int, days: float, end: datetime, seed: int, batch: str) -> list[str]:
    """Generate, write raw objects, stage and clean; return the event days."""
    records = list(EventGenerator(seed=seed, days=days, end=end).generate(count))
    paths = []
    for category in CATEGORIES:
        mine = [r for r in records if r.topic == category.topic]
        table = pa.table({"value": [r.value for r in mine], "key": [r.key for r in mine],
                          "topic": [category.topic] * len(mine), "partition": pa.array([0] * len(mine), pa.int32()),
                          "offset": list(range(len(mine))), "kafka_timestamp": [end] * len(mine)}, schema=RAW_SCHEMA)
        rng = OffsetRange(category.topic, 0, 0, len(mine))
        paths.append(lake.write_parquet(table, *raw_parts(rng, end.strftime("%Y-%m-%d"))))
    counts = stage_batch(lake, paths, batch, ValidationRules(start_date="2020-01-01"))
    days_touched = sorted({d for _, d in counts.touched})
    for day in days_touched:
        for category in CATEGORIES:
            clean_partition(lake, category, day)
    return days_touched


def time_views(spark, lake: Lake, days: list[str]) -> dict[str, float]:
    seconds = {}
    for view in all_views():
        started = time.perf_counter()
        for day in days if view.date_keyed else [None]:
            materialize_view(spark, lake, view, day)
        seconds[view.name] = time.perf_counter() - started
    return seconds


def add_a_day(spark, lake: Lake, events: int, end: datetime) -> tuple[float, float, str]:
    """Seconds to recompute every view on 7 days of `events`, then to add an 8th day of events / 7."""
    days = land_and_clean(spark, lake, events, 6.99, end - timedelta(days=1), seed=2, batch="seven-days")
    started = time.perf_counter()
    time_views(spark, lake, days)
    recompute_all = time.perf_counter() - started
    new_day = land_and_clean(spark, lake, events // 7, 0.99, end, seed=3, batch="eighth-day")
    started = time.perf_counter()
    time_views(spark, lake, new_day)
    return recompute_all, time.perf_counter() - started, new_day[-1]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    spark = SparkResource(master="local[*]").get_session()
    end = datetime.now(timezone.utc).replace(hour=23, minute=59, second=0, microsecond=0) - timedelta(days=1)

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake(folder)
        started = time.perf_counter()
        # One UTC day: events between 00:00 and 23:59 of `end`'s day.
        days = land_and_clean(spark, lake, args.events, 0.99, end, seed=1, batch="one-day")
        print(f"one day: {args.events:,} events generated, validated and cleaned in "
              f"{time.perf_counter() - started:.0f}s ({', '.join(days)})")
        time_views(spark, lake, days)  # warm-up: JIT and code generation, as a long-lived code server has
        seconds = time_views(spark, lake, days)
        for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<42} {s:6.2f}s")
        total = sum(seconds.values())
        print(f"all {len(seconds)} views, one day of {args.events:,} events: {total:.1f}s "
              f"(target <= 60 s: {'OK' if total <= 60 else 'MISSED'})")

    with tempfile.TemporaryDirectory() as folder:
        recompute_all, add_one, new_day = add_a_day(spark, Lake(folder), args.events, end)
    ratio = add_one / recompute_all
    print(f"\n7-day history ({args.events:,} events): recompute everything {recompute_all:.1f}s; "
          f"add day {new_day} ({args.events // 7:,} events): {add_one:.1f}s; ratio {ratio:.2f} "
          f"(target <= 0.33: {'OK' if ratio <= 1 / 3 else 'MISSED'})")

    with tempfile.TemporaryDirectory() as folder:
        tiny_all, tiny_one, _ = add_a_day(spark, Lake(folder), FIXED_COST_EVENTS, end)
    print(f"the same on {FIXED_COST_EVENTS:,} events (Spark's fixed cost per materialisation): recompute "
          f"{tiny_all:.1f}s, add a day {tiny_one:.1f}s; adding a day costs at least {tiny_one / recompute_all:.2f} "
          f"of the full recompute above before any of its data is read")


if __name__ == "__main__":
    main()
