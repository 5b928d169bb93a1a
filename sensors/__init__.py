"""Everything that decides when to run: jobs, the Kafka sensor, the automation of all-time views, the schedule."""

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

# All-time views and serving tables carry AutomationCondition.eager(): this sensor recomputes a view after a
# cleaned table it reads has changed (and not while one is still being written), and syncs a serving table
# after its views did.
analytics_automation = dg.AutomationConditionSensorDefinition(
    "analytics_automation",
    target=dg.AssetSelection.assets(*ALL_TIME_VIEW_KEYS, *SERVING_TABLE_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

JOBS = [land_learning_events, refresh_learning_day, refresh_all_time_views, daily_learning_analytics_job,
        train_recommenders, refresh_movie_recommendations, refresh_course_recommendations, train_purchase_model,
        score_purchase_features]
SENSORS = [learning_events_sensor, analytics_automation, movielens_ratings_sensor, user_course_interact_sensor,
           purchase_features_sensor]
SCHEDULES = [daily_learning_analytics, weekly_recommender_training, weekly_purchase_training]
