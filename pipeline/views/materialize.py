"""Compute a registered view from the cleaned zone and write it to `views/<name>/` (Spark).

The checks' counts are taken from the written objects with pyarrow, like the serving sync reads the views:
views are summaries, and a second Spark job per materialisation (about a third of a small view's time) would
cost more than reading their key columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import cleaned_row_count, read_cleaned
from pipeline.lake import Lake
from pipeline.views.view import View, input_category, reads_history

VIEWS_ZONE = ("views",)
PREVIEW_ROWS = 5


@dataclass(frozen=True)
class ViewOutput:
    path: str
    rows: int
    input_rows: int
    duplicate_keys: int  # rows whose key occurs more than once
    null_keys: int  # rows with a null in a key column
    rates_out_of_range: int  # rows with a rate outside 0..100
    schema: T.StructType  # the view's columns, in order
    preview: pd.DataFrame  # its first rows as written


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
    schema = result.schema
    if day:
        # Hive layout: the day lives in the folder name (views/<name>/date=<day>/) and reading the view's
        # root gives the `date` column back. The input holds that one day only.
        result = result.drop("date")
    result.write.mode("overwrite").parquet(lake.uri(*view_parts(view, day)))
    checked, preview = _read_written(lake, view, day)
    return ViewOutput(
        path=lake.uri(*view_parts(view, day)),
        rows=checked.num_rows,
        input_rows=sum(cleaned_row_count(lake, category, days) for category, days in slices.values()),
        duplicate_keys=_duplicate_key_rows(checked, view.keys),
        null_keys=_rows_where([pc.is_null(checked[k]) for k in view.keys]),
        rates_out_of_range=_rows_where([_out_of_range(checked[r]) for r in view.rates]),
        schema=schema,
        preview=preview,
    )


def _read_written(lake: Lake, view: View, day: str | None) -> tuple[pa.Table, pd.DataFrame]:
    """The objects just written: their key and rate columns, and their first rows; a day's folder gets its
    `date` column back."""
    dataset = lake.dataset(*view_parts(view, day))
    if dataset is None:  # Spark writes a schema-only object even for no rows, so this is a lost write
        raise FileNotFoundError(f"{view.name}: nothing under {lake.uri(*view_parts(view, day))} after the write")

    def dated(table: pa.Table) -> pa.Table:
        if not day:
            return table
        return table.append_column("date", pa.repeat(pa.scalar(pd.Timestamp(day).date(), pa.date32()),
                                                      table.num_rows))

    stored = [c for c in dict.fromkeys((*view.keys, *view.rates)) if not (day and c == "date")]
    checked = dated(dataset.to_table(columns=stored))
    return checked, dated(dataset.head(PREVIEW_ROWS)).select(list(view.columns)).to_pandas()


def _duplicate_key_rows(table: pa.Table, keys: tuple[str, ...]) -> int:
    # group_by keeps nulls as a group value, as Spark's groupBy does.
    per_key = table.group_by(list(keys)).aggregate([([], "count_all")])["count_all"]
    return pc.sum(pc.if_else(pc.greater(per_key, 1), per_key, 0)).as_py() or 0


def _out_of_range(rate: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a percentage lies outside 0..100; a null rate (no base) is not out of range."""
    values = pc.cast(rate, pa.float64())
    return pc.fill_null(pc.or_(pc.less(values, 0), pc.greater(values, 100)), False)


def _rows_where(masks: list[pa.ChunkedArray]) -> int:
    """Rows where any of the masks is true."""
    if not masks:
        return 0
    return pc.sum(pc.cast(reduce(pc.or_, masks), pa.int64())).as_py() or 0


def read_view(spark: SparkSession, lake: Lake, view: View) -> DataFrame:
    """A view as written, with its columns in order (every day of a date-keyed view)."""
    return spark.read.parquet(lake.uri(*view_parts(view))).select(*view.columns)
