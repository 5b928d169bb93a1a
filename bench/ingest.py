"""Benchmark: learning events in over HTTP — `POST /events` with batches of events, accepted events per second and p99.

    python bench/ingest.py [--seconds 15] [--batch 500] [--rate 20000] [--connections 8] [--workers 1]

With the local services, the six learning-event topics re-created empty (before and after), a scratch lake and the
Cassandra keyspaces `analytics_bench_ingest` and `reco_bench_ingest` (dropped before and after) holding one write
key (its rate lifted: one loader sends many batches a second):
1. starts `pipeline serve --workers N` and loads it from a separate process (bench/load.py) over --connections
   keep-alive connections: `GET /` as fast as it answers (the baseline: the framework alone, in the same server),
   then `POST /events` with batches of --batch generated valid events (the producer's format, distinct event ids)
   as fast as it answers (capacity), then paced at --rate events/s offered (batches due at rate / batch a second;
   latency counts from when each batch was due);
2. checks that the topics' end offsets grew by exactly --batch events per 200 answer: every accepted event is in
   Kafka.
Targets (issue 15): at least 20,000 events/s accepted with p99 under 100 ms on 2 cores.
"""

from __future__ import annotations

import json
import os

from common import arguments, scratch_folder
from load import load_average, load_process, server_processes
from pipeline.services.dagster_dev import free_port
from serving import start_api

ANALYTICS, RECO = "analytics_bench_ingest", "reco_bench_ingest"
TARGET_EVENTS_PER_S, TARGET_P99_MS = 20_000, 100
BODIES = 60  # distinct batches; a long run sends some again (the same event ids: accepted, cleaned once)


def batch_bodies(batch: int, count: int = BODIES) -> list[str]:
    """`count` request bodies of `batch` valid generated events each, every event id distinct."""
    from pipeline.events.generator import EventGenerator

    events = [json.loads(record.value) for record in EventGenerator(seed=15, days=1.0).generate(batch * count)]
    return [json.dumps({"events": events[i:i + batch]}) for i in range(0, len(events), batch)]


def published(kafka: dict) -> int:
    from pipeline.events.catalogue import CATEGORIES
    from pipeline.kafka import watermarks

    return sum(high for _, high in watermarks(kafka, [c.topic for c in CATEGORIES]).values())


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=15.0, help="each measured run (after 2 s of warm-up)")
    parser.add_argument("--batch", type=int, default=500, help="events per request")
    parser.add_argument("--rate", type=float, default=TARGET_EVENTS_PER_S, help="offered events/s of the paced run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="`pipeline serve --workers`")
    args = parser.parse_args()

    with scratch_folder("bench-ingest-", False, CASSANDRA_ANALYTICS_KEYSPACE=ANALYTICS, CASSANDRA_RECO_KEYSPACE=RECO,
                        API_KEY_RATE_PER_SECOND="1000000") as (work, env):
        from pipeline import services
        from pipeline.events.producer import topic_specs
        from pipeline.kafka import client_config
        from pipeline.settings import get_settings
        from pipeline_tests.api_keys import new_key
        from pipeline_tests.keyspaces import scratch_keyspaces
        from pipeline_tests.topics import recreate_topics

        print(services.up(), flush=True)
        print(f"{os.cpu_count()} cores; load average {load_average()} before the benchmark", flush=True)
        kafka = client_config(get_settings())
        recreate_topics(kafka, topic_specs())
        bodies = batch_bodies(args.batch)
        print(f"{len(bodies)} batches of {args.batch} generated events", flush=True)
        with scratch_keyspaces(get_settings(), ANALYTICS, RECO):
            key = new_key(get_settings(), name="bench")["X-API-Key"]
            port = free_port()
            api = start_api(env, port, work / "api.log", args.workers)
            try:
                print(f"pipeline serve --workers {args.workers}: {server_processes(api)} process(es); "
                      f"{args.connections} keep-alive connections, {args.seconds:g} s per run", flush=True)
                post = {"method": "POST", "path": "/events", "bodies": bodies, "key": key, "ok": "200"}
                baseline = load_process(port, {"method": "GET", "path": "/", "ok": "200"}, args.seconds,
                                        args.connections)
                print(f"  GET / (baseline), closed loop: {baseline['ok_rps']:,.0f} requests/s, p99 "
                      f"{baseline['p99_ms']:.1f} ms", flush=True)
                before = published(kafka)
                runs = {}
                for name, rate in (("closed loop (capacity)", None), (f"at {args.rate:,.0f} events/s offered",
                                                                      args.rate / args.batch)):
                    runs[name] = figures = load_process(port, post, args.seconds, args.connections, rate)
                    print(f"  POST /events {name}: {figures['ok_rps'] * args.batch:,.0f} events/s accepted "
                          f"({figures['ok_rps']:,.1f} batches/s), p50 {figures['p50_ms']:.1f} ms, p99 "
                          f"{figures['p99_ms']:.1f} ms, status {figures['codes']}; load average {load_average()}",
                          flush=True)
                accepted = sum(r["answered"].get("200", 0) for r in runs.values()) * args.batch
                grew = published(kafka) - before
                print(f"  Kafka: the topics grew by {grew:,} for {accepted:,} events accepted (warm-ups included): "
                      f"{'every accepted event is in Kafka' if grew == accepted else 'MISMATCH'}", flush=True)
                paced = runs[f"at {args.rate:,.0f} events/s offered"]
                events_per_s = paced["ok_rps"] * args.batch
                met = events_per_s >= 0.98 * TARGET_EVENTS_PER_S and paced["p99_ms"] < TARGET_P99_MS
                capacity = runs["closed loop (capacity)"]
                print(f"  capacity {capacity['ok_rps'] * args.batch:,.0f} events/s "
                      f"({capacity['ok_rps'] / baseline['ok_rps']:.3f}x the baseline's requests/s); paced: "
                      f"{events_per_s:,.0f} events/s accepted, p99 {paced['p99_ms']:.1f} ms; target >= "
                      f"{TARGET_EVENTS_PER_S:,} events/s with p99 < {TARGET_P99_MS} ms: {'met' if met else 'MISSED'}",
                      flush=True)
            finally:
                api.terminate()
                api.wait(timeout=30)
                recreate_topics(kafka, topic_specs())  # no benchmark event left for a real daemon to land


if __name__ == "__main__":
    main()
