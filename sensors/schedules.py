"""Daily schedule: at 00:05 UTC rebuild yesterday's cleaned tables, catching events that arrived late."""

from datetime import timedelta

import dagster as dg

from sensors.jobs import clean_learning_events


@dg.schedule(
    name="daily_learning_events",
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    job=clean_learning_events,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="00:05 UTC: materialise yesterday's partitions.",
)
def daily_learning_events(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)
