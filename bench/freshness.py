"""Benchmark: freshness under the real daemon, from publishing learning events to every layer reflecting them.

    python bench/freshness.py [--samples 3] [--background 5000]

Starts `dagster dev` on a temporary instance, lake and Cassandra keyspace (as `make ui` does, with the default
sensor intervals) and `pipeline serve`. Each sample publishes, with a plain confluent-kafka producer, a new
student's LOGIN, COURSE_ENROLLED and VIDEO_WATCHED (in a new course) plus --background generated events of the
last hour, then times, with nobody acting, until: the landing run (raw/events), the cleaned day
(cleaned/auth of today), the date-keyed view (views/auth_daily_active_users of today), the all-time views
(views/student_overview recomputed after that cleaning), the serving table (the student's row in Cassandra
`student_overview`), the API (`/analytics/student/<id>`), and the speed windows in the API (the new course in
`/analytics/course_popularity`). The first sample also pays for the all-time views of the empty lake that the
daemon computes at its start; it is printed and not counted. Prints each sample, then per stage the median and
the max against the targets (issue 12, at demo scale: event to all-time views and serving tables <= 5 min,
stretch 2 min; event to speed windows in the API <= 30 s).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from confluent_kafka import Producer

from common import arguments
from pipeline import services
from pipeline.events.generator import EventGenerator
from pipeline.events.producer import produce, topic_specs
from pipeline.kafka import client_config, ensure_topics
from pipeline.services.dagster_dev import BIN, ROOT, DagsterDev, free_port, get_json, wait_for
from pipeline.settings import get_settings
from pipeline_tests.keyspaces import scratch_keyspaces

KEYSPACE = "university_analytics_freshness"
STAGES = ("landing", "cleaned day", "date-keyed views", "all-time views", "serving tables", "API",
          "speed windows in the API")
TARGETS = {"all-time views": 300, "serving tables": 300, "API": 300, "speed windows in the API": 30}


def latest(instance: dg.DagsterInstance, key: list[str], partition: str | None = None) -> int:
    """The storage id of the newest materialisation (0 if none)."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None), limit=1).records
    return records[0].storage_id if records else 0


def marker_events(student: str, course: str) -> list[tuple[str, dict]]:
    now = datetime.now(timezone.utc).astimezone(ZoneInfo(get_settings().events_source_timezone))
    common = {"user_id": student, "role": "student", "timestamp": now.strftime("%Y-%m-%d %H:%M:%S")}

    def event(topic: str, category: str, event_type: str, **fields) -> tuple[str, dict]:
        return topic, {"event_id": str(uuid.uuid4()), "event_category": category, "event_type": event_type,
                       **common, **fields}

    return [event("auth_topic", "AUTH", "LOGIN", session_id=str(uuid.uuid4())),
            event("course_topic", "COURSE", "COURSE_ENROLLED", course_id="COURSE001"),
            event("video_topic", "VIDEO", "VIDEO_WATCHED", video_id="VID001", course_id=course,
                  session_id=str(uuid.uuid4()), watch_duration_seconds=120)]


def sample(index: int, dev: DagsterDev, instance: dg.DagsterInstance, cassandra, api: str, kafka: dict,
           background: int) -> dict[str, float]:
    # A new student, and a new course that only its video event names (the generator's events name 20 courses).
    student, course = f"FRESH{index}_{uuid.uuid4().hex[:6]}", f"CFRESH{index}_{uuid.uuid4().hex[:6]}"
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    before = {"raw": latest(instance, ["raw", "events"], today)}  # landed today (closed days may be recorded empty)
    producer = Producer({**kafka, "enable.idempotence": True})
    started = time.monotonic()
    for topic, record in marker_events(student, course):
        producer.produce(topic, key=student.encode(), value=json.dumps(record).encode())
    producer.flush(30)
    if background:
        generator = EventGenerator(seed=100 + index, days=1 / 24)
        produce(kafka, generator.generate(background), background, progress=None)
    marks: dict[str, int] = {}

    def landed() -> bool:
        marks["landing"] = latest(instance, ["raw", "events"], today)
        return marks["landing"] > before["raw"]

    def cleaned() -> bool:
        marks["cleaned"] = latest(instance, ["cleaned", "auth"], today)
        return marks["cleaned"] > marks["landing"]

    checks = {
        "landing": landed,
        "cleaned day": cleaned,
        "date-keyed views": lambda: latest(instance, ["views", "auth_daily_active_users"], today) > marks["landing"],
        "all-time views": lambda: latest(instance, ["views", "student_overview"]) > marks["cleaned"],
        "serving tables": lambda: cassandra.execute(
            f"SELECT student_id FROM {KEYSPACE}.student_overview WHERE student_id = %s", (student,)).one(),
        "API": lambda: get_json(f"{api}/analytics/student/{student}"),
        "speed windows in the API": lambda: any(
            c["course_id"] == course for c in get_json(f"{api}/analytics/course_popularity?limit=100&hours=1") or []),
    }
    after = {"cleaned day": "landing", "date-keyed views": "landing", "all-time views": "cleaned day"}
    reached: dict[str, float] = {}

    def all_reached() -> bool:
        for stage in STAGES:  # in order: a stage's check compares with the mark of the stage it comes after
            if stage not in reached and after.get(stage, stage) in (*reached, stage) and checks[stage]():
                reached[stage] = time.monotonic() - started
        return len(reached) == len(STAGES)

    dev.wait_for(all_reached, f"sample {index}: not every stage reached", 1200, interval=1)
    return reached


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--background", type=int, default=5000, help="generated events published with each sample")
    args = parser.parse_args()

    services.up(progress=print)
    settings = get_settings()
    kafka = client_config(settings)
    ensure_topics(kafka, topic_specs())
    with (scratch_keyspaces(settings, KEYSPACE) as cassandra,
          tempfile.TemporaryDirectory(prefix="freshness-") as scratch):
        root = Path(scratch)
        # A new lake and instance, landing only what is published from now on.
        env = {"LAKE_ROOT": str(root / "lake"), "CASSANDRA_ANALYTICS_KEYSPACE": KEYSPACE,
               "LANDING_STARTING_OFFSETS": "latest"}
        with DagsterDev(root / "home", env) as dev, dg.DagsterInstance.from_config(str(dev.home)) as instance:
            port = free_port()
            api_process = subprocess.Popen([str(BIN / "pipeline"), "serve", "--port", str(port)], cwd=ROOT,
                                           env=dev.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            api = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: get_json(f"{api}/health"), "pipeline serve did not answer", 60)
                # The sensor's first tick sets its cursor at the end offsets (LANDING_STARTING_OFFSETS=latest).
                dev.wait_for(lambda: "Sensor learning_events_sensor skipped" in dev.log.read_text(),
                             "the landing sensor did not tick", 180)
                results = []
                for index in range(args.samples + 1):
                    reached = sample(index, dev, instance, cassandra, api, kafka, args.background)
                    label = "warm-up (first all-time views)" if index == 0 else f"sample {index}"
                    print(f"{label}: " + ", ".join(f"{s} {reached[s]:.0f}s" for s in STAGES), flush=True)
                    if index:
                        results.append(reached)
            finally:
                api_process.terminate()
                api_process.wait(timeout=30)
    print(f"\n{'stage':<26}{'median':>9}{'max':>9}  target")
    for stage in STAGES:
        times = [r[stage] for r in results]
        target = TARGETS.get(stage)
        verdict = "" if target is None else f"<= {target} s: {'met' if max(times) <= target else 'MISSED'}"
        print(f"{stage:<26}{statistics.median(times):>8.0f}s{max(times):>8.0f}s  {verdict}")


if __name__ == "__main__":
    main()
