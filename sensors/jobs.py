"""The jobs the sensor and the schedule launch. Spark jobs run in-process: one SparkSession per run."""

import dagster as dg

from assets.learning_events import CLEANED_KEYS, QUARANTINE_EVENTS, RAW_EVENTS, STAGED_EVENTS
from assets.partitions import daily_partitions

SPARK_TAGS = {"pipeline/spark": "true"}  # dagster.yaml limits how many of these run at once

land_learning_events = dg.define_asset_job(
    "land_learning_events",
    selection=dg.AssetSelection.assets(RAW_EVENTS, STAGED_EVENTS, QUARANTINE_EVENTS),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="Land Kafka offset ranges into the raw zone, then validate them into staged + quarantine.",
)

clean_learning_events = dg.define_asset_job(
    "clean_learning_events",
    selection=dg.AssetSelection.assets(*CLEANED_KEYS),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    tags=SPARK_TAGS,
    description="Rebuild the cleaned tables of one UTC day from every staged batch of that day.",
)
