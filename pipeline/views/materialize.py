"""Compute a registered view from the cleaned zone and write it to `views/<name>/` (Spark)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import cleaned_row_count, read_cleaned
from pipeline.lake import Lake
from pipeline.views.registry import View, input_category, reads_history

VIEWS_ZONE = ("views",)


@dataclass(frozen=True)
class ViewOutput:
    path: str
    rows: int
    input_rows: int
    duplicate_keys: int  # rows whose key occurs more than once
    null_keys: int  # rows with a null in a key column
    rates_out_of_range: int  # rows with a rate outside 0..100
    frame: DataFrame  # the written table, read back


def view_parts(view: View, day: str | None = None) -> tuple[str, ...]:
    return (*VIEWS_ZONE, view.name, f"date={day}") if day else (*VIEWS_ZONE, view.name)


def materialize_view(spark: SparkSession, lake: Lake, view: View, day: str | None = None) -> ViewOutput:
    """One day of a date-keyed view (`day`), or an all-time view over the whole cleaned history."""
    if view.date_keyed != (day is not None):
        raise ValueError(f"{view.name}: date-keyed views need a day, all-time views must not get one")
    slices = {name: (CATEGORY_BY_NAME[input_category(name)], [day] if day and not reads_history(name) else None)
              for name in view.inputs}
    tables = {name: read_cleaned(spark, lake, category, days) for name, (category, days) in slices.items()}
    result = view.compute(tables)
    if day:
        # Hive layout: the day lives in the folder name (views/<name>/date=<day>/) and reading the view's
        # root gives the `date` column back. The input holds that one day only.
        result = result.drop("date")
    result.write.mode("overwrite").parquet(lake.uri(*view_parts(view, day)))
    written = read_view(spark, lake, view, day)
    # One Spark job for all four checks: rows per key, then totals over the keys.
    any_null_key = reduce(operator.or_, [F.col(k).isNull() for k in view.keys], F.lit(False))
    bad_rate = reduce(operator.or_, [(F.col(r) < 0) | (F.col(r) > 100) for r in view.rates], F.lit(False))
    stats = (
        written.groupBy(*view.keys)
        .agg(F.count("*").alias("n"), F.sum(F.coalesce(bad_rate, F.lit(False)).cast("int")).alias("bad"))
        .agg(
            F.sum("n").alias("rows"),
            F.sum(F.when(F.col("n") > 1, F.col("n"))).alias("duplicates"),
            F.sum(F.when(any_null_key, F.col("n"))).alias("null_keys"),
            F.sum("bad").alias("bad_rates"),
        )
        .first()
    )
    return ViewOutput(
        path=lake.uri(*view_parts(view, day)),
        rows=stats["rows"] or 0,
        input_rows=sum(cleaned_row_count(lake, category, days) for category, days in slices.values()),
        duplicate_keys=stats["duplicates"] or 0,
        null_keys=stats["null_keys"] or 0,
        rates_out_of_range=stats["bad_rates"] or 0,
        frame=written,
    )


def read_view(spark: SparkSession, lake: Lake, view: View, day: str | None = None) -> DataFrame:
    """A view as written, with its columns in order (one day of a date-keyed view, or all of it)."""
    frame = spark.read.parquet(lake.uri(*view_parts(view)))
    if day:
        frame = frame.where(F.col("date") == F.lit(day).cast("date"))
    return frame.select(*view.columns)
