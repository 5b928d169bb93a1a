"""Learning events end to end against the real services: Kafka → sensor → landing → staging → cleaned.

Expected outcomes come from the generator's own record of what it sent (which records it broke and how,
which it sent twice) and from Kafka's delivery reports, never from the pipeline under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
import sys
import textwrap
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from pipeline.definitions import build_definitions
from pipeline.events.catalogue import CATEGORIES
from pipeline.events.generator import EventGenerator
from pipeline.events.landing import find_gaps, landed_ranges
from pipeline.events.producer import produce
from pipeline.kafka import watermarks
from sensors.learning_events import RANGE_END, RANGE_START
from sensors.tick import run_sensor_tick

pytestmark = pytest.mark.services

DAGSTER = str(Path(sys.executable).parent / "dagster")  # the CLI of this environment


def produce_events(config, seed: int, count: int, **options):
    generator = EventGenerator(seed=seed, days=2, **options)
    records = list(generator.generate(count))
    return records, produce(config, records, count, progress=None)


def requested_days(requests: list[dg.RunRequest]) -> list[str]:
    """The days the cleaning requests cover: a partition each, or a range of consecutive days each."""
    days = []
    for request in requests:
        first, last = request.tags.get(RANGE_START, request.partition_key), request.tags.get(RANGE_END)
        day, end = date.fromisoformat(first), date.fromisoformat(last or first)
        while day <= end:
            days.append(day.isoformat())
            day += timedelta(days=1)
    return sorted(days)


def cleaned_event_ids(spark, lake) -> Counter:
    ids = Counter()
    for category in CATEGORIES:
        if lake.list_files("cleaned", category.name):
            ids.update(r["event_id"] for r in spark.read.parquet(lake.uri("cleaned", category.name)).collect())
    return ids


def quarantined(spark, lake) -> dict[tuple[str, int, int], str]:
    if not lake.list_files("quarantine", "events"):
        return {}
    rows = spark.read.parquet(lake.uri("quarantine", "events")).collect()
    return {(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]): r["reason"] for r in rows}


def test_sensor_plans_one_landing_run_for_everything_new_then_skips(fresh_topics, lake_env):
    produce_events(fresh_topics, seed=21, count=400)
    defs = build_definitions(lake_env)
    sensor = defs.resolve_sensor_def("learning_events_sensor")
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources) as context:
            first = sensor.evaluate_tick(context)
        [request] = first.run_requests
        ends = watermarks(fresh_topics, [c.topic for c in CATEGORIES])
        planned = {(r["topic"], r["partition"]): (r["start"], r["end"])
                   for r in request.run_config["ops"]["raw__events"]["config"]["ranges"]}
        assert planned == {tp: (0, high) for tp, (_, high) in ends.items() if high > 0}
        assert request.run_config["ops"]["raw__events"] == request.run_config["ops"]["stage_learning_events"]
        assert request.partition_key == datetime.now(timezone.utc).strftime("%Y-%m-%d")
        assert json.loads(first.cursor)["offsets"] == {f"{t}:{p}": high for (t, p), (_, high) in ends.items()}

        with dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs,
                                     resources=defs.resources) as context:
            again = sensor.evaluate_tick(context)
        assert not again.run_requests and again.skip_message

        # A cursor beyond the end offsets means the topics were re-created: land them again from the start.
        ahead = json.dumps({"offsets": {f"{t}:{p}": 10**6 for (t, p) in ends}, "staged_after": 0})
        with dg.build_sensor_context(instance=instance, cursor=ahead, definitions=defs,
                                     resources=defs.resources) as context:
            [reset] = sensor.evaluate_tick(context).run_requests
        assert reset.run_config == request.run_config


def test_every_valid_event_is_cleaned_exactly_once_and_every_malformed_one_is_quarantined(
    fresh_topics, lake_env, lake, spark, tmp_path
):
    records, report = produce_events(fresh_topics, seed=22, count=3000, malformed_fraction=0.05,
                                     duplicate_fraction=0.03)
    assert len(report.delivered) == 3000
    defs = build_definitions(lake_env.model_copy(update={"quarantine_max_share": 0.2}))  # 5% broken on purpose
    with dg.instance_for_test() as instance:
        landing = run_sensor_tick(defs, instance, None)
        assert [r.job_def.name for r in landing.results] == ["land_learning_events"] and landing.success
        cleaning = run_sensor_tick(defs, instance, landing.cursor)
        assert cleaning.results and all(r.job_def.name == "daily_learning_analytics" for r in cleaning.results)
        assert cleaning.success
        checks = [c for r in landing.results + cleaning.results for c in r.get_asset_check_evaluations()]
        assert checks and [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR] == []

    valid_ids = {d.event_id for d in report.delivered if d.expected_reason is None}
    malformed = {(d.topic, d.partition, d.offset): d.expected_reason for d in report.delivered if d.expected_reason}
    assert len(malformed) > 100 and sum(d.duplicate for d in report.delivered) > 50
    ids = cleaned_event_ids(spark, lake)
    assert set(ids) == valid_ids
    assert max(ids.values()) == 1
    assert quarantined(spark, lake) == malformed

    # Landing the same batch again overwrites: nothing is duplicated anywhere.
    [request] = landing.requests
    with dg.instance_for_test() as instance:
        rerun = defs.resolve_job_def("land_learning_events").execute_in_process(
            run_config=request.run_config, partition_key=request.partition_key, instance=instance)
        assert rerun.success
        for day in requested_days(cleaning.requests):
            assert defs.resolve_job_def("refresh_learning_day").execute_in_process(
                partition_key=day, instance=instance).success
    assert find_gaps(landed_ranges(lake)) == []
    assert cleaned_event_ids(spark, lake) == ids
    assert quarantined(spark, lake) == malformed

    # The CLI materialises one cleaned partition: rebuild a day of auth events from the staged zone.
    day = requested_days(cleaning.requests)[-1]
    expected_rows = sum(
        1 for r in records
        if r.topic == "auth_topic" and r.expected_reason is None and not r.duplicate
        and r.event_time.strftime("%Y-%m-%d") == day
    )
    env = {**os.environ, "LAKE_ROOT": lake_env.lake_root, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    subprocess.run(["rm", "-rf", lake.path("cleaned", "auth", f"date={day}")], check=True)
    cli = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "pipeline.definitions", "--select", "cleaned/auth",
         "--partition", day],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert spark.read.parquet(lake.uri("cleaned", "auth", f"date={day}")).count() == expected_rows


KILL_AFTER_THIRD_RANGE = textwrap.dedent(
    """
    import os, signal, sys, json
    import dagster as dg
    from pipeline.lake import Lake
    from pipeline.definitions import defs

    original, written = Lake.write_parquet, []
    def write_then_die(self, table, *parts):
        path = original(self, table, *parts)
        written.append(path)
        if len(written) == 3:  # the landing process dies half-way through its batch
            os.kill(os.getpid(), signal.SIGKILL)
        return path
    Lake.write_parquet = write_then_die

    request = json.loads(sys.argv[1])
    job = defs.resolve_job_def("land_learning_events")
    with dg.instance_for_test() as instance:
        job.execute_in_process(run_config=request["run_config"], partition_key=request["partition_key"],
                               instance=instance)
    """
)


def test_a_landing_killed_half_way_is_retried_without_loss_or_duplicates(fresh_topics, lake_env, lake, spark):
    records, report = produce_events(fresh_topics, seed=23, count=2000)
    defs = build_definitions(lake_env)
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources) as context:
            tick = defs.resolve_sensor_def("learning_events_sensor").evaluate_tick(context)
    [request] = tick.run_requests
    ranges = request.run_config["ops"]["raw__events"]["config"]["ranges"]
    assert len(ranges) > 3

    payload = json.dumps({"run_config": request.run_config, "partition_key": request.partition_key})
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_THIRD_RANGE, payload], env=os.environ.copy(),
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(landed_ranges(lake)) == 3  # the rest of the batch is missing: a visible hole, not a silent one

    with dg.instance_for_test() as instance:  # the retry: same run config, same partition
        retry = defs.resolve_job_def("land_learning_events").execute_in_process(
            run_config=request.run_config, partition_key=request.partition_key, instance=instance)
        assert retry.success
        assert all(c.passed for c in retry.get_asset_check_evaluations())
        cleaning = run_sensor_tick(defs, instance, tick.cursor)
        assert cleaning.success
    assert len(landed_ranges(lake)) == len(ranges) and find_gaps(landed_ranges(lake)) == []
    assert cleaned_event_ids(spark, lake) == Counter({d.event_id: 1 for d in report.delivered})
