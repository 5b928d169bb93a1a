"""The views end to end on the real services: events → sensor runs → every view, checked against a pandas
reference computed from the generator's own records, and a CLI backfill over two days."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipeline.definitions import build_definitions
from pipeline.events.generator import EventGenerator
from pipeline.events.producer import produce
from pipeline.views.materialize import read_view, view_parts
from pipeline.views.registry import all_views
from pipeline_tests.keyspaces import scratch_keyspaces
from sensors.tick import run_sensor_tick

pytestmark = pytest.mark.services
DAGSTER = str(Path(sys.executable).parent / "dagster")
VIEWS = {v.name: v for v in all_views()}


def daily_active_users_reference(records) -> dict:
    """seed-facts view #1 by hand: per UTC day, distinct users and distinct sessions among valid LOGINs."""
    logins = pd.DataFrame(
        [json.loads(r.value) | {"day": r.event_time.date()} for r in records
         if r.topic == "auth_topic" and r.expected_reason is None and not r.duplicate]
    ).query("event_type == 'LOGIN'")
    grouped = logins.groupby("day").agg(users=("user_id", "nunique"), sessions=("session_id", "nunique"))
    return {day: (row.users, row.sessions) for day, row in grouped.iterrows()}


@pytest.fixture
def analytics(services, lake_env):
    """A Cassandra session, with the test keyspace of the speed and serving tables new: only this test's rows."""
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace) as session:
        yield session


def test_every_view_materialises_with_passing_checks_and_a_cli_backfill_covers_two_days(
    fresh_topics, lake_env, analytics, lake, spark, tmp_path
):
    keyspace = lake_env.cassandra_analytics_keyspace
    records = list(EventGenerator(seed=31, days=2, malformed_fraction=0.01).generate(6000))
    produce(fresh_topics, records, len(records), progress=None)
    defs = build_definitions(lake_env)
    with dg.instance_for_test() as instance:
        landing = run_sensor_tick(defs, instance, None)
        days = run_sensor_tick(defs, instance, landing.cursor)
        all_time = defs.resolve_job_def("refresh_all_time_views").execute_in_process(instance=instance)
    results = [*landing.results, *days.results, all_time]
    assert all(r.success for r in results)
    materialized = {e.asset_key.to_user_string() for r in results for e in r.get_asset_materialization_events()}
    assert {f"views/{name}" for name in VIEWS} <= materialized
    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    assert len({(c.asset_key, c.check_name) for c in checks}) >= 4 * len(VIEWS)
    # Every error-level check passes; the all-time views, over all the data, have rows too.
    assert [(c.asset_key.to_user_string(), c.check_name) for c in checks
            if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR] == []
    assert all(c.passed for c in all_time.get_asset_check_evaluations())

    expected = daily_active_users_reference(records)
    dau = VIEWS["auth_daily_active_users"]
    got = {r["date"]: (r["daily_active_users"], r["total_sessions"]) for r in read_view(spark, lake, dau).collect()}
    assert got == expected

    # The landing runs filled the speed windows and the view jobs synced the serving tables, in Cassandra.
    synced = {r.date: (r.daily_active_users, r.total_sessions)
              for r in analytics.execute(f"SELECT * FROM {keyspace}.auth_daily_active_users")}
    assert synced == {str(day): users for day, users in expected.items()}
    courses = analytics.execute(f"SELECT count(*) FROM {keyspace}.course_overview").one()[0]
    assert courses == read_view(spark, lake, VIEWS["course_overview"]).count() > 0
    logins = sum(1 for r in records if r.topic == "auth_topic" and r.expected_reason is None
                 and not r.duplicate and json.loads(r.value)["event_type"] == "LOGIN")
    # Every login is in two sliding windows, so the window counts add up to at most twice the logins.
    windows = [r.active_users for r in analytics.execute(f"SELECT active_users FROM {keyspace}.active_users")]
    assert windows and sum(windows) <= 2 * logins

    # A CLI backfill of two days recreates exactly those two days.
    two_days = sorted(expected)[-2:]
    shutil.rmtree(lake.path(*view_parts(dau)))
    env = {**os.environ, "LAKE_ROOT": lake_env.lake_root, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    cli = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "pipeline.definitions", "--select", "views/auth_daily_active_users",
         "--partition-range", f"{two_days[0]}...{two_days[1]}"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    backfilled = {r["date"]: (r["daily_active_users"], r["total_sessions"])
                  for r in read_view(spark, lake, dau).collect()}
    assert backfilled == {day: expected[day] for day in two_days}
