"""The jobs of the learning events and the models: the landing sensor and the schedules launch some, users the
others (`refresh_learning_day`, `refresh_all_time_views` from the UI or `dagster job execute`); the stream jobs
are in `sensors/streams.py`. Every run executes in-process (the executor of the Definitions): one process, so
one SparkSession, per run."""

import dagster as dg

from assets.keys import QUARANTINE_EVENTS, RAW_EVENTS, STAGED_EVENTS
from assets.learning_events import CLEANED_KEYS
from assets.serving_tables import DAILY_ACTIVE_USERS_TABLE, SERVING_TABLE_KEYS
from assets.speed import refresh_speed_views
from assets.views import ALL_TIME_VIEW_KEYS, DATE_KEYED_VIEW_KEYS


def serial(stream: str) -> dict[str, str]:
    """Tags that make a stream's runs go one at a time (dagster.yaml: one run per value). Each batch reads state
    earlier batches wrote (the speed zone's day events, a user's whole history) and writes results from it: two
    batches at once could each miss the other's records and the later write would keep that gap."""
    return {"pipeline/serial": stream}


land_learning_events = dg.define_asset_job(
    "land_learning_events",
    selection=dg.AssetSelection.assets(RAW_EVENTS, STAGED_EVENTS, QUARANTINE_EVENTS, *refresh_speed_views.keys),
    tags=serial("learning_events"),
    description="Land Kafka offset ranges into the raw zone, validate them into staged + quarantine, and add the "
                "staged events to the speed layer's windows (speed zone and Cassandra).",
)

refresh_learning_day = dg.define_asset_job(
    "refresh_learning_day",
    selection=dg.AssetSelection.assets(*CLEANED_KEYS, *DATE_KEYED_VIEW_KEYS, DAILY_ACTIVE_USERS_TABLE),
    description="Rebuild one UTC day (or a range of days, in one run): the cleaned tables from every staged batch "
                "of that day, then the date-keyed views, then the daily-active-users serving table.",
)

refresh_all_time_views = dg.define_asset_job(
    "refresh_all_time_views",
    selection=dg.AssetSelection.assets(*ALL_TIME_VIEW_KEYS, *SERVING_TABLE_KEYS),
    description="Recompute the all-time views (per user, per course, per video) from the whole cleaned zone, "
                "then sync the serving tables in Cassandra.",
)

daily_learning_analytics_job = dg.define_asset_job(
    "daily_learning_analytics",
    selection=dg.AssetSelection.assets(*CLEANED_KEYS, *DATE_KEYED_VIEW_KEYS, *ALL_TIME_VIEW_KEYS,
                                       *SERVING_TABLE_KEYS),
    description="A day's (or a range of days') cleaned tables and date-keyed views, then the all-time views, then "
                "the serving tables: the daily schedule runs all of it for yesterday, the landing sensor what its "
                "batches touched.",
)

# Everything of the two recommenders except their Kafka streams (which only the stream sensors land).
RECOMMENDER_TRAINING = (dg.AssetSelection.groups("movie_recs", "course_recs")
                        - dg.AssetSelection.key_prefixes(["raw", "streams"]))

train_recommenders = dg.define_asset_job(
    "train_recommenders",
    selection=RECOMMENDER_TRAINING,
    description="Copy and clean the MovieLens and MOOC sources, tune and train the ALS models, and rewrite the "
                "Cassandra top-10 tables from the models that pass their checks.",
)

train_purchase_model = dg.define_asset_job(
    "train_purchase_model",
    selection=dg.AssetSelection.groups("purchase") - dg.AssetSelection.key_prefixes(["raw", "streams"]),
    description="Copy and clean the order history, build the features, train the XGBoost reorder model and "
                "rewrite the Cassandra purchase predictions from it if it passes its checks.",
)
