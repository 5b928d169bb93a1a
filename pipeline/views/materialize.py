"""Compute registered views from the cleaned zone and write them to `views/<name>/` (Spark, then Arrow).

`materialize_views` computes a set of views that are all date-keyed (for some days) or all all-time: each cleaned
table they read is read once, the views' queries run concurrently (Spark schedules the jobs of several threads at
once, which hides most of its fixed cost per query on a small machine), each result is collected to Arrow (views
are summaries) and written as one Parquet object without Spark's commit protocol, and a date-keyed view computed
over several days is split into its days. The all-time views (each declared as an `Aggregate`, a `Joined` or a
`Paired`) are rolled up from their per-day partials instead (pipeline/views/partials.py), which are brought up to
date first for all of them, reading only the days cleaned since the last run, a category's days once. The checks'
counts are taken from the written objects with pyarrow, like the serving sync reads the views.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import cleaned_row_count, read_cleaned
from pipeline.lake import Lake
from pipeline.views.common import rows_of_day
from pipeline.views.partials import refresh_partials, rolled_up
from pipeline.views.view import View, input_category, reads_history

VIEWS_ZONE = ("views",)
VIEW_OBJECT = "view.parquet"  # the one object of a view, or of a day of a date-keyed view
PREVIEW_ROWS = 5
# Queries in flight at once. Each spends much of its time in the driver (planning, scheduling, collecting), so
# more than the cores keep them busy: measured on 2 cores, the 41 views 1.5x faster with 8 than one at a time.
CONCURRENT_QUERIES = 8


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
    seconds: float  # from the query's start (a rolled-up view's: the pass's) to this output written and counted
    days_recomputed: int | None = None  # a rolled-up view: the days whose partial was computed from events


def view_parts(view: View, day: str | None = None) -> tuple[str, ...]:
    return (*VIEWS_ZONE, view.name, f"date={day}") if day else (*VIEWS_ZONE, view.name)


def materialize_views(spark: SparkSession, lake: Lake, views: list[View],
                      days: list[str] | None = None) -> dict[str, list[ViewOutput]]:
    """Date-keyed views for `days` (one output per day, empty days included), or all-time views over the whole
    cleaned history (`days` None: one output each); by view name."""
    if mismatched := [view.name for view in views if view.date_keyed != (days is not None)]:
        raise ValueError(f"{mismatched}: date-keyed views need days, all-time views must not get them")
    inputs: dict[str, DataFrame] = {}
    for name in dict.fromkeys(name for view in views if not _rolls_up(view, days) for name in view.inputs):
        inputs[name] = read_cleaned(spark, lake, CATEGORY_BY_NAME[input_category(name)],
                                    None if days is None or reads_history(name) else days)

    counted: dict[tuple[str, str | None], int] = {}

    def input_rows(view: View, day: str | None) -> int:
        """Rows of the cleaned tables one output read (a category once, its whole history if any parameter reads
        it), from the Parquet footers, each count taken once for all the views."""
        slices = {input_category(n): day for n in view.inputs if not reads_history(n)}
        slices |= {input_category(n): None for n in view.inputs if reads_history(n)}
        for category, sliced in slices.items():
            if (category, sliced) not in counted:
                counted[(category, sliced)] = cleaned_row_count(lake, CATEGORY_BY_NAME[category],
                                                                [sliced] if sliced else None)
        return sum(counted[item] for item in slices.items())

    pass_started = time.perf_counter()
    # The partials of every rolled-up view first: a category's are computed together, from one read of its days.
    refreshed = refresh_partials(spark, lake, [view for view in views if _rolls_up(view, days)], CONCURRENT_QUERIES)

    def materialize(view: View) -> list[ViewOutput]:
        started = time.perf_counter()
        days_recomputed = None
        if _rolls_up(view, days):
            started, days_recomputed = pass_started, len(refreshed[view.name].days_recomputed)
            table = rolled_up(spark, lake, view)
            schema = from_arrow_schema(table.schema)
        else:
            result = view.compute(inputs)
            table, schema = result.toArrow(), result.schema
        outputs = []
        for day in days or [None]:
            output = rows_of_day(table, day) if day else table
            outputs.append(_write(lake, view, output, schema, day, input_rows(view, day), started, days_recomputed))
        return outputs

    with ThreadPoolExecutor(min(CONCURRENT_QUERIES, len(views)) or 1) as pool:
        return dict(zip([v.name for v in views], pool.map(materialize, views)))


def materialize_view(spark: SparkSession, lake: Lake, view: View, day: str | None = None) -> ViewOutput:
    """One day of a date-keyed view (`day`), or an all-time view over the whole cleaned history."""
    if view.date_keyed != (day is not None):
        raise ValueError(f"{view.name}: date-keyed views need a day, all-time views must not get one")
    return materialize_views(spark, lake, [view], [day] if day else None)[view.name][0]


def _rolls_up(view: View, days: list[str] | None) -> bool:
    return days is None and view.rollup is not None


def _write(lake: Lake, view: View, table: pa.Table, schema: T.StructType, day: str | None, input_rows: int,
           started: float, days_recomputed: int | None) -> ViewOutput:
    """Write one output of a view (a day of a date-keyed one: its `date` lives in the folder name, and reading the
    view's root gives the column back), replacing whatever the folder held, and count what its checks look at."""
    parts = view_parts(view, day)
    lake.replace_folder(table, *parts, VIEW_OBJECT)
    checked, preview = _read_written(lake, view, day)
    return ViewOutput(
        path=lake.uri(*parts),
        rows=checked.num_rows,
        input_rows=input_rows,
        duplicate_keys=_duplicate_key_rows(checked, view.keys),
        null_keys=_rows_where([pc.is_null(checked[k]) for k in view.keys]),
        rates_out_of_range=_rows_where([_out_of_range(checked[r]) for r in view.rates]),
        schema=schema,
        preview=preview,
        seconds=time.perf_counter() - started,
        days_recomputed=days_recomputed,
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
