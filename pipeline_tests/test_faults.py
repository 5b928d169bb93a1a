"""Faults survived, against the real services and processes, killed with SIGKILL.

The single Cassandra node: while it is down the running API answers 503 saying Cassandra did not answer, and a
serving-table sync (run as the README runs an asset, `dagster asset materialize`) fails at once saying which
service and which settings; once `pipeline services up` has started the node again, the same API answers again
by itself (no restart), and the same sync, re-run, completes with its check passed and exactly the view's rows
in the table.

The Dagster daemon of `dagster dev` (what `make ui` runs), mid-stream: started again on the same instance, the
learning-event sensor resumes from its cursor and every produced offset is landed exactly once (no hole, no
range twice), including the ones produced while no daemon ran; a landing run the crash left STARTING is failed by
run monitoring instead of holding up every later landing.

A Spark run killed while writing a view (half its rows on disk): Spark and Arrow still read the last complete
view, and the retry leaves the new view, equal to an uninterrupted run's, and nothing else in its folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.events.generator import EventGenerator
from pipeline.events.landing import RAW_EVENTS_ZONE, find_gaps, landed_ranges
from pipeline.events.producer import produce, topic_specs
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.serving.analytics_tables import COURSE_OVERVIEW
from pipeline.serving.analytics_tables import KEYSPACE as ASSET_KEYSPACE  # the keys' name; the rows go to KEYSPACE
from pipeline.services.cassandra import Cassandra
from pipeline.services.dagster_dev import ROOT, DagsterDev, pipeline_serve, wait_for
from pipeline.services.process import alive, port_open
from pipeline.settings import get_settings
from pipeline_tests.conftest import ANALYTICS_TEST_KEYSPACE
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.topics import recreate_topics
from resources import build_resources
from sensors.jobs import land_learning_events

pytestmark = [pytest.mark.faults, pytest.mark.slow]

KEYSPACE = "faults_test"
BIN = Path(sys.executable).parent


def health(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + "/health", timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def sync(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "pipeline.definitions", "--select",
                           f"cassandra/{ASSET_KEYSPACE}/{COURSE_OVERVIEW.name}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def check_results(home: Path) -> list[tuple[str, bool]]:
    """The asset check evaluations the instance at `home` recorded."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION))
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return [(e.check_name, e.passed) for e in evaluations]


def kill_cassandra() -> None:
    node = Cassandra(get_settings())
    state, pid = node.inspect()
    assert state == "running", state
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid) and not port_open("127.0.0.1", get_settings().cassandra_port),
             "Cassandra did not go away", 60)


def test_cassandra_down_gives_clear_failures_and_everything_recovers_once_it_is_back(services, tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    view = pd.DataFrame({"course_id": ["C1", "C2", "C3"], "total_enrolled_students": [3, 1, 2],
                         "total_videos_watched": [10, 0, 4], "total_materials_downloaded": [1, 2, 3]})
    lake.write_parquet(pa.Table.from_pandas(view, preserve_index=False), "views", "course_overview", "view.parquet")
    env = {**os.environ, "LAKE_ROOT": lake.root, "CASSANDRA_ANALYTICS_KEYSPACE": KEYSPACE,
           "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    with scratch_keyspaces(services, KEYSPACE):
        pass  # a fresh keyspace; the read-back below opens its own session: one across the outage stays defunct
    with pipeline_serve(env) as base:
        assert health(base)[0] == 200
        try:
            kill_cassandra()
            status, body = health(base)
            assert status == 503 and body["detail"].startswith("Cassandra did not answer"), body

            failed = sync(env)
            assert failed.returncode != 0
            assert ("Cassandra did not accept a session (is it running, do CASSANDRA_CONTACT_POINTS and "
                    "CASSANDRA_PORT name it") in failed.stdout + failed.stderr
        finally:
            subprocess.run([str(BIN / "pipeline"), "services", "up"], cwd=ROOT, check=True, timeout=600,
                           capture_output=True)

        # The API's driver reconnects by itself: no restart of `pipeline serve`.
        wait_for(lambda: health(base)[0] == 200, "the API did not recover once Cassandra was back", 120, 2)

        done = sync(env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "RUN_SUCCESS" in done.stdout + done.stderr
    with build_resources(services)["cassandra"].session() as session:
        rows = {r.course_id: r.total_enrolled_students
                for r in session.execute(f"SELECT * FROM {KEYSPACE}.{COURSE_OVERVIEW.name}")}
        session.execute(f"DROP KEYSPACE {KEYSPACE}", timeout=60)
    assert rows == {"C1": 3, "C2": 1, "C3": 2}
    assert check_results(tmp_path / "home") == [("rows_match_source", True)]


RUNS = "{ runsOrError { ... on Runs { results { jobName status } } } }"


def run_status(home: Path, run_id: str) -> dg.DagsterRunStatus:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_run_by_id(run_id).status


def session_processes(session: int) -> dict[int, str]:
    """The live processes of a session (`dagster dev` starts its own): pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == session and fields[0] not in ("Z", "X"):
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_the_daemon_killed_mid_stream_resumes_from_its_cursors_and_lands_each_offset_once(services, tmp_path):
    config = client_config(services)
    recreate_topics(config, topic_specs())
    lake = Lake(str(tmp_path / "lake"))
    env = {"LAKE_ROOT": lake.root, "CASSANDRA_ANALYTICS_KEYSPACE": ANALYTICS_TEST_KEYSPACE,
           "LANDING_SENSOR_INTERVAL_SECONDS": "3", "SPARK_DRIVER_MEMORY": "1g", "SPARK_SHUFFLE_PARTITIONS": "2"}
    records = list(EventGenerator(seed=41, days=0.2).generate(3000))
    reports = []
    stream = threading.Thread(target=lambda: reports.append(produce(config, records, 3000, rate=150, progress=None)))

    def landed_runs(dev: DagsterDev) -> int:
        runs = dev.graphql(RUNS)["runsOrError"]["results"]
        return sum(r["jobName"] == "land_learning_events" and r["status"] == "SUCCESS" for r in runs)

    with DagsterDev(tmp_path / "home", env) as first:
        stream.start()
        first.wait_for(lambda: landed_runs(first) >= 1, "a first landing run", 180)
        [daemon] = [pid for pid, line in session_processes(first.process.pid).items() if "dagster-daemon" in line
                    or "_daemon run" in line]
        os.kill(daemon, signal.SIGKILL)
        # `dagster dev` notices and shuts the webserver down too, as after a crash of `make ui`.
        wait_for(lambda: first.process.poll() is not None, "dagster dev to stop after its daemon died", 90)
        time.sleep(3)  # the stream goes on while no sensor runs
    stream.join(120)
    assert sum(map(len, landed_ranges(lake))) < 3000  # what is left is the restarted daemon's to land
    [report] = reports
    assert len(report.delivered) == 3000
    ends = {}
    for d in report.delivered:
        ends[(d.topic, d.partition)] = max(ends.get((d.topic, d.partition), 0), d.offset + 1)

    def all_landed() -> bool:
        ranges = landed_ranges(lake)
        covered = {}
        for r in ranges:
            covered[(r.topic, r.partition)] = max(covered.get((r.topic, r.partition), 0), r.end)
        return covered == ends

    # What a crash can leave (and CI once did): a landing run whose launch was cut off, STARTING for ever. It holds
    # the landing runs' serial tag, so every later landing would queue behind it unless run monitoring fails it.
    # Planted as a launch records itself (the run, then its RUN_STARTING event) before a crash cuts it off.
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        stuck = instance.add_run(dg.DagsterRun(job_name=land_learning_events.name, run_id=str(uuid.uuid4()),
                                               status=dg.DagsterRunStatus.NOT_STARTED,
                                               tags={**land_learning_events.tags, "dagster/max_retries": "0"}))
        instance.report_dagster_event(dg.DagsterEvent(dg.DagsterEventType.RUN_STARTING.value,
                                                      job_name=stuck.job_name), run_id=stuck.run_id)
        assert instance.get_run_by_id(stuck.run_id).status == dg.DagsterRunStatus.STARTING
    with DagsterDev(tmp_path / "home", env) as second:  # the same instance: the sensors' cursors are in it
        second.wait_for(all_landed, "every produced offset landed after the restart", 300, 2)
        assert run_status(tmp_path / "home", stuck.run_id) == dg.DagsterRunStatus.FAILURE
    ranges = landed_ranges(lake)
    assert find_gaps(ranges) == [] and sum(map(len, ranges)) == 3000  # no hole, no range landed twice
    offsets = [(r["topic"], r["partition"], r["offset"]) for path in lake.list_files(*RAW_EVENTS_ZONE)
               for r in pq.read_table(path, columns=["topic", "partition", "offset"]).to_pylist()]
    assert len(offsets) == len(set(offsets)) == 3000  # every offset's record in the lake, once


KILL_WHILE_WRITING_THE_VIEW = """
import os, signal, sys
import dagster as dg
import pyarrow.parquet as pq
from pipeline.definitions import defs

folder, key = sys.argv[1], dg.AssetKey.from_user_string(sys.argv[2])
original = pq.write_table

def write_half_then_die(table, where, **options):
    if not str(where).startswith(folder + "/"):
        return original(table, where, **options)
    original(table.slice(0, table.num_rows // 2), where, **options)  # half the rows on disk...
    os.kill(os.getpid(), signal.SIGKILL)  # ...and the run dies before the object gets its name

pq.write_table = write_half_then_die
with dg.instance_for_test() as instance:
    defs.resolve_job_def("refresh_all_time_views").execute_in_process(asset_selection=[key], instance=instance)
"""


def test_a_view_run_killed_while_writing_leaves_the_last_complete_view_readable_and_its_retry_completes(
        spark, tmp_path, monkeypatch):
    from assets.keys import view_key
    from pipeline.views.materialize import view_parts
    from pipeline.views.registry import VIEWS_BY_NAME
    from pipeline_tests.views.fixtures import generated_lake

    view = VIEWS_BY_NAME["auth_user_activity_summary"]
    end = pd.Timestamp("2026-11-20 12:00", tz="UTC").to_pydatetime()
    lake, _ = generated_lake(tmp_path / "lake", seed=8, events=2000, end=end, days=2)
    folder = lake.path(*view_parts(view))

    def run_view(root: Path) -> None:
        monkeypatch.setenv("LAKE_ROOT", str(root))
        from pipeline.definitions import build_definitions
        job = build_definitions(get_settings()).resolve_job_def("refresh_all_time_views")
        with dg.instance_for_test() as instance:
            assert job.execute_in_process(asset_selection=[view_key(view.name)], instance=instance).success

    def rows(root: Path) -> list:
        return sorted(spark.read.parquet(Lake(str(root)).uri(*view_parts(view))).collect())

    run_view(tmp_path / "lake")
    complete = rows(tmp_path / "lake")
    generated_lake(tmp_path / "lake", seed=9, events=1000, end=end + pd.Timedelta(days=3), days=1)  # a new day
    reference = tmp_path / "reference"  # the same lake, for a run nobody kills
    subprocess.run(["cp", "-a", str(tmp_path / "lake"), str(reference)], check=True)

    killed = subprocess.run([sys.executable, "-c", KILL_WHILE_WRITING_THE_VIEW, folder, view_key(view.name)
                             .to_user_string()], env={**os.environ, "LAKE_ROOT": str(tmp_path / "lake")},
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert rows(tmp_path / "lake") == complete  # Spark reads the last complete view, not the half-written rows
    half_written = [name for name in os.listdir(folder) if name != "view.parquet"]
    assert len(half_written) == 1 and half_written[0].startswith(".view.parquet.tmp-")  # hidden from every reader
    assert lake.dataset(*view_parts(view)).count_rows() == len(complete)  # and so does Arrow

    run_view(tmp_path / "lake")  # the retry
    run_view(reference)
    assert os.listdir(folder) == ["view.parquet"]  # the half-written object is gone
    assert rows(tmp_path / "lake") == rows(reference) != complete  # the new day counted, as by an unkilled run
