"""Cleaned tables (Spark): one row per event_id, per category and UTC day.

`clean_partition` reads every staged batch of one category and day (written by `validation.stage_batch`),
keeps the first copy of each `event_id` in Kafka order and overwrites `cleaned/<category>/date=<day>/`.
Nothing is dropped silently: the records filed under a category and day are the staged ones plus the
quarantined ones, and staged = cleaned + duplicates; `CleanedPartition` holds the counts, read back from
the lake, that the asset checks compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.events.catalogue import Category
from pipeline.events.validation import STAGED_ZONE, quarantined_counts
from pipeline.lake import Lake

CLEANED_ZONE = ("cleaned",)


def cleaned_parts(category: str, day: str | date) -> tuple[str, ...]:
    return (*CLEANED_ZONE, category, f"date={day}")


def staged_partition(spark: SparkSession, lake: Lake, category: Category, day: str) -> DataFrame:
    """Every staged record of a category and day, across batches (empty, with the schema, if none)."""
    parts = (*STAGED_ZONE, f"category={category.name}", f"date={day}")
    if not lake.list_files(*parts):
        return spark.createDataFrame([], category.cleaned_schema)
    return spark.read.schema(category.cleaned_schema).parquet(lake.uri(*parts))


def deduplicate(staged: DataFrame, category: Category) -> DataFrame:
    """One row per event_id, the first in Kafka order, with exactly the cleaned schema of the category."""
    first = Window.partitionBy("event_id").orderBy("kafka_topic", "kafka_partition", "kafka_offset")
    return (
        staged.withColumn("_n", F.row_number().over(first))
        .where(F.col("_n") == 1)
        .select(*category.cleaned_schema.fieldNames())
    )


@dataclass(frozen=True)
class CleanedPartition:
    """What `clean_partition` wrote for one category and day, counted back from the lake."""

    category: str
    day: str
    path: str
    staged_rows: int
    distinct_event_ids: int  # among staged rows
    cleaned_rows: int  # read back from the written table
    duplicate_ids_written: int  # event ids that occur more than once in the written table
    quarantined_rows: int
    quarantined_dated_rows: int  # quarantined records filed here by their event's own timestamp
    written_schema: T.StructType

    @property
    def duplicates(self) -> int:
        return self.staged_rows - self.distinct_event_ids

    @property
    def raw_rows(self) -> int:
        """Records filed under this category and day: staged (valid) plus quarantined."""
        return self.staged_rows + self.quarantined_rows

    @property
    def quarantine_share(self) -> float:
        """Share of this day's events that were quarantined. Records without a usable timestamp are filed
        under their landing day whatever day they belong to, so they are left out here (the batch-level check
        on staged/events counts them)."""
        dated = self.staged_rows + self.quarantined_dated_rows
        return self.quarantined_dated_rows / dated if dated else 0.0


def clean_partition(spark: SparkSession, lake: Lake, category: Category, day: str) -> CleanedPartition:
    """De-duplicate every staged batch of one category and day into `cleaned/<category>/date=<day>`."""
    parts = cleaned_parts(category.name, day)
    staged = staged_partition(spark, lake, category, day).persist()
    try:
        deduplicate(staged, category).write.mode("overwrite").parquet(lake.uri(*parts))
        counts = staged.agg(F.count("*").alias("rows"), F.countDistinct("event_id").alias("ids")).first()
    finally:
        staged.unpersist()
    written = spark.read.parquet(lake.uri(*parts))
    written_counts = written.groupBy("event_id").count().agg(
        F.sum("count").alias("rows"), F.count(F.when(F.col("count") > 1, 1)).alias("repeated")
    ).first()
    quarantined = quarantined_counts(lake, category.name, day)
    return CleanedPartition(
        category=category.name,
        day=day,
        path=lake.uri(*parts),
        staged_rows=counts["rows"],
        distinct_event_ids=counts["ids"],
        cleaned_rows=written_counts["rows"] or 0,
        duplicate_ids_written=written_counts["repeated"] or 0,
        quarantined_rows=quarantined.total,
        quarantined_dated_rows=quarantined.dated,
        written_schema=written.schema,
    )


def _cleaned_files(lake: Lake, category: Category, days: list[str] | None) -> list[str]:
    if days is None:
        return lake.list_files(*CLEANED_ZONE, category.name)
    return [f for d in days for f in lake.list_files(*cleaned_parts(category.name, d))]


def read_cleaned(spark: SparkSession, lake: Lake, category: Category, days: list[str] | None = None) -> DataFrame:
    """The cleaned table of a category: some days, or all of them (empty, with the schema, if none)."""
    files = _cleaned_files(lake, category, days)
    if not files:
        return spark.createDataFrame([], category.cleaned_schema)
    # Read the day folders' files as plain Parquet: the day is in event_time, not in a partition column.
    return spark.read.schema(category.cleaned_schema).parquet(*[lake.spark_uri_of(f) for f in files])


def cleaned_row_count(lake: Lake, category: Category, days: list[str] | None = None) -> int:
    """Rows of a category's cleaned table (some days or all), from the Parquet footers: no Spark job."""
    files = _cleaned_files(lake, category, days)
    return sum(pq.ParquetFile(f, filesystem=lake.filesystem).metadata.num_rows for f in files)
