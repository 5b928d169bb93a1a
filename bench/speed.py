"""Benchmark: the speed layer under a stream landed in many small batches, with and without compaction.

    python bench/speed.py [--batches 600] [--events-per-batch 200]

One day of a stream landed every 15 s: each batch stages --events-per-batch events (logins, video views and
course events of the 15 seconds after the previous batch) and `refresh_speed` adds it to the speed layer.
Timed in this process on two temporary lakes: first without compaction (the baseline: every batch reads every
earlier batch's object of the day), then with the default (earlier objects merged once a day holds more than
COMPACT_AFTER of them). Prints the mean seconds per batch over each tenth of the run and the ratio of the
last tenth, so the growth with the number of batches is visible. No service is needed.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from common import arguments
from pipeline.events.validation import STAGED_ZONE, batch_parts
from pipeline.lake import Lake
from pipeline.speed.layer import COMPACT_AFTER, refresh_speed

START = pd.Timestamp("2026-11-28 06:00", tz="UTC")
EVERY = pd.Timedelta(seconds=15)
TOLERANCE, RETENTION = pd.Timedelta(minutes=2), pd.Timedelta(hours=48)
COLUMNS = {"auth": [], "video": ["course_id", "video_id", "watch_duration_seconds"], "course": ["course_id"]}
TYPES = {"auth": "LOGIN", "video": "VIDEO_WATCHED", "course": "COURSE_VIEW"}


def stage_batch(lake: Lake, index: int, size: int, rng: np.random.Generator) -> str:
    """Stage one batch's events the way the landing does: one object per category."""
    batch = f"b{index:05d}"
    start = START + index * EVERY
    for category, columns in COLUMNS.items():
        n = size // len(COLUMNS)
        frame = pd.DataFrame({
            "event_id": [f"{batch}-{category}-{i}" for i in range(n)],
            "event_type": TYPES[category],
            "user_id": [f"u{u}" for u in rng.integers(0, 5_000, n)],
            "event_time": start + pd.to_timedelta(np.sort(rng.integers(0, 15_000, n)), unit="ms"),
            "course_id": [f"c{c}" for c in rng.integers(0, 50, n)],
            "video_id": [f"v{v}" for v in rng.integers(0, 500, n)],
            "watch_duration_seconds": rng.integers(1, 600, n),
        })
        table = pa.Table.from_pandas(frame[["event_id", "event_type", "user_id", "event_time", *columns]],
                                     preserve_index=False)
        lake.write_parquet(table, *batch_parts(STAGED_ZONE, category, START.strftime("%Y-%m-%d"), batch))
    return batch


def run(batches: int, size: int, compact_after: int) -> list[float]:
    rng = np.random.default_rng(7)
    seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as folder:
        lake = Lake(folder)
        for index in range(batches):
            batch = stage_batch(lake, index, size, rng)
            started = time.perf_counter()
            refresh_speed(lake, batch, TOLERANCE, RETENTION, compact_after=compact_after)
            seconds.append(time.perf_counter() - started)
            if (index + 1) % max(batches // 10, 1) == 0:
                print(f"  {index + 1:>5} batches, last one {seconds[-1] * 1000:.0f} ms", flush=True)
    return seconds


def tenths(seconds: list[float]) -> list[float]:
    return [float(np.mean(part)) for part in np.array_split(np.array(seconds), 10)]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--batches", type=int, default=600)
    parser.add_argument("--events-per-batch", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.batches} batches of {args.events_per_batch} events, one every 15 s of event time")
    print("baseline, no compaction:")
    baseline = run(args.batches, args.events_per_batch, compact_after=args.batches + 1)
    print(f"compaction after {COMPACT_AFTER} objects:")
    compacted = run(args.batches, args.events_per_batch, compact_after=COMPACT_AFTER)
    print("\nmean ms per batch, by tenth of the run:")
    print("  baseline   " + " ".join(f"{s * 1000:6.0f}" for s in tenths(baseline)))
    print("  compacted  " + " ".join(f"{s * 1000:6.0f}" for s in tenths(compacted)))
    last_base, last_comp = tenths(baseline)[-1], tenths(compacted)[-1]
    print(f"\ntotal: baseline {sum(baseline):.1f} s, compacted {sum(compacted):.1f} s "
          f"({sum(compacted) / sum(baseline):.2f}x)")
    print(f"last tenth: baseline {last_base * 1000:.0f} ms/batch, compacted {last_comp * 1000:.0f} ms/batch "
          f"({last_comp / last_base:.2f}x)")


if __name__ == "__main__":
    main()
