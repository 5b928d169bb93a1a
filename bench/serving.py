"""Benchmark: the serving layer — learning event to API latency, and API throughput and p99 under load.

    python bench/serving.py [--latency-samples 3] [--users 10000] [--seconds 20] [--connections 32] [--keep]

With the local services, a fresh lake (a temporary folder) and the Cassandra keyspaces `analytics_bench` and
`reco_bench_api` (dropped before and after):
1. starts `pipeline serve` and the Dagster daemon on this project (landing sensor every
   LANDING_SENSOR_INTERVAL_SECONDS, default 15 s; LANDING_STARTING_OFFSETS=latest), produces one COURSE_VIEW
   event of a new course at a time, at a random moment of the sensor's interval (as real events arrive), and
   prints the time until `/analytics/course_popularity` lists that course (event → Kafka → landing run →
   speed window in Cassandra → API);
2. writes top-10 lists for --users users, then loads `/recommendations/movies/{user_id}` (random users) from a
   separate process over --connections keep-alive connections for --seconds: first as fast as the server
   answers (its capacity, against `GET /` as the baseline: the framework without Cassandra), then paced at
   --rate requests/s (default 500), where latency counts from when each request was due.
Targets (issue 6): event to API under 30 s; at least 500 requests/s with p99 under 50 ms on 2 cores.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

from common import arguments, scratch_folder
from load import load_process
from daemon import latency_samples
from pipeline.services.dagster_dev import BIN, ROOT, free_port

ANALYTICS, RECO = "analytics_bench", "reco_bench_api"


def get(base: str, path: str):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def start_api(env: dict[str, str], port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    api = subprocess.Popen([str(BIN / "pipeline"), "serve", "--port", str(port),
                            "--workers", str(workers), "--log-level", "warning"], cwd=ROOT, env=env,
                           stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(f"http://127.0.0.1:{port}", "/health")
            return api
        except OSError:
            if api.poll() is not None:
                raise RuntimeError(f"the API exited; see {log}")
            time.sleep(0.3)
    raise RuntimeError(f"the API did not answer within 60 s; see {log}")


def course_view(course: str) -> tuple[bytes, bytes]:
    user = "SV001"
    value = {"event_id": str(uuid.uuid4()), "event_category": "COURSE", "event_type": "COURSE_VIEW", "user_id": user,
             "role": "student", "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "course_id": course}
    return user.encode(), json.dumps(value).encode()


def latency(env: dict[str, str], base: str, samples: int) -> None:
    from pipeline.kafka import client_config
    from pipeline.ml.stream_producer import send
    from pipeline.settings import get_settings

    interval = get_settings().landing_sensor_interval_seconds
    print(f"1. learning event → API with the Dagster daemon (landing sensor every {interval} s)", flush=True)
    kafka = client_config(get_settings())

    def send_course_view(sample: int) -> str:
        course = f"BENCH{uuid.uuid4().hex[:8].upper()}"
        send(kafka, "course_topic", [course_view(course)])
        return course

    def listed(course: str) -> bool:
        return any(row["course_id"] == course
                   for row in get(base, "/analytics/course_popularity?limit=100&hours=1") or [])

    latency_samples(env, "learning_events_sensor", samples, send_course_view, listed,
                    label=lambda course: f"{course} visible through the API",
                    before_each=lambda: time.sleep(random.uniform(0, interval)))


def write_lists(session, users: int) -> None:
    import numpy as np
    import pandas as pd

    from pipeline.serving.reco_tables import MOVIE_RECOMMENDATIONS, ensure_top_n_table, write_top_n

    table = MOVIE_RECOMMENDATIONS.in_keyspace(RECO)
    rng = np.random.default_rng(7)
    rows = pd.DataFrame({"userid": np.repeat(np.arange(1, users + 1), 10), "rank": np.tile(np.arange(1, 11), users),
                         "movieid": rng.integers(1, 20_000, users * 10), "score": rng.random(users * 10),
                         "title": "A movie (1999)", "genres": "Drama|Comedy"})
    ensure_top_n_table(session, table)
    report = write_top_n(session, table, rows, "bench")
    print(f"2. API load: top-10 lists for {users:,} users written ({report})", flush=True)


def throughput(port: int, users: int, seconds: float, connections: int, rate: float) -> None:
    users_paths = [f"/recommendations/movies/{u}" for u in random.Random(1).sample(range(1, users + 1),
                                                                                   min(users, 5000))]
    runs = (("GET / (baseline, no Cassandra), closed loop", ["/"], None),
            ("GET /recommendations/movies/{user_id}, closed loop", users_paths, None),
            (f"GET /recommendations/movies/{{user_id}} at {rate:,.0f} requests/s offered", users_paths, rate))
    figures = []
    for label, paths, offered in runs:
        result = load_process(port, {"method": "GET", "paths": paths, "ok": "200"}, seconds, connections, offered)
        result["rps"] = result["ok_rps"]
        figures.append(result)
        print(f"  {label}: {result['rps']:,.0f} requests/s, p50 {result['p50_ms']:.1f} ms, "
              f"p99 {result['p99_ms']:.1f} ms ({result['requests']:,} requests, status {result['codes']})", flush=True)
    baseline, capacity, paced = figures
    met = capacity["rps"] >= 500 and paced["rps"] >= 0.98 * rate and paced["p99_ms"] < 50
    print(f"  capacity: {capacity['rps'] / baseline['rps']:.2f}x the baseline's requests/s; target >= 500 "
          f"requests/s with p99 < 50 ms at that load: {'met' if met else 'MISSED'}", flush=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--latency-samples", type=int, default=3)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes")
    parser.add_argument("--rate", type=float, default=500, help="offered requests/s of the paced run")
    parser.add_argument("--skip-latency", action="store_true", help="only the load test")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake and Dagster home")
    args = parser.parse_args()

    with scratch_folder("bench-serving-", args.keep, dagster_home=True, CASSANDRA_ANALYTICS_KEYSPACE=ANALYTICS,
                        CASSANDRA_RECO_KEYSPACE=RECO, LANDING_STARTING_OFFSETS="latest") as (work, env):
        from pipeline import services
        from pipeline.settings import get_settings
        from pipeline_tests.keyspaces import scratch_keyspaces

        print(services.up(), flush=True)
        port = free_port()
        # Both keyspaces new before the API and the daemon create their tables in them.
        with scratch_keyspaces(get_settings(), ANALYTICS, RECO) as session:
            api = start_api(env, port, work / "api.log", args.workers)
            try:
                if not args.skip_latency:
                    latency(env, f"http://127.0.0.1:{port}", args.latency_samples)
                write_lists(session, args.users)
                throughput(port, args.users, args.seconds, args.connections, args.rate)
            finally:
                api.terminate()
                api.wait(timeout=30)


if __name__ == "__main__":
    main()
