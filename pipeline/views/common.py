"""Small column helpers every view module uses."""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def of_type(events: DataFrame, *event_types: str) -> DataFrame:
    """The events of the given types."""
    return events.where(F.col("event_type").isin(*event_types))


def event_date() -> Column:
    """The event's UTC day (the session time zone is UTC), as column `date`."""
    return F.to_date("event_time").alias("date")
