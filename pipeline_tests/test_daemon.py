"""The paths users take, through the real webserver and daemon (`dagster dev`, what `make ui` starts).

Events are published with a plain confluent-kafka producer, in the original producer's format, as a user's own
client would; nothing in this process evaluates a sensor or executes a run. Expected values are counted by hand
from the events below.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from confluent_kafka import Producer

from assets.keys import RAW_EVENTS
from pipeline.definitions import defs
from pipeline.events.producer import topic_specs
from pipeline.kafka import client_config
from pipeline.services.dagster_dev import DagsterDev, get_json, pipeline_serve
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.topics import recreate_topics
from pipeline_tests.ui import LOCATION, finished, launch_materialisation
from resources import SPARK_POOL, build_resources

pytestmark = [pytest.mark.services, pytest.mark.daemon]

KEYSPACE, RECO_KEYSPACE = "university_analytics_daemon", "reco_daemon"
SOURCE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the original producer's local time (EVENTS_SOURCE_TIMEZONE)
TOPIC = {"AUTH": "auth_topic", "VIDEO": "video_topic", "COURSE": "course_topic"}


def event(category: str, event_type: str, user: str, when: datetime, role: str = "student", **fields) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_category": category, "event_type": event_type, "user_id": user,
            "role": role, "timestamp": when.astimezone(SOURCE_ZONE).strftime("%Y-%m-%d %H:%M:%S"), **fields}


def login(user: str, when: datetime) -> dict:
    return event("AUTH", "LOGIN", user, when, session_id=str(uuid.uuid4()))


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Published:
    at: datetime

    @property
    def today(self) -> date:
        return self.at.date()

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    @property
    def earlier(self) -> list[date]:  # the CLI backfill's two days
        return [self.today - timedelta(days=3), self.today - timedelta(days=2)]

    def events(self) -> list[dict]:
        """Today: S1 logs in twice, S2..S5 once (5 daily active users, 6 logins), S1 watches a video and enrols.
        Yesterday: S1, S6, S7 log in (3). Three days and two days ago: S8 and S9 log in (1 each)."""
        now = self.at
        return [
            login("S1", now - timedelta(seconds=90)), login("S1", now - timedelta(seconds=30)),
            *(login(f"S{i}", now - timedelta(seconds=10 * i)) for i in range(2, 6)),
            event("VIDEO", "VIDEO_WATCHED", "S1", now - timedelta(seconds=20), video_id="VID001",
                  course_id="COURSE001", session_id=str(uuid.uuid4()), watch_duration_seconds=300),
            event("COURSE", "COURSE_ENROLLED", "S1", now - timedelta(seconds=60), course_id="COURSE001"),
            *(login(user, noon(self.yesterday)) for user in ("S1", "S6", "S7")),
            login("S8", noon(self.earlier[0])), login("S9", noon(self.earlier[1])),
        ]


@pytest.fixture(scope="module")
def dagster_dev(services, tmp_path_factory):
    """`dagster dev` on a scratch instance, lake and Cassandra keyspace, the learning-event topics empty."""
    recreate_topics(client_config(services), topic_specs())
    root = tmp_path_factory.mktemp("daemon")
    tick = datetime.now(timezone.utc) + timedelta(minutes=2)
    env = {"LAKE_ROOT": str(root / "lake"), "CASSANDRA_ANALYTICS_KEYSPACE": KEYSPACE,
           "CASSANDRA_RECO_KEYSPACE": RECO_KEYSPACE,  # the stream sensors land what the topics hold
           "LANDING_SENSOR_INTERVAL_SECONDS": "5", "SPARK_DRIVER_MEMORY": "2g", "SPARK_SHUFFLE_PARTITIONS": "2",
           "DAILY_ANALYTICS_CRON": f"{tick.minute} {tick.hour} * * *"}  # one tick, two minutes from now
    with scratch_keyspaces(services, KEYSPACE, RECO_KEYSPACE), DagsterDev(root / "home", env) as dagster_dev:
        yield dagster_dev


@pytest.fixture(scope="module")
def published(dagster_dev, services) -> Published:
    """The events above, sent by a plain idempotent producer once the daemon runs (with the sensor's default
    LANDING_STARTING_OFFSETS=earliest, records sent before its first tick would be landed too)."""
    published = Published(datetime.now(timezone.utc).replace(microsecond=0))
    producer = Producer({**client_config(services), "enable.idempotence": True})
    for record in published.events():
        producer.produce(TOPIC[record["event_category"]], key=record["user_id"].encode(),
                         value=json.dumps(record).encode())
    assert producer.flush(30) == 0
    return published


@pytest.fixture(scope="module")
def instance(dagster_dev):
    with dg.DagsterInstance.from_config(str(dagster_dev.home)) as instance:
        yield instance


@pytest.fixture(scope="module")
def cassandra(services):
    """A session opened as the pipeline opens one (with the credentials and TLS the settings name, if any)."""
    with build_resources(services)["cassandra"].session() as session:
        yield session


@pytest.fixture(scope="module")
def api(dagster_dev):
    """`pipeline serve` as users start it, on the daemon's keyspace."""
    with pipeline_serve(dagster_dev.env) as base:
        yield base


def latest(instance: dg.DagsterInstance, key: list[str], partition: str | None = None) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None),
        limit=1).records
    return records[0] if records else None


def rows(record: dg.EventLogRecord | None, day: str | None = None) -> int | None:
    """The rows the materialisation reports (for `day`, when a run covered a range of days)."""
    if record is None:
        return None
    metadata = record.asset_materialization.metadata
    return metadata["rows_per_day"].value[day] if "rows_per_day" in metadata else metadata["dagster/row_count"].value


def test_published_events_reach_every_layer_and_the_api_with_nobody_acting(dagster_dev, instance, cassandra, api,
                                                                            published):
    today, yesterday = str(published.today), str(published.yesterday)
    timings = {}

    def reached(stage: str, condition, seconds: float = 600):
        dagster_dev.wait_for(condition, f"{stage} did not happen", seconds, interval=2)
        timings[stage] = (datetime.now(timezone.utc) - published.at).total_seconds()
        print(f"  {stage}: {timings[stage]:.0f} s after publishing", flush=True)

    reached("landing", lambda: rows(latest(instance, ["raw", "events"], today)))  # landed today
    # Cleaned by a run (the empty-days sensor records closed days without events as 0 rows, without a run).
    reached("cleaned days", lambda: rows(latest(instance, ["cleaned", "auth"], today), today) == 6
            and rows(latest(instance, ["cleaned", "auth"], yesterday), yesterday) == 3)
    reached("date-keyed views",
            lambda: rows(latest(instance, ["views", "auth_daily_active_users"], today), today) == 1)
    cleaned_at = max(latest(instance, ["cleaned", c], today).storage_id for c in ("auth", "video", "course"))
    reached("all-time views", lambda: (r := latest(instance, ["views", "student_overview"]))
            and r.storage_id > cleaned_at and rows(r) == 1)

    def overview():
        row = cassandra.execute(f"SELECT * FROM {KEYSPACE}.student_overview WHERE student_id = 'S1'").one()
        return row and (row.total_courses_enrolled, row.total_videos_watched, row.total_logins)

    reached("serving tables", lambda: overview() == (1, 1, 3))
    reached("API", lambda: (get_json(api + "/analytics/student/S1") or {}).get("total_logins") == 3, 60)

    def batch_dau() -> dict[str, int]:
        return {r["date"]: r["active_users"] for r in get_json(api + "/analytics/dau?days=3&hours=1") or []
                if r["source"] == "batch"}

    # The run syncs each serving table in a step of its own: the daily-active-users one may come after the overview.
    reached("daily active users", lambda: {yesterday, today} <= batch_dau().keys(), 120)
    dau = batch_dau()
    assert dau[yesterday] == 3
    assert dau[today] == 5  # today's partial day, from the batch views
    speed = [r for r in get_json(api + "/analytics/dau?days=1&hours=1") if r["source"] == "speed"]
    assert speed and max(r["active_users"] for r in speed) >= 1  # the speed windows of the last minutes

    # One run holding a Spark asset at a time: no two such runs overlapped (one may still be running).
    spark_runs = sorted((r.start_time, r.end_time or float("inf"), r.dagster_run.job_name)
                        for r in instance.get_run_records() if r.start_time and holds_spark(r.dagster_run))
    assert spark_runs
    for (_, end, first), (start, _, second) in zip(spark_runs, spark_runs[1:]):
        assert end <= start, f"{first} and {second} ran at once"


def holds_spark(run: dg.DagsterRun) -> bool:
    """Whether the run executes an asset of the Spark pool (what the pool counts)."""
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def() if run.job_name == "__ASSET_JOB" else defs.resolve_job_def(
        run.job_name)
    keys = run.asset_selection or job.asset_layer.executable_asset_keys
    return any(graph.get(key).pools == {SPARK_POOL} for key in keys)


def test_the_empty_days_before_the_first_event_are_empty_partitions_not_missing_history(dagster_dev, instance,
                                                                                         published):
    def filled(key: list[str]) -> set[str]:
        return instance.get_materialized_partitions(dg.AssetKey(key))

    day_before, yesterday = str(published.earlier[0] - timedelta(days=1)), str(published.yesterday)
    keys = (["raw", "events"], ["staged", "events"], ["cleaned", "auth"], ["cleaned", "notification"],
            ["views", "auth_daily_active_users"])

    def missing() -> dict[str, list[str]]:
        return {"/".join(k): sorted({day_before, yesterday} - filled(k)) for k in keys
                if {day_before, yesterday} - filled(k)}

    dagster_dev.wait_for(lambda: not missing(), "days still missing", 120, interval=2)
    # Before the first event nothing was landed or cleaned: every closed day of the history is filled.
    assert defs.resolve_assets_def(RAW_EVENTS).partitions_def.get_first_partition_key() in filled(["cleaned", "notification"])
    # A day without events has a 0-row record, and no run made it.
    record = latest(instance, ["cleaned", "notification"], day_before)
    assert rows(record) == 0 and not record.run_id


def test_a_materialisation_launched_as_the_ui_does_runs_its_steps_in_one_process(dagster_dev, instance):
    # Two views (one step: the all-time views' multi-asset, subset to these two) and a serving table synced from
    # one of them (a second step).
    keys = [["views", "video_popularity"], ["views", "course_overview"],
            ["cassandra", "university_analytics", "course_overview"]]
    # The UI's Materialize selects the assets and their checks.
    checks = [{"assetKey": {"path": c.asset_key.path}, "name": c.name}
              for c in defs.resolve_asset_graph().asset_check_keys if c.asset_key.path in keys]
    run_id = launch_materialisation(dagster_dev, keys, checks)
    assert dagster_dev.wait_for(lambda: finished(dagster_dev, run_id), "the launched run did not finish", 600,
                                interval=2) == "SUCCESS"
    steps = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
    assert sorted(e.dagster_event.step_key for e in steps) == ["cassandra__university_analytics__course_overview",
                                                              "learning_views_all_time"]
    materialised = {tuple(e.dagster_event.event_specific_data.materialization.asset_key.path)
                    for e in instance.all_logs(run_id)
                    if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
    assert materialised == {tuple(k) for k in keys}  # the subset, not every all-time view
    # A SparkSession belongs to its process: one process for every step is one Spark driver.
    assert len({e.dagster_event.pid for e in steps}) == 1


def test_the_daily_schedule_ticks_through_the_daemon_and_rebuilds_yesterday(dagster_dev, instance, published):
    def schedule_run():
        runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/schedule_name": "daily_learning_analytics"}))
        return runs[0].dagster_run if runs else None

    run = dagster_dev.wait_for(schedule_run, "the schedule created no run", 300, interval=2)
    assert run.job_name == "daily_learning_analytics"
    assert run.tags["dagster/partition"] == str(published.yesterday)
    assert dagster_dev.wait_for(lambda: finished(dagster_dev, run.run_id), "the schedule's run did not finish", 900,
                        interval=3) == "SUCCESS"
    yesterday = str(published.yesterday)
    assert rows(latest(instance, ["cleaned", "auth"], yesterday), yesterday) == 3


def test_a_cli_backfill_over_two_days_completes_both_partitions_through_the_daemon(dagster_dev, instance, published):
    first, last = map(str, published.earlier)
    result = dagster_dev.cli("job", "backfill", "-w", "workspace.yaml", "-j", "refresh_learning_day",
                     "--from", first, "--to", last, "--noprompt")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    def backfill_runs():
        runs = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(job_name="refresh_learning_day"))
                if "dagster/backfill" in r.dagster_run.tags]
        done = [r for r in runs if r.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)]
        return runs if len(done) == 2 else None

    runs = dagster_dev.wait_for(backfill_runs, "the backfill's two runs did not finish", 900, interval=3)
    assert sorted(r.tags["dagster/partition"] for r in runs) == [first, last]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    for day in (first, last):
        record = latest(instance, ["cleaned", "auth"], day)
        assert rows(record, day) == 1 and record.run_id in {r.run_id for r in runs}


RESOURCE = """
query Resource($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    __typename
    ... on ResourceDetails { configuredValues { key value type } }
  }
}"""
SENSOR = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { __typename ... on Sensor { minIntervalSeconds } }
}"""


def test_the_ui_shows_the_settings_as_resource_values_and_sensor_intervals(dagster_dev):
    """What Deployment → Resources and the sensor page show: the values of this instance's environment."""
    def values(resource: str) -> dict:
        details = dagster_dev.graphql(RESOURCE, {"selector": {**LOCATION, "resourceName": resource}})
        details = details["topLevelResourceDetailsOrError"]
        assert details["__typename"] == "ResourceDetails", details
        return {v["key"]: json.loads(v["value"]) for v in details["configuredValues"] if v["type"] == "VALUE"}

    cassandra = values("cassandra")
    assert (cassandra["analytics_keyspace"], cassandra["reco_keyspace"]) == (KEYSPACE, RECO_KEYSPACE)
    assert values("spark")["shuffle_partitions"] == 2
    assert values("quality") == {"quarantine_max_share": 0.05, "model_tolerance": 0.002}
    assert values("events")["source_timezone"] == "Asia/Ho_Chi_Minh"
    sensor = dagster_dev.graphql(SENSOR, {"selector": {**LOCATION, "sensorName": "learning_events_sensor"}})
    assert sensor["sensorOrError"]["minIntervalSeconds"] == 5  # LANDING_SENSOR_INTERVAL_SECONDS of this instance
