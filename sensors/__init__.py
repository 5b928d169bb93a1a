"""Everything that decides when to run: jobs, the Kafka sensor, the automation of all-time views, the schedule."""

import dagster as dg

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

# All-time views carry AutomationCondition.eager(): this sensor recomputes them after a cleaned table they
# read has changed (and not while one is still being written).
all_time_views_automation = dg.AutomationConditionSensorDefinition(
    "all_time_views_automation",
    target=dg.AssetSelection.assets(*ALL_TIME_VIEW_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

JOBS = [land_learning_events, refresh_learning_day, refresh_all_time_views, daily_learning_analytics_job,
        train_recommenders, refresh_movie_recommendations, refresh_course_recommendations, train_purchase_model,
        score_purchase_features]
SENSORS = [learning_events_sensor, all_time_views_automation, movielens_ratings_sensor, user_course_interact_sensor,
           purchase_features_sensor]
SCHEDULES = [daily_learning_analytics, weekly_recommender_training, weekly_purchase_training]
