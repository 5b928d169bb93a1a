"""The code location loads, from Python and from the Dagster CLI, with the expected assets and automation."""

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import yaml

from pipeline.definitions import build_definitions, defs
from pipeline.settings import get_settings

LEARNING_EVENT_ASSETS = {"raw/events", "staged/events", "quarantine/events",
                         *(f"cleaned/{c}" for c in ("auth", "assessment", "video", "course", "profile", "notification"))}

RECOMMENDER_ASSETS = {
    "raw/movielens", "cleaned/movielens/ratings", "cleaned/movielens/movies", "cleaned/movielens/links",
    "models/als_ratings_tuning", "models/als_ratings", "models/als_movie_ranking", "raw/streams/movielens_ratings",
    "cassandra/reco/recommendations",
    "raw/mooc", "cleaned/mooc/users", "cleaned/mooc/courses", "cleaned/mooc/enrolments", "cleaned/mooc/course_map",
    "models/als_course_ranking", "raw/streams/user_course_interact", "cassandra/reco/course_recommendations",
}

PURCHASE_ASSETS = {
    "raw/orders", "cleaned/orders/orders", "cleaned/orders/order_products__prior",
    "cleaned/orders/order_products__train", "cleaned/orders/products",
    *(f"features/purchase/{t}" for t in ("order_products_prior", "user_features_1", "user_features_2", "up_features",
                                         "prd_features", "candidates")),
    "models/purchase_xgboost_tuning", "models/purchase_xgboost", "raw/streams/purchase_features",
    "cassandra/reco/purchase_predictions",
}

SPEED_ASSETS = {f"speed/{v}" for v in ("active_users", "course_popularity", "video_engagement")}
SURVEY_ASSETS = {"raw/streams/student_survey", "cleaned/students", "raw/student_records", "cleaned/student_records",
                 *(f"processed/survey/{q}" for q in (
                     "q00_responses_per_country", "q01_success_by_campus", "q02_who_stops", "q03_students_by_country",
                     "q04_campus_attendance", "q05_fair_impact", "q07_recruiters", "q08_competitors",
                     "q09_pro_contracts_by_status", "q10_contracts_forecast")),
                 "cassandra/university_analytics/survey_results"}
SERVING_ASSETS = {f"cassandra/university_analytics/{t}" for t in (
    "course_overview", "student_overview", "student_course_enrollment", "course_student_enrollment",
    "student_course_detailed", "auth_daily_active_users", "engagement_distribution", "system_summary")}

DAGSTER = str(Path(sys.executable).parent / "dagster")  # the CLI of this environment
ROOT = Path(__file__).resolve().parents[1]


def test_definitions_hold_the_learning_event_assets_checks_sensor_and_schedule():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert LEARNING_EVENT_ASSETS <= keys
    assert len([k for k in keys if k.startswith("views/")]) == 37 + 4
    assert keys - LEARNING_EVENT_ASSETS - RECOMMENDER_ASSETS - PURCHASE_ASSETS - SPEED_ASSETS - SERVING_ASSETS \
        - SURVEY_ASSETS == {
        k for k in keys if k.startswith("views/")}
    check_names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("raw/events", "raw_ranges_contiguous") in check_names
    for category in ("auth", "video"):
        for name in ("schema_matches", "no_duplicate_event_ids", "reconciles", "quarantine_share_below_threshold"):
            assert (f"cleaned/{category}", name) in check_names
    sensor = defs.resolve_sensor_def("learning_events_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {j.name for j in sensor.jobs} == {"land_learning_events", "daily_learning_analytics"}


def test_landing_runs_refresh_the_speed_layer_and_view_jobs_sync_the_serving_tables():
    keys = lambda job: {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.executable_asset_keys}  # noqa: E731
    assert SPEED_ASSETS <= keys("land_learning_events")
    assert "cassandra/university_analytics/auth_daily_active_users" in keys("refresh_learning_day")
    assert SERVING_ASSETS <= keys("refresh_all_time_views")
    assert SERVING_ASSETS <= keys("daily_learning_analytics")
    graph = defs.resolve_asset_graph()
    for key in SERVING_ASSETS:  # also synced after a view materialised from the UI
        assert graph.get(dg.AssetKey.from_user_string(key)).automation_condition is not None
    automation = defs.resolve_sensor_def("analytics_automation")
    assert automation.default_status == dg.DefaultSensorStatus.RUNNING


def test_recommenders_have_their_assets_checks_stream_sensors_and_weekly_training():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert RECOMMENDER_ASSETS <= keys
    check_names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for model in ("als_ratings", "als_movie_ranking", "als_course_ranking"):
        assert (f"models/{model}", "not_worse_than_replaced") in check_names
    assert ("cleaned/mooc/enrolments", "reconciles") in check_names
    for topic, job in (("movielens_ratings", "refresh_movie_recommendations"),
                       ("user_course_interact", "refresh_course_recommendations")):
        sensor = defs.resolve_sensor_def(f"{topic}_sensor")
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert {j.name for j in sensor.jobs} == {job}
    training = {k.to_user_string() for k in defs.resolve_job_def("train_recommenders").asset_layer.selected_asset_keys}
    assert training == {k for k in RECOMMENDER_ASSETS if not k.startswith("raw/streams/")}
    assert defs.resolve_schedule_def("weekly_recommender_training").cron_schedule == "0 3 * * 0"


def test_purchase_prediction_has_its_assets_checks_stream_sensor_and_weekly_training():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert PURCHASE_ASSETS <= keys
    assert graph.get(dg.AssetKey(["features", "purchase", "candidates"])).parent_keys == {
        dg.AssetKey(["cleaned", "orders", "orders"]), dg.AssetKey(["cleaned", "orders", "order_products__train"]),
        *(dg.AssetKey(["features", "purchase", t]) for t in ("up_features", "user_features_1", "user_features_2",
                                                             "prd_features"))}
    assert graph.get(dg.AssetKey(["models", "purchase_xgboost"])).parent_keys == {
        dg.AssetKey(["features", "purchase", "candidates"]), dg.AssetKey(["models", "purchase_xgboost_tuning"])}
    check_names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for name in ("auc_above_baseline", "not_worse_than_replaced"):
        assert ("models/purchase_xgboost", name) in check_names
    sensor = defs.resolve_sensor_def("purchase_features_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {j.name for j in sensor.jobs} == {"score_purchase_features"}
    training = {k.to_user_string() for k in defs.resolve_job_def("train_purchase_model").asset_layer.selected_asset_keys}
    assert training == PURCHASE_ASSETS - {"raw/streams/purchase_features"}
    assert defs.resolve_schedule_def("weekly_purchase_training").cron_schedule == "0 4 * * 0"


def test_daily_schedule_refreshes_yesterday_at_five_past_midnight_utc():
    schedule = defs.resolve_schedule_def("daily_learning_analytics")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("5 0 * * *", "UTC")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 25, 0, 5, tzinfo=timezone.utc),
                                        repository_def=defs.get_repository_def())
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11-24"


def test_the_batches_of_one_stream_run_one_at_a_time_and_spark_runs_one_at_a_time(tmp_path):
    # What the daemon's run queue decides, with the limits the local instance actually loads.
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
        assert instance.run_coordinator.dequeue_interval_seconds == 1  # a queued run waits at most a second
    limits = config.run_queue_config.tag_concurrency_limits
    deploy_config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    deploy = deploy_config["concurrency"]
    assert deploy["runs"]["tag_concurrency_limits"] == limits  # the docker-compose stack queues the same way
    assert deploy["pools"] == {"granularity": "run", "default_limit": 1}
    assert deploy_config["run_queue"] == {"dequeue_interval_seconds": 1}

    # The only tag limit: one run at a time per value of the tag pipeline/serial (Dagster's documented meaning of
    # applyLimitPerUniqueValue). So a run waits exactly for a running run with its own value of that tag.
    assert [dict(limit) for limit in limits] == [
        {"key": "pipeline/serial", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]

    def serial(job: str) -> str | None:
        return defs.resolve_job_def(job).tags.get("pipeline/serial")

    def blocked(job: str, running: str) -> bool:
        return serial(job) is not None and serial(job) == serial(running)

    streams = ["land_learning_events", "refresh_movie_recommendations", "refresh_course_recommendations",
               "score_purchase_features"]
    for job in streams:
        assert blocked(job, running=job), f"two {job} runs at once"
        assert not any(blocked(job, running=other) for other in streams if other != job)
        assert not blocked(job, running="refresh_learning_day")

    # One run holding a Spark asset at a time, however it is launched: the limit is the assets' pool, enforced
    # per run, not a tag that only some jobs carry. (The daemon test watches it hold.)
    assert (config.pool_config.pool_granularity.value, config.pool_config.default_pool_limit) == ("run", 1)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert (node.pools == {"spark"}) == ("spark" in node.kinds), key.to_user_string()


def test_the_spark_pool_is_registered_before_the_daemon_starts(tmp_path):
    """Dagster's run queue only limits pools it already knew at the start of a pass, so a pool first seen with two
    Spark runs queued let both start. `pipeline dagster-home` (make ui, make demo, the tests' `dagster dev`) and
    the compose daemon's command register it first, at dagster.yaml's default limit."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    subprocess.run([str(Path(sys.executable).parent / "pipeline"), "dagster-home"], env=env, check=True, timeout=120)
    assert (tmp_path / "home" / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    shown = subprocess.run([DAGSTER, "instance", "concurrency", "get", "spark"], env=env, capture_output=True,
                           text=True, check=True, timeout=120).stdout
    assert '"spark": 0 / 1 slots occupied' in shown


def test_every_run_executes_in_process_whoever_launches_it():
    """One process per run, so one Spark driver: the UI's Materialize and the automation sensor use the implicit
    asset job, which takes the Definitions' executor like every named job."""
    jobs = [defs.resolve_implicit_global_asset_job_def(), *(defs.resolve_job_def(j.name) for j in defs.jobs)]
    for job in jobs:
        assert job.executor_def.name == dg.in_process_executor.name, job.name


def test_dagster_cli_validates_the_code_location_both_ways(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    for target in (["-m", "pipeline.definitions"], ["-w", "workspace.yaml"], []):
        result = subprocess.run([DAGSTER, "definitions", "validate", *target], capture_output=True, text=True,
                                timeout=300, env=env)
        assert result.returncode == 0, (target, result.stdout[-2000:], result.stderr[-2000:])
        assert "Validation successful" in result.stdout + result.stderr, target


def test_every_sensor_job_and_schedule_says_what_it_does():
    described = [*defs.sensors, *defs.schedules, *(defs.resolve_job_def(j.name) for j in defs.jobs)]
    assert len(described) == 7 + 3 + 10
    for definition in described:
        assert definition.description and len(definition.description) > 40, definition.name


def test_the_daily_partitions_start_at_the_configured_events_start_date():
    defs = build_definitions(get_settings(events_start_date="2024-06-30"))
    graph = defs.resolve_asset_graph()
    starts = {graph.get(key).partitions_def.get_first_partition_key() for key in graph.get_all_asset_keys()
              if graph.get(key).partitions_def}
    assert starts == {"2024-06-30"}
    assert defs.resolve_job_def("daily_learning_analytics").partitions_def.get_first_partition_key() == "2024-06-30"
