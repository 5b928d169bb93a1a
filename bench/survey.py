"""Benchmark: the student survey — submissions accepted through `POST /api/survey`, and submission to results page.

    python bench/survey.py [--seconds 20] [--connections 32] [--rate 1000] [--workers 1 2] [--samples 3]
                           [--sensor-interval 15] [--skip-load] [--skip-results] [--keep]

With the local services, the `student_survey` topic re-created empty (before, between the steps, and after), a
fresh lake and Dagster home (a temporary folder) and the Cassandra keyspaces `analytics_bench_survey` and
`reco_bench_survey` (dropped before and after), and a write key in them (`X-API-Key`; the per-key rate is lifted):
1. for each --workers setting, starts `pipeline serve --workers N` and loads it from a separate process over
   --connections keep-alive connections for --seconds each: `GET /` as fast as the server answers (the baseline:
   the framework alone, in the same server), then `POST /api/survey` with generated forms (`random_form`, each
   with a submission_id of its own) as fast as the server answers (its capacity: accepted submissions/s, i.e.
   201 answers, each confirmed by Kafka), then paced at --rate submissions/s offered, where latency counts from
   when each request was due (no coordinated omission). Checks that the topic's end offset grew by exactly the
   number of 201 answers;
2. starts `dagster dev` (student_survey_sensor every --sensor-interval s) and `pipeline serve`, waits for the
   sensor's first tick, then submits one form through `POST /api/survey` at a random moment of the sensor's
   interval and times until `/survey/results` counts one response more (Kafka → landing run → cleaned/students →
   the questions' answers → survey_results in Cassandra → the page); a warm-up sample, then --samples samples.
Targets (issue 14): at least 1,000 accepted submissions/s with p99 under 50 ms on 2 cores (paced at 1,000/s);
submission to results page within 2 min.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from common import arguments, scratch_folder
from load import load_average, load_process, server_processes
from pipeline.services.dagster_dev import free_port
from serving import start_api

ANALYTICS, RECO = "analytics_bench_survey", "reco_bench_survey"
TARGET_RPS, TARGET_P99_MS, TARGET_RESULTS_S = 1000, 50, 120


def connections_per_process(port: int, wait: float = 3.0) -> list[int]:
    """After `wait` s (the generator's 2 s warm-up, then into the measured part): how many established
    connections on `port` each server process holds, most first (uvicorn's workers accept from one socket)."""
    time.sleep(wait)
    listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                             text=True).stdout
    held: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", listing):
        held[pid] = held.get(pid, 0) + 1
    return sorted(held.values(), reverse=True)


# -- 1. accepted submissions per second -----------------------------------------------------------------------------

def form_bodies(count: int = 1000) -> list[str]:
    """Generated valid forms as `POST /api/survey` takes them (consent ticked), each ending with a
    `"submission_id": "%s"` slot the load generator fills."""
    from pipeline.survey.generator import random_form

    rng = random.Random(14)
    bodies = []
    for _ in range(count):
        fields = random_form(rng).model_dump(exclude={"submission_id"})
        bodies.append(json.dumps(fields)[:-1].replace("%", "%%") + ', "submission_id": "%s"}')
    return bodies


def end_offset(kafka: dict) -> int:
    from pipeline.kafka import watermarks
    from pipeline.survey.stream import SURVEY_TOPIC

    return sum(high for (_, _), (_, high) in watermarks(kafka, [SURVEY_TOPIC]).items())


def load(env: dict[str, str], work: Path, kafka: dict, workers: int, seconds: float, connections: int,
         rate: float, bodies: list[str], key: str) -> dict:
    port = free_port()
    api = start_api(env, port, work / f"api-{workers}.log", workers)
    try:
        processes = server_processes(api)
        print(f"  pipeline serve --workers {workers}: {processes} worker process(es) answering; load over "
              f"{connections} keep-alive connections, {seconds:g} s per run; load average {load_average()}",
              flush=True)
        get = {"method": "GET", "path": "/", "ok": "200"}
        post = {"method": "POST", "path": "/api/survey", "bodies": bodies, "key": key, "unique": True, "ok": "201"}
        before = end_offset(kafka)
        runs = (("GET / (baseline: the framework alone), closed loop", get, None),
                (f"GET / (baseline) at {rate:,.0f} requests/s offered", get, rate),
                ("POST /api/survey, closed loop (capacity)", post, None),
                (f"POST /api/survey at {rate:,.0f} submissions/s offered", post, rate))
        figures = []
        for label, spec, offered in runs:
            result = load_process(port, spec, seconds, connections, offered,
                                  during=lambda: connections_per_process(port) if workers > 1 else None)
            figures.append(result)
            what = "requests/s" if spec is get else "accepted/s"
            spread = (f"; connections per worker {'/'.join(map(str, result['during']))}"
                      if result["during"] is not None else "")
            print(f"    {label}: {result['ok_rps']:,.0f} {what}, p50 {result['p50_ms']:.1f} ms, p99 "
                  f"{result['p99_ms']:.1f} ms ({result['requests']:,} requests, status {result['codes']}{spread}); "
                  f"load average {load_average()}", flush=True)
        accepted = sum(f["answered"].get("201", 0) for f in figures[2:])
        grown = end_offset(kafka) - before
        print(f"    Kafka: end offset grew by {grown:,} for {accepted:,} answers 201 (warm-ups included): "
              f"{'every accepted submission is in Kafka' if grown == accepted else 'MISMATCH'}", flush=True)
    finally:
        api.terminate()
        api.wait(timeout=30)
    baseline, baseline_paced, capacity, paced = figures
    met = (capacity["ok_rps"] >= TARGET_RPS and paced["ok_rps"] >= 0.98 * rate and rate >= TARGET_RPS
           and paced["p99_ms"] < TARGET_P99_MS)
    print(f"    capacity {capacity['ok_rps']:,.0f} accepted/s = {capacity['ok_rps'] / baseline['ok_rps']:.2f}x the "
          f"baseline's requests/s; at {rate:,.0f}/s offered: {paced['ok_rps']:,.0f} accepted/s, p99 "
          f"{paced['p99_ms']:.1f} ms = {paced['p99_ms'] / baseline_paced['p99_ms']:.2f}x the baseline's "
          f"{baseline_paced['p99_ms']:.1f} ms; target >= {TARGET_RPS:,} accepted/s with p99 < {TARGET_P99_MS} ms: "
          f"{'met' if met else 'MISSED'}", flush=True)
    return {"workers": workers, "processes": processes, "capacity": capacity["ok_rps"], "paced": paced,
            "baseline": baseline["ok_rps"], "baseline_p99": baseline_paced["p99_ms"], "met": met,
            "kafka_ok": grown == accepted}


def summarise(rows: list[dict], rate: float) -> None:
    print(f"  workers  processes  GET /s  accepted/s  ratio  at {rate:,.0f}/s: accepted/s  p50 ms  p99 ms  "
          "(GET / p99)  Kafka  target")
    for row in rows:
        paced = row["paced"]
        print(f"  {row['workers']:>7}  {row['processes']:>9}  {row['baseline']:>6,.0f}  {row['capacity']:>10,.0f}  "
              f"{row['capacity'] / row['baseline']:>5.2f}  {paced['ok_rps']:>22,.0f}  {paced['p50_ms']:>6.1f}  "
              f"{paced['p99_ms']:>6.1f}  {row['baseline_p99']:>11.1f}  {'ok' if row['kafka_ok'] else 'MISMATCH':>5}  "
              f"{'met' if row['met'] else 'MISSED'}")
    meeting = [str(row["workers"]) for row in rows if row["met"]]
    print(f"  the target is met with --workers {', '.join(meeting)}" if meeting
          else "  no --workers setting tried meets the target", flush=True)


# -- 2. submission → results page ---------------------------------------------------------------------------------

def responses(base: str) -> int:
    """The count the results page shows (0 before the survey was processed)."""
    with urllib.request.urlopen(base + "/survey/results", timeout=30) as answer:
        page = answer.read().decode()
    found = re.search(r'id="responses">([\d,]+)<', page)
    return int(found.group(1).replace(",", "")) if found else 0


def submit(base: str, rng: random.Random, key: str) -> str:
    from pipeline.survey.generator import random_form

    form = random_form(rng, str(uuid.uuid4())).model_dump()
    request = urllib.request.Request(base + "/api/survey", data=json.dumps(form).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status != 201:
            raise RuntimeError(f"POST /api/survey answered {answer.status}")
        return json.loads(answer.read())["submission_id"]


def results_latency(work: Path, samples: int, interval: int, key: str, timeout: float = 600) -> list[float]:
    from pipeline.services.dagster_dev import DagsterDev

    print(f"2. submission → /survey/results under `dagster dev` (student_survey_sensor every {interval} s)",
          flush=True)
    started = time.monotonic()
    print("  starting dagster dev (up to 3 min) ...", flush=True)
    dev = DagsterDev(work / "dagster_home", {})  # the lake, keyspaces and interval are in this environment
    try:
        with dev:
            print(f"  dagster dev answers on {dev.url} after {time.monotonic() - started:.0f}s; log {dev.log}",
                  flush=True)
            port = free_port()
            api = start_api(dev.env, port, work / "api-results.log")
            try:
                results = timed_samples(dev, f"http://127.0.0.1:{port}", samples, interval, key, timeout, started)
            finally:
                api.terminate()
                api.wait(timeout=30)
    finally:
        if dev.process is not None:
            end_group(dev.process.pid)
    print(f"  median {statistics.median(results):.1f}s, max {max(results):.1f}s; target <= {TARGET_RESULTS_S} s: "
          f"{'met' if max(results) <= TARGET_RESULTS_S else 'MISSED'}", flush=True)
    return results


def timed_samples(dev, base: str, samples: int, interval: int, key: str, timeout: float,
                  started: float) -> list[float]:
    """Once the survey sensor ticked: a warm-up and `samples` submissions, each sent at a random moment of the
    sensor's interval and timed until the results page counts it; the samples' seconds."""
    from pipeline.services.dagster_dev import get_json, wait_for

    wait_for(lambda: get_json(base + "/health"), "pipeline serve did not answer", 60)
    dev.wait_for(lambda: "Sensor student_survey_sensor skipped" in dev.log.read_text(),
                 "the survey sensor did not tick", 300)
    print(f"  the survey sensor ticked after {time.monotonic() - started:.0f}s; load average {load_average()}",
          flush=True)
    rng, results = random.Random(), []
    for sample in range(samples + 1):
        count = responses(base)
        time.sleep(rng.uniform(0, interval))
        sent = time.monotonic()
        submission = submit(base, rng, key)
        progress = {"next": sent + 30}

        def counted() -> bool:
            shown = responses(base)
            if time.monotonic() >= progress["next"]:
                print(f"    ... {time.monotonic() - sent:.0f}s, the page shows {shown}", flush=True)
                progress["next"] += 30
            return shown >= count + 1

        dev.wait_for(counted, f"submission {submission} was not counted on /survey/results", timeout, interval=0.5)
        seconds = time.monotonic() - sent
        print(f"  {'warm-up' if sample == 0 else f'sample {sample}'}: counted ({count} → {count + 1}) after "
              f"{seconds:.1f}s; load average {load_average()}", flush=True)
        if sample:
            results.append(seconds)
    return results


def end_group(group: int, grace: float = 15) -> None:
    """Wait for the rest of `dagster dev`'s process group (its code servers outlive it until their heartbeat
    times out), then kill what is left of it."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(group, signal.SIGKILL if time.monotonic() > deadline else 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)


# -- main -------------------------------------------------------------------------------------------------------------

def empty_topic(kafka: dict) -> None:
    from pipeline.survey.stream import SURVEY_TOPIC
    from pipeline_tests.topics import recreate_topics

    recreate_topics(kafka, [(SURVEY_TOPIC, 1, {})])


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="length of each load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="offered submissions/s of the paced run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="the `pipeline serve --workers` settings to load, one after the other")
    parser.add_argument("--samples", type=int, default=3, help="submission → results page samples")
    parser.add_argument("--sensor-interval", type=int, default=15,
                        help="STREAM_SENSOR_INTERVAL_SECONDS of the daemon (the settings default to 5)")
    parser.add_argument("--skip-load", action="store_true", help="only the submission → results page step")
    parser.add_argument("--skip-results", action="store_true", help="only the load test")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake and Dagster home")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")

    with scratch_folder("bench-survey-", args.keep, CASSANDRA_ANALYTICS_KEYSPACE=ANALYTICS,
                        CASSANDRA_RECO_KEYSPACE=RECO,
                        STREAM_SENSOR_INTERVAL_SECONDS=str(args.sensor_interval),
                        # One key sends thousands of submissions a second here; the per-key rate is tested apart.
                        API_KEY_RATE_PER_SECOND="1000000") as (work, env):
        from pipeline import services
        from pipeline.kafka import client_config
        from pipeline.settings import get_settings
        from pipeline_tests.api_keys import new_key
        from pipeline_tests.keyspaces import scratch_keyspaces

        print(services.up(), flush=True)
        print(f"{os.cpu_count()} cores; load average {load_average()} (1, 5, 15 min) before the benchmark",
              flush=True)
        kafka = client_config(get_settings())
        with scratch_keyspaces(get_settings(), ANALYTICS, RECO) as session:
            key = new_key(get_settings(), name="bench")["X-API-Key"]
            try:
                if not args.skip_load:
                    empty_topic(kafka)
                    print(f"1. POST /api/survey: accepted submissions/s and latency (target >= {TARGET_RPS:,}/s, "
                          f"p99 < {TARGET_P99_MS} ms)", flush=True)
                    bodies = form_bodies()
                    summarise([load(env, work, kafka, workers, args.seconds, args.connections, args.rate, bodies, key)
                               for workers in args.workers], args.rate)
                if not args.skip_results:
                    empty_topic(kafka)  # the daemon lands only this step's submissions
                    results_latency(work, args.samples, args.sensor_interval, key)
            finally:
                empty_topic(kafka)  # no benchmark submission left for a real daemon to land
                for keyspace in (ANALYTICS, RECO):
                    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


if __name__ == "__main__":
    main()
