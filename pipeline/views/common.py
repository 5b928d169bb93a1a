"""Small column helpers every view module uses."""

from collections.abc import Callable
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def is_type(*event_types: str) -> Callable[[], Column]:
    """Whether an event is of the given types: a condition built when a query is (a Column needs a session)."""
    return lambda: F.col("event_type").isin(*event_types)


def of_type(events: DataFrame, *event_types: str) -> DataFrame:
    """The events of the given types."""
    return events.where(is_type(*event_types)())


def event_date() -> Column:
    """The event's UTC day (the session time zone is UTC), as column `date`."""
    return F.to_date("event_time").alias("date")


def rows_of_day(table: pa.Table, day: str) -> pa.Table:
    """The rows of a collected result whose `date` is `day`, without the column (a day's folder holds it)."""
    dates = table.column("date")
    return table.filter(pc.equal(dates, pa.scalar(date.fromisoformat(day), dates.type))).drop_columns(["date"])
