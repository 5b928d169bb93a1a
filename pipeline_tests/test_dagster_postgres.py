"""Dagster on PostgreSQL, as a user sets it up: `pipeline services up --postgres`, DAGSTER_POSTGRES_URL, then
`dagster dev` (what `make ui` runs); the learning-event sensor and its runs go through the real daemon, and the
runs, their events and the sensor's ticks are in Postgres, not in SQLite files under DAGSTER_HOME.

Everything scaled out at once, as the README's "Scaling out" sets it: the runs' Spark is the Spark Connect server
of `pipeline services up --spark` (SPARK_REMOTE) and the lake is on the S3 server of `--s3`."""

from __future__ import annotations

import os
import uuid
from contextlib import closing

import psycopg2
import pyarrow.parquet as pq
import pytest

from pipeline.events.catalogue import CATEGORIES
from pipeline.events.generator import EventGenerator
from pipeline.events.producer import produce, topic_specs
from pipeline.kafka import client_config
from pipeline.services import s3
from pipeline.services.dagster_dev import DagsterDev
from pipeline.services.spark import CONNECT_URL
from pipeline.services.postgres import Postgres, libpq
from pipeline.settings import get_settings
from pipeline_tests.conftest import ANALYTICS_TEST_KEYSPACE, local_s3_lake
from pipeline_tests.topics import recreate_topics

pytestmark = pytest.mark.slow

RUNS = "{ runsOrError { ... on Runs { results { jobName status } } } }"


@pytest.fixture(scope="module")
def postgres_url(services):
    """A fresh database on the local PostgreSQL of `pipeline services up --postgres` (started if needed)."""
    from pipeline import services as local

    was_running = "postgres" in {s.name for s in local.status().services if s.ready}
    local.up(progress=lambda message: print(message, flush=True), optional=["postgres"])
    server_url = Postgres(get_settings()).libpq_url().rsplit("/", 1)[0]
    database = f"dagster_test_{uuid.uuid4().hex[:8]}"
    with closing(psycopg2.connect(f"{server_url}/postgres")) as server:
        server.autocommit = True
        server.cursor().execute(f"CREATE DATABASE {database}")
    yield f"{server_url}/{database}".replace("postgresql://", "postgresql+psycopg2://", 1)
    with closing(psycopg2.connect(f"{server_url}/postgres")) as server:
        server.autocommit = True
        server.cursor().execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    if not was_running and os.environ.get("PIPELINE_TEST_KEEP_SERVICES") != "1":
        local.down(optional=["postgres"])


@pytest.fixture(scope="module")
def dagster_on_postgres(services, spark_cluster, postgres_url, tmp_path_factory):
    recreate_topics(client_config(services), topic_specs())
    root = tmp_path_factory.mktemp("postgres_daemon")
    env = {"DAGSTER_POSTGRES_URL": postgres_url, "LAKE_ROOT": f"s3://{s3.BUCKET}/{root.name}-{uuid.uuid4().hex[:8]}",
           **s3.SETTINGS, "SPARK_REMOTE": CONNECT_URL, "CASSANDRA_ANALYTICS_KEYSPACE": ANALYTICS_TEST_KEYSPACE,
           "LANDING_SENSOR_INTERVAL_SECONDS": "5", "SPARK_SHUFFLE_PARTITIONS": "2"}
    with DagsterDev(root / "home", env) as dagster_dev:
        yield dagster_dev
    lake = local_s3_lake(env["LAKE_ROOT"])
    lake.filesystem.delete_dir(lake.path())  # the S3 server keeps every object in memory while it runs


def query(url: str, sql: str) -> list[tuple]:
    with closing(psycopg2.connect(libpq(url))) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_the_daemon_lands_and_refreshes_a_day_with_its_state_in_postgres(dagster_on_postgres, postgres_url,
                                                                          services):
    records = list(EventGenerator(seed=5, days=0.5).generate(300))
    report = produce(client_config(services), records, 300, progress=None)
    assert len(report.delivered) == 300

    def finished() -> list[dict] | None:
        runs = dagster_on_postgres.graphql(RUNS)["runsOrError"]["results"]
        done = {r["jobName"] for r in runs if r["status"] == "SUCCESS"}
        failed = [r for r in runs if r["status"] == "FAILURE"]
        assert not failed, failed
        return runs if {"land_learning_events", "daily_learning_analytics"} <= done else None

    runs = dagster_on_postgres.wait_for(finished, "the sensor's landing and daily runs through the daemon", 400, 5)

    # What the UI showed is what Postgres holds: the same runs, their event logs and the sensor's ticks.
    stored = query(postgres_url, "SELECT pipeline_name, status FROM runs")
    assert sorted(stored) == sorted((r["jobName"], r["status"]) for r in runs)
    successes = query(postgres_url, "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'PIPELINE_SUCCESS'")
    assert successes[0][0] == len([r for r in runs if r["status"] == "SUCCESS"])  # RUN_SUCCESS's stored name
    assert query(postgres_url, "SELECT count(*) FROM job_ticks WHERE selector_id IS NOT NULL")[0][0] > 0
    home = dagster_on_postgres.home
    assert "postgres_url" in (home / "dagster.yaml").read_text()
    assert postgres_url not in (home / "dagster.yaml").read_text()  # the URL (and its password) stays in the env
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))  # no SQLite storage beside it

    # The lake the runs wrote is the S3 one: the day's cleaned events are there, none under the Dagster home.
    lake = local_s3_lake(dagster_on_postgres.env["LAKE_ROOT"])
    ids = [i for category in CATEGORIES for path in lake.list_files("cleaned", category.name)
           for i in pq.read_table(path, columns=["event_id"], filesystem=lake.filesystem).column(0).to_pylist()]
    # A tick may have caught the production half-way: what the runs cleaned so far, each event once.
    assert ids and len(ids) == len(set(ids)) <= 300
    assert set(ids) <= {d.event_id for d in report.delivered if d.expected_reason is None}
    assert not list(home.rglob("*.parquet"))
