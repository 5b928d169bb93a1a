"""Daily schedule: at 00:05 UTC (DAILY_ANALYTICS_CRON) rebuild yesterday (cleaned tables and date-keyed views, catching events that
arrived late), then the all-time views."""

from datetime import timedelta

import dagster as dg

from pipeline.settings import get_settings
from sensors.jobs import daily_learning_analytics_job, train_purchase_model, train_recommenders


@dg.schedule(
    name="daily_learning_analytics",
    cron_schedule=get_settings().daily_analytics_cron,
    execution_timezone="UTC",
    job=daily_learning_analytics_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="00:05 UTC (DAILY_ANALYTICS_CRON): yesterday's cleaned tables and date-keyed views, then every "
                "all-time view and serving table.",
)
def daily_learning_analytics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)


@dg.schedule(
    name="weekly_recommender_training",
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    job=train_recommenders,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 03:00 UTC: re-tune and retrain the recommenders on everything the streams added, and "
                "rewrite their Cassandra tables (only from models not worse than the serving ones).",
)
def weekly_recommender_training(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"train-{context.scheduled_execution_time:%Y-%m-%d}")


@dg.schedule(
    name="weekly_purchase_training",
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    job=train_purchase_model,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 04:00 UTC: rebuild the purchase features, retrain the reorder model, and rewrite the "
                "predictions (only from a model that beats its baseline and is not worse than the serving one).",
)
def weekly_purchase_training(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"purchase-{context.scheduled_execution_time:%Y-%m-%d}")
