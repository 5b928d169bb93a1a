"""The schedules: daily (DAILY_ANALYTICS_CRON, 00:05 UTC by default) yesterday's cleaned tables and date-keyed views
(catching events that arrived late), then the all-time views and serving tables; weekly, the models."""

from datetime import timedelta

import dagster as dg

from sensors.jobs import daily_learning_analytics_job, train_purchase_model, train_recommenders


def build_daily_schedule(cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_learning_analytics",
        cron_schedule=cron,
        execution_timezone="UTC",
        job=daily_learning_analytics_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"`{cron}` UTC (DAILY_ANALYTICS_CRON): yesterday's cleaned tables and date-keyed views, then "
                    "every all-time view and serving table.",
    )
    def daily_learning_analytics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)

    return daily_learning_analytics


def weekly_training(name: str, hour: int, job, run_key_prefix: str,
                    description: str) -> dg.ScheduleDefinition:
    """A model's weekly retraining: Sundays at `hour`:00 UTC, one run per Sunday (the run key holds the date)."""

    @dg.schedule(name=name, cron_schedule=f"0 {hour} * * 0", execution_timezone="UTC", job=job,
                 default_status=dg.DefaultScheduleStatus.RUNNING, description=description)
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"{run_key_prefix}-{context.scheduled_execution_time:%Y-%m-%d}")

    return schedule


weekly_recommender_training = weekly_training(
    "weekly_recommender_training", 3, train_recommenders, "train",
    "Sundays 03:00 UTC: re-tune and retrain the recommenders on everything the streams added, and rewrite their "
    "Cassandra tables (only from models not worse than the serving ones).")
weekly_purchase_training = weekly_training(
    "weekly_purchase_training", 4, train_purchase_model, "purchase",
    "Sundays 04:00 UTC: rebuild the purchase features, retrain the reorder model, and rewrite the predictions "
    "(only from a model that beats its baseline and is not worse than the serving one).")
