"""The one daily partitioning (UTC) of landed batches, cleaned tables and date-keyed views."""

import dagster as dg

from pipeline.settings import get_settings

# end_offset=1: today is a partition too, so events landed today are cleaned today.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().events_start_date, timezone="UTC", end_offset=1
)
