"""Everything that decides when to run: jobs, the Kafka sensors, the empty-days sensor, the automation of all-time
views and serving tables, the schedules. Sensor intervals and the daily cron come from the settings, through
`build_sensors` and `build_schedules`."""

import dagster as dg

from assets.serving_tables import SERVING_TABLE_KEYS
from assets.views import ALL_TIME_VIEW_KEYS
from pipeline.settings import Settings
from sensors.empty_days import empty_days_sensor
from sensors.jobs import (
    daily_learning_analytics_job,
    land_learning_events,
    refresh_all_time_views,
    refresh_learning_day,
    train_purchase_model,
    train_recommenders,
)
from sensors.learning_events import build_learning_events_sensor
from sensors.schedules import build_daily_schedule, weekly_purchase_training, weekly_recommender_training
from sensors.streams import STREAM_JOBS, STREAM_REFRESHES, build_stream_sensor

# All-time views and serving tables carry AFTER_INPUTS_CHANGE (assets/partitions.py): this sensor recomputes a
# view after a cleaned table it reads has changed (and not while one is still being written), and syncs a serving
# table after its views did. Its runs execute in-process like every run, and queue in the Spark pool.
analytics_automation = dg.AutomationConditionSensorDefinition(
    "analytics_automation",
    target=dg.AssetSelection.assets(*ALL_TIME_VIEW_KEYS, *SERVING_TABLE_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Recomputes the all-time views after a cleaned table they read changed (a landing day was "
                "cleaned, from any launch), then syncs the serving tables in Cassandra after their views changed. "
                "Every 30 s; the Automation tab of each asset shows why it was or was not requested.",
)

JOBS = [land_learning_events, refresh_learning_day, refresh_all_time_views, daily_learning_analytics_job,
        train_recommenders, train_purchase_model, *STREAM_JOBS.values()]


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    return [build_learning_events_sensor(settings.landing_sensor_interval_seconds), empty_days_sensor,
            analytics_automation,
            *(build_stream_sensor(r, settings.stream_sensor_interval_seconds) for r in STREAM_REFRESHES)]


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    return [build_daily_schedule(settings.daily_analytics_cron), weekly_recommender_training,
            weekly_purchase_training]
