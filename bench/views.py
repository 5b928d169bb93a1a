"""Benchmark: the 41 views on local[2], on the local Spark standalone cluster and on Spark Connect.

    python bench/views.py [--events 200000] [--days 7]

N generated events over D days are validated and cleaned into a scratch lake (not timed). Then, for each
mode, a process of its own (one SparkContext per process) builds the session as the assets' resource does and
computes the 41 views as the assets do (`materialize_views`: the date-keyed views for every day, the all-time
views from per-day partials), twice, the partials deleted before each pass: the first pass includes the
session's start (and, on a cluster, the executors' start and the code shipped to them), the second is the
steady state. Modes: `local[2]` (the baseline: what every run uses by default), the standalone cluster
(spark://127.0.0.1:7077, two workers) and Spark Connect (sc://127.0.0.1:15002), both from
`pipeline services up --spark`, which this starts if they do not run.

Prints each mode's seconds and its ratio to local[2]: the cluster's overhead on one 2-core machine, where
the cluster adds processes and network hops but no cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import arguments, scratch_folder

MODES = {
    "local[2]": {"SPARK_MASTER": "local[2]"},
    "standalone": {"SPARK_MASTER": "spark://127.0.0.1:7077"},
    "connect": {"SPARK_REMOTE": "sc://127.0.0.1:15002"},
}


def child(days: list[str]) -> dict:
    """In the mode's process: the session, then two passes over the 41 views."""
    import shutil

    from pipeline.lake import Lake
    from pipeline.settings import get_settings
    from pipeline.views.materialize import materialize_views
    from pipeline.views.partials import PARTIALS_ZONE
    from pipeline.views.registry import all_views, by_kind
    from resources import build_resources

    started = time.perf_counter()
    settings = get_settings()
    spark = build_resources(settings)["spark"].get_session()
    lake = Lake.from_settings(settings)
    seconds = {"session": time.perf_counter() - started}
    for run in ("first", "second"):
        shutil.rmtree(lake.path(*PARTIALS_ZONE), ignore_errors=True)
        started = time.perf_counter()
        for batch in by_kind(all_views()):
            materialize_views(spark, lake, batch, days if batch[0].date_keyed else None)
        seconds[run] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the days, in a mode's own process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    from pipeline import services
    from pipeline.services.spark import executor_python
    from pipeline.settings import get_settings
    from pipeline_tests.views.fixtures import generated_lake

    print(services.up(spark=True), flush=True)
    python = str(executor_python(get_settings()))
    end = datetime.now(timezone.utc).replace(hour=23, minute=59, second=0, microsecond=0) - timedelta(days=1)
    with scratch_folder("bench-views-", keep=False) as (folder, env):
        started = time.perf_counter()
        lake, days = generated_lake(Path(env["LAKE_ROOT"]), seed=3, events=args.events, end=end, days=args.days)
        print(f"{args.events:,} events over {len(days)} days cleaned into {lake.root} "
              f"({time.perf_counter() - started:.1f} s, not timed)", flush=True)
        results = {}
        for mode, variables in MODES.items():
            mode_env = {k: v for k, v in env.items() if not k.startswith(("SPARK_", "PYSPARK_"))} | variables
            if mode == "standalone":
                mode_env["SPARK_EXECUTOR_PYTHON"] = python
            done = subprocess.run([sys.executable, __file__, "--child", json.dumps(days)], env=mode_env,
                                  capture_output=True, text=True, timeout=3600)
            if done.returncode:
                raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            seconds = results[mode]
            print(f"  {mode:<11} session {seconds['session']:5.1f} s   41 views: first pass {seconds['first']:6.1f} s, "
                  f"second {seconds['second']:6.1f} s", flush=True)

    base = results["local[2]"]
    print(f"\nthe 41 views on {args.events:,} events over {len(days)} days, against local[2] (2 cores, one machine)")
    for mode, seconds in results.items():
        print(f"  {mode:<11} second pass {seconds['second']:6.1f} s ({seconds['second'] / base['second']:.2f}x), "
              f"with the session's start {seconds['session'] + seconds['first']:6.1f} s "
              f"({(seconds['session'] + seconds['first']) / (base['session'] + base['first']):.2f}x)")


if __name__ == "__main__":
    main()
