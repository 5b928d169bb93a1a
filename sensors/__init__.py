"""Everything that decides when to run: jobs, the Kafka sensors, the empty-days sensor, the automation of all-time
views and serving tables, the schedules."""

import dagster as dg

from assets.serving_tables import SERVING_TABLE_KEYS
from assets.views import ALL_TIME_VIEW_KEYS
from sensors.jobs import (
    daily_learning_analytics_job,
    land_learning_events,
    refresh_all_time_views,
    refresh_learning_day,
    train_purchase_model,
    train_recommenders,
)
from sensors.empty_days import empty_days_sensor
from sensors.learning_events import learning_events_sensor
from sensors.streams import (
    movielens_ratings_sensor,
    purchase_features_sensor,
    refresh_course_recommendations,
    refresh_movie_recommendations,
    score_purchase_features,
    user_course_interact_sensor,
)
from sensors.schedules import daily_learning_analytics, weekly_purchase_training, weekly_recommender_training

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
        train_recommenders, refresh_movie_recommendations, refresh_course_recommendations, train_purchase_model,
        score_purchase_features]
SENSORS = [learning_events_sensor, empty_days_sensor, analytics_automation, movielens_ratings_sensor,
           user_course_interact_sensor, purchase_features_sensor]
SCHEDULES = [daily_learning_analytics, weekly_recommender_training, weekly_purchase_training]
