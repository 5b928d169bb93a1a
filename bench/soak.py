"""Benchmark: a soak of the daemon path under a steady stream of learning events.

    python bench/soak.py [--minutes 20] [--rate 40] [--every 30] [--keep]

Starts `dagster dev` (the webserver, the daemon and their code servers, as `make ui` runs them) on a scratch
instance, lake and Cassandra keyspace, landing only what is published from then on (LANDING_STARTING_OFFSETS=
latest), and publishes generated events (1% malformed, 1% sent twice) at --rate per second for --minutes, with
nobody acting: the sensors land, clean, compute the views and sync the serving tables; `pipeline serve` (the API)
answers a few of its reads every --every seconds. Each time it prints the consumer lag (events in Kafka not yet
landed in the lake) and, for each long-running process (the webserver, the daemon, the code servers, the API,
Kafka and Cassandra), its resident memory and open files. Then the stream stops and the backlog drains (10 minutes
at most).

At the end, counted from the lake, against the producer's delivery reports:
    events published = cleaned + quarantined + duplicates dropped, and every valid event cleaned exactly once.
Bounds (after a warm-up of the first quarter of the run, which includes the first views of an empty lake):
    lag:        the highest lag of the last half at most that of the warm-up and the first half plus one sensor
                interval of events (it does not grow);
    memory:     each long-running process ends at most 10% above its size after the warm-up;
    open files: each ends at most 20 above its count after the warm-up.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from common import arguments, scratch_folder
from pipeline import services
from pipeline.events.catalogue import CATEGORIES
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import landed_ranges
from pipeline.events.producer import ProduceReport, produce, topic_specs
from pipeline.kafka import client_config, ensure_topics, watermarks
from pipeline.lake import Lake
from pipeline.services.dagster_dev import DagsterDev, pipeline_serve
from pipeline.services.process import cmdline
from pipeline.settings import get_settings
from pipeline_tests.keyspaces import scratch_keyspaces

KEYSPACE = "university_analytics_soak"
# What each long-running process of `dagster dev` is, from its command line (run workers come and go: not counted).
ROLES = (("webserver", ("dagster_webserver",)), ("daemon", ("dagster._daemon run",)),
         ("code server", ("dagster code-server start", "dagster api grpc")), ("dagster dev", ("dagster dev",)))
SERVICES = ("kafka", "cassandra")
COLUMNS = (*(name for name, _ in ROLES), "api", *SERVICES)
# What the API is asked each sample: its cheapest and two of its Cassandra reads.
API_READS = ("/health", "/analytics/summary", "/analytics/courses")


def long_running(group: int) -> dict[str, list[int]]:
    """The PIDs of each role in the process group of `dagster dev`."""
    found: dict[str, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:
                continue
            line = " ".join(cmdline(int(entry)))
        except (OSError, IndexError, ValueError):
            continue
        role = next((name for name, markers in ROLES if any(marker in line for marker in markers)), None)
        if role is not None:
            found[role].append(int(entry))
    return found


def service_pids() -> dict[str, list[int]]:
    """The PIDs of the Kafka and Cassandra JVMs (`pipeline services up`)."""
    found: dict[str, list[int]] = defaultdict(list)
    for service in services.services():
        state, pid = service.inspect()
        if state == "running" and pid:
            found[service.name.split("-")[0]].append(pid)  # a cluster's nodes (kafka-1 ...) summed
    return found


def api_pids(base: str) -> list[int]:
    """The PIDs of `pipeline serve` listening at `base` (its command line names the port)."""
    port = base.rsplit(":", 1)[1]
    return [int(e) for e in os.listdir("/proc") if e.isdigit()
            and "pipeline serve" in (line := " ".join(cmdline(int(e)))) and f"--port {port}" in line]


def ask_api(base: str) -> None:
    """Each read of API_READS must answer (a 404 too: nothing is synced before the first views)."""
    for path in API_READS:
        try:
            with urllib.request.urlopen(base + path, timeout=30) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise RuntimeError(f"the API answered {error.code} to GET {path}: {error.read()[:300]!r}") \
                    from error


def footprint(pids: list[int]) -> tuple[float, int]:
    """Resident memory (MB) and open files of the processes, summed."""
    rss, files = 0.0, 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss += int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024
            files += len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            continue
    return rss, files


def lake_counts(lake: Lake) -> tuple[list[str], int]:
    """Every cleaned event id (a list: duplicates would show), and the quarantined records."""
    ids = [i for c in CATEGORIES for path in lake.list_files("cleaned", c.name)
           for i in pq.read_table(path, columns=["event_id"], filesystem=lake.filesystem).column(0).to_pylist()]
    quarantined = sum(pq.read_metadata(path, filesystem=lake.filesystem).num_rows
                      for path in lake.list_files("quarantine", "events"))
    return ids, quarantined


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=40.0, help="events per second")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    services.up(progress=print)
    with scratch_folder("soak-", args.keep, CASSANDRA_ANALYTICS_KEYSPACE=KEYSPACE,
                        LANDING_STARTING_OFFSETS="latest") as (work, env):
        settings = get_settings()
        kafka, lake, topics = client_config(settings), Lake.from_settings(settings), [c.topic for c in CATEGORIES]
        ensure_topics(kafka, topic_specs(), settings.kafka_replication_factor)
        interval = settings.landing_sensor_interval_seconds
        with scratch_keyspaces(settings, KEYSPACE), DagsterDev(work / "home", env) as dev, \
                pipeline_serve(env) as api:
            # The sensor's first tick puts its cursor at the end offsets: what is published after it is landed.
            dev.wait_for(lambda: "Sensor learning_events_sensor skipped" in dev.log.read_text(),
                         "the landing sensor did not tick", 180)
            start = sum(high for _, high in watermarks(kafka, topics).values())
            total = int(args.rate * args.minutes * 60)
            report: list[ProduceReport] = []
            generator = EventGenerator(seed=20, days=1 / 24, malformed_fraction=0.01, duplicate_fraction=0.01)
            producer = threading.Thread(target=lambda: report.append(
                produce(kafka, generator.generate(total), total, rate=args.rate, progress=None)), daemon=True)
            began = time.monotonic()
            producer.start()
            print(f"publishing {total:,} events at {args.rate:g}/s for {args.minutes:g} min; a sample every "
                  f"{args.every:g} s (landing sensor interval {interval} s)", flush=True)
            print(f"{'min':>5} {'lag':>7}  " + "  ".join(f"{name + ' MB/files':>22}" for name in COLUMNS),
                  flush=True)
            samples: list[tuple[float, int, dict[str, tuple[float, int]]]] = []

            def sample() -> int:
                published = sum(high for _, high in watermarks(kafka, topics).values()) - start
                lag = published - sum(len(r) for r in landed_ranges(lake))
                ask_api(api)
                pids = {**long_running(dev.process.pid), "api": api_pids(api), **service_pids()}
                sizes = {role: footprint(found) for role, found in pids.items() if found}
                minute = (time.monotonic() - began) / 60
                samples.append((minute, lag, sizes))
                print(f"{minute:>5.1f} {lag:>7,}  " + "  ".join(
                    f"{'%.0f MB / %d' % sizes[name] if name in sizes else '-':>22}" for name in COLUMNS), flush=True)
                return lag

            while producer.is_alive():
                dev.check_alive()
                sample()
                producer.join(timeout=args.every)
            if not report:
                raise RuntimeError("the producer failed (see above)")
            drained_by = time.monotonic() + 600
            while sample() > 0:
                dev.check_alive()
                if time.monotonic() > drained_by:
                    raise TimeoutError("the backlog did not drain within 10 minutes")
                time.sleep(args.every)
            sent = report[0]
            sustained = len(sent.delivered) / sent.seconds
            valid = {d.event_id for d in sent.delivered if d.expected_reason is None}
            malformed = sum(1 for d in sent.delivered if d.expected_reason)
            duplicates = sum(1 for d in sent.delivered if d.duplicate)

            def counted() -> tuple[list[str], int] | None:
                ids, quarantined = lake_counts(lake)
                return (ids, quarantined) if set(ids) >= valid and quarantined >= malformed else None

            ids, quarantined = dev.wait_for(counted, "not every landed event was cleaned", 600, interval=10)
            sample()

    print(f"\npublished {len(sent.delivered):,} events at {sustained:.1f}/s sustained (asked {args.rate:g}/s)")
    print(f"published {len(sent.delivered):,} = cleaned {len(ids):,} + quarantined {quarantined:,} + duplicates "
          f"dropped {duplicates:,}: {'yes' if len(sent.delivered) == len(ids) + quarantined + duplicates else 'NO'}; "
          f"every valid event cleaned exactly once: {'yes' if sorted(ids) == sorted(valid) else 'NO'}")
    warm = [s for s in samples if s[0] <= args.minutes / 4] or samples[:1]
    first_half = [s for s in samples if s[0] <= args.minutes / 2]
    last_half = [s for s in samples if args.minutes / 2 < s[0] <= args.minutes]
    allowed = max(lag for _, lag, _ in first_half) + args.rate * interval
    worst = max((lag for _, lag, _ in last_half), default=0)
    print(f"lag: at most {worst:,} in the last half against {allowed:,.0f} allowed: "
          f"{'met' if worst <= allowed else 'MISSED'}")
    after_warm_up, end = warm[-1][2], samples[-1][2]
    for role in COLUMNS:
        if role in after_warm_up and role in end:
            (rss0, files0), (rss1, files1) = after_warm_up[role], end[role]
            memory_ok = rss1 <= rss0 * 1.1
            files_ok = files1 <= files0 + 20
            print(f"{role}: memory {rss0:.0f} -> {rss1:.0f} MB ({'met' if memory_ok else 'MISSED'}), open files "
                  f"{files0} -> {files1} ({'met' if files_ok else 'MISSED'})")


if __name__ == "__main__":
    main()
