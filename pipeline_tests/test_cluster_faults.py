"""One node dies while the project works: a loopback cluster of 3 Kafka brokers and 3 Cassandra nodes, as
`pipeline services up --cluster` starts it (on 127.0.0.4-6, beside the session's services on 127.0.0.1), with
its settings loaded from the file it writes, as the README says: topics replicated 3 times (min.insync.replicas
2), keyspaces on the 3 nodes, every read and write at QUORUM.

Each test kills one node with SIGKILL while events are produced, landed, or written to Cassandra, checks that
nothing is lost or duplicated (against what the producer's delivery reports say was sent, or what the test
wrote), and brings the node back with `pipeline services up`, as a user would.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from cassandra import InvalidRequest, ReadFailure
from confluent_kafka.admin import AdminClient

from pipeline.definitions import build_definitions
from pipeline.events.catalogue import CATEGORIES
from pipeline.events.landing import find_gaps, landed_ranges
from pipeline.kafka import client_config, watermarks
from pipeline.lake import Lake
from pipeline.services.dagster_dev import ROOT, wait_for
from pipeline.serving import analytics_tables
from pipeline.serving.reco_tables import MOVIE_RECOMMENDATIONS, ensure_top_n_table, replace_top_n
from pipeline.settings import Settings, get_settings
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.readme_services import PIPELINE, started_as_the_readme_says
from pipeline_tests.test_cluster import DAGSTER
from pipeline_tests.test_faults import check_results
from pipeline_tests.test_learning_events_e2e import cleaned_event_ids, produce_events
from pipeline_tests.topics import records_of
from sensors.tick import run_sensor_tick

pytestmark = [pytest.mark.faults, pytest.mark.slow]
# Other loopback addresses than the session's services (and test_auth's 127.0.0.2), so all run at once.
WHERE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.4:9092,127.0.0.5:9092,127.0.0.6:9092",
         "CASSANDRA_CONTACT_POINTS": "127.0.0.4,127.0.0.5,127.0.0.6"}
CLUSTER_SETTINGS = ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_REPLICATION_FACTOR", "CASSANDRA_CONTACT_POINTS",
                    "CASSANDRA_REPLICATION", "CASSANDRA_CONSISTENCY")


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[Settings]:
    """The README's `pipeline services up --cluster` and `set -a; . .services/cluster/env; set +a`, verbatim in a
    scratch folder (so `.services` is a scratch SERVICES_HOME); its environment is this module's until the
    cluster is stopped after the tests."""
    with started_as_the_readme_says(tmp_path_factory.mktemp("cluster_services"), "services up --cluster", WHERE) \
            as (up, loaded, home):
        for node in ("kafka-1", "kafka-2", "kafka-3", "cassandra-1", "cassandra-2", "cassandra-3"):
            assert re.search(rf"^{node}: ready after", up.stdout, flags=re.M), (node, up.stdout[-3000:])
        assert {name: loaded[name] for name in CLUSTER_SETTINGS} == {
            **WHERE, "KAFKA_REPLICATION_FACTOR": "3", "CASSANDRA_REPLICATION": "datacenter1:3",
            "CASSANDRA_CONSISTENCY": "QUORUM"}
        with pytest.MonkeyPatch.context() as patch:
            for name in CLUSTER_SETTINGS:
                patch.setenv(name, loaded[name])
            patch.setenv("SERVICES_HOME", str(home))
            yield get_settings()


def kill(settings: Settings, node: str) -> float:
    """SIGKILL the node's JVM (named by its pid file); when, on the monotonic clock."""
    pid = int((Path(settings.services_home) / node / f"{node}.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


def bring_back(node: str) -> None:
    """`pipeline services up`, as a user runs it after a node died: it starts the dead node again."""
    up = subprocess.run([PIPELINE, "services", "up"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    assert re.search(rf"^{node}: ready after", up.stdout, flags=re.M), up.stdout[-3000:]


def busiest_broker(settings: Settings) -> str:
    """The broker that leads the most partitions of the learning-event topics (its death moves the most)."""
    metadata = AdminClient(client_config(settings)).list_topics(timeout=10)
    leaders = Counter(p.leader for c in CATEGORIES for p in metadata.topics[c.topic].partitions.values())
    return f"kafka-{leaders.most_common(1)[0][0]}"


def wait_for_isr(settings: Settings, replicas: int = 3, timeout: float = 120) -> None:
    """Until every partition of the learning-event topics has all its replicas in sync again."""
    admin = AdminClient(client_config(settings))
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=10)
        short = [(c.topic, p.id) for c in CATEGORIES for p in metadata.topics[c.topic].partitions.values()
                 if len(p.isrs) < replicas]
        if not short:
            return
        assert time.monotonic() < deadline, f"partitions still short of replicas: {short}"
        time.sleep(1)


def when(condition: Callable[[], bool], action: Callable[[], float], timeout: float = 120) -> dict:
    """A thread that runs `action` once `condition` holds; its result (or error) lands in the dict returned."""
    outcome: dict = {}

    def watch() -> None:
        deadline = time.monotonic() + timeout
        try:
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError("the condition never held")
                time.sleep(0.05)
            outcome["at"] = action()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            outcome["error"] = error

    outcome["thread"] = threading.Thread(target=watch, daemon=True)
    outcome["thread"].start()
    return outcome


def test_a_broker_killed_while_events_are_produced_loses_and_duplicates_none(fresh_topics, services):
    """`pipeline produce events` at a steady rate; the busiest broker is killed once 2,000 of the 12,000 events
    are in Kafka. Every event is in Kafka exactly once (idempotent producer, acks=all, 2 in-sync replicas)."""
    victim = busiest_broker(services)
    topics = [c.topic for c in CATEGORIES]
    produced = subprocess.Popen([PIPELINE, "produce", "events", "--count", "12000", "--rate", "3000", "--seed", "7"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = when(lambda: sum(high for _, high in watermarks(fresh_topics, topics).values()) >= 2000,
                  lambda: kill(services, victim))
    out, err = produced.communicate(timeout=300)
    finished = time.monotonic()
    killer["thread"].join()
    assert "error" not in killer, killer.get("error")
    assert produced.returncode == 0, out[-2000:] + err[-2000:]
    assert killer["at"] < finished - 1, "the broker died after the producer had finished"
    assert "produced 12,000 records" in out

    ids = Counter(json.loads(value)["event_id"] for _, _, value in records_of(services, topics))
    assert sum(ids.values()) == 12000 and max(ids.values()) == 1
    bring_back(victim)
    wait_for_isr(services)


def test_a_broker_killed_while_events_are_landed_loses_and_duplicates_none(fresh_topics, lake_env, lake, spark):
    """Events landed in several runs (LANDING_MAX_EVENTS_PER_RUN); the busiest broker is killed once the first
    run has written its files. Every run succeeds, the day is cleaned, and every valid event is cleaned exactly
    once with no gap in the landed offsets."""
    records, report = produce_events(fresh_topics, seed=43, count=24000, malformed_fraction=0.01,
                                     duplicate_fraction=0.01)
    assert len(report.delivered) == 24000
    settings = lake_env.model_copy(update={"landing_max_events_per_run": 3000, "quarantine_max_share": 0.2})
    victim = busiest_broker(settings)
    killer = when(lambda: bool(landed_ranges(lake)), lambda: kill(settings, victim))
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        landing = run_sensor_tick(defs, instance, None, log_level="WARNING")
        landed_at = time.monotonic()
        killer["thread"].join()
        assert "error" not in killer, killer.get("error")
        assert landing.success and len(landing.results) >= 4
        assert killer["at"] < landed_at - 1, "the broker died after the landing had finished"
        cleaning = run_sensor_tick(defs, instance, landing.cursor, log_level="WARNING")
        assert cleaning.success
    assert find_gaps(landed_ranges(lake)) == []
    ids = cleaned_event_ids(spark, lake)
    assert set(ids) == {d.event_id for d in report.delivered if d.expected_reason is None}
    assert max(ids.values()) == 1
    bring_back(victim)
    wait_for_isr(settings)


def top_n_rows(users: int, seed: int) -> pd.DataFrame:
    """10 ranked movies for each of `users` users (what an ALS model's top-N would look like)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "userid": np.repeat(np.arange(1, users + 1), 10), "rank": np.tile(np.arange(1, 11), users),
        "movieid": rng.integers(1, 5000, users * 10), "score": rng.random(users * 10).astype(np.float32),
        "title": "a movie", "genres": "Drama"})


def materialize_sync(table: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`dagster asset materialize` of a serving-table sync, as a user runs it; its output goes to `log`."""
    with log.open("w") as out:
        return subprocess.Popen([DAGSTER, "asset", "materialize", "-m", "pipeline.definitions", "--select",
                                 f"cassandra/{analytics_tables.KEYSPACE}/{table}"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def test_a_cassandra_node_killed_during_a_top_n_rewrite_and_a_sync_run_leaves_no_mixed_or_missing_rows(
        services, tmp_path):
    """At QUORUM on 3 replicas: a serving-table sync run (`dagster asset materialize`, 10,000 students) and a
    full top-N rewrite (version v2 over v1, the function the top-N asset calls) are writing when a node is
    killed. The run either succeeds or fails with the driver's error and its retry succeeds; the rewrite the
    same; readers reading users' lists all the while never see one that mixes versions; in the end every list
    is v2, the synced table holds exactly the view's rows and the run's blocking check passed."""
    keyspace, analytics, users = "reco_cluster_faults", "analytics_cluster_faults", 6000
    table = MOVIE_RECOMMENDATIONS.in_keyspace(keyspace)
    lake = Lake(str(tmp_path / "lake"))
    students = 10000
    overview = pd.DataFrame({"student_id": [f"s{i}" for i in range(students)], "total_courses_enrolled": 1,
                             "total_videos_watched": 2, "total_assignments_submitted": 3,
                             "avg_assignment_score": 70.5, "total_logins": np.arange(students)})
    lake.write_parquet(pa.Table.from_pandas(overview, preserve_index=False), "views", "student_overview",
                       "view.parquet")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "LAKE_ROOT": lake.root, "CASSANDRA_ANALYTICS_KEYSPACE": analytics,
           "DAGSTER_HOME": str(home)}
    with scratch_keyspaces(services, keyspace, analytics) as session:
        ensure_top_n_table(session, table, services.cassandra_replication)
        replace_top_n(session, table, top_n_rows(users, 1), "v1", lake, log=lambda _: None)

        mixed, read, stop = [], Counter(), threading.Event()

        def reader() -> None:
            statement = session.prepare(f"SELECT model_version FROM {table.qualified} WHERE userid = ?")
            while not stop.is_set():
                try:
                    versions = {r.model_version for r in session.execute(statement, (random.randint(1, users),))}
                    read["lists"] += 1
                    if len(versions) > 1:
                        mixed.append(versions)
                except Exception:  # noqa: BLE001 - a read failing while the node dies is counted, not a mix
                    read["failed"] += 1

        readers = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
        for thread in readers:
            thread.start()
        new_lists, attempts, written = top_n_rows(users, 2), Counter(), {}

        def rewrite() -> None:
            while True:
                attempts["top_n"] += 1
                try:
                    written["top_n"] = replace_top_n(session, table, new_lists, "v2", lake, log=lambda _: None)
                    return
                except Exception as error:  # noqa: BLE001 - the retry a run's retry policy would make
                    written.setdefault("errors", []).append(repr(error))
                    assert attempts["top_n"] < 3, written["errors"]

        def sync_writing() -> bool:
            """The run's first rows are readable (before, its table may not exist yet, or not on every node)."""
            try:
                return session.execute(f"SELECT student_id FROM {analytics}.student_overview LIMIT 1").one() \
                    is not None
            except (InvalidRequest, ReadFailure):
                return False

        log = tmp_path / "sync-1.log"
        run = materialize_sync("student_overview", env, log)
        # Once the run writes rows, the rewrite starts beside it and the node dies half a second later.
        wait_for(lambda: sync_writing() or run.poll() is not None, "the sync run wrote no row", 180, 0.05)
        assert run.poll() is None, log.read_text()[-3000:]
        worker = threading.Thread(target=rewrite)
        worker.start()
        time.sleep(0.5)
        killed_at = kill(services, "cassandra-3")
        assert run.poll() is None and worker.is_alive(), "the writes had ended before the node died"
        runs = [run.wait(timeout=600)]
        run_ended = time.monotonic() - killed_at
        if runs[0] != 0:  # a clear failure, then the retry a user (or a retry policy) makes
            assert "Cassandra" in log.read_text(), log.read_text()[-3000:]
            runs.append(materialize_sync("student_overview", env, tmp_path / "sync-2.log").wait(timeout=600))
        worker.join(timeout=600)
        stop.set()
        for thread in readers:
            thread.join()
        assert runs[-1] == 0, (tmp_path / f"sync-{len(runs)}.log").read_text()[-3000:]
        assert "top_n" in written, written.get("errors")
        assert mixed == [] and read["lists"] > 100, (mixed[:5], read)

        versions = Counter(r.model_version for r in session.execute(f"SELECT model_version FROM {table.qualified}"))
        assert versions == {"v2": users * 10}
        synced = {r.student_id: r.total_logins for r in session.execute(
            f"SELECT student_id, total_logins FROM {analytics}.student_overview")}
        assert synced == dict(zip(overview["student_id"], overview["total_logins"], strict=True))
    assert check_results(home)[-1] == ("rows_match_source", True)
    print(f"reads: {dict(read)}; top-N attempts: {dict(attempts)}; sync runs' exit codes: {runs} (the first "
          f"ended {run_ended:.1f} s after the kill); errors: {written.get('errors', [])[:3]}")
    bring_back("cassandra-3")
