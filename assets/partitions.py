"""The one daily partitioning (UTC) of landed batches, cleaned tables and date-keyed views."""

import dagster as dg

from pipeline.settings import get_settings

# end_offset=1: today is a partition too, so events landed today are cleaned today. EVENTS_START_DATE is the one
# setting read outside `build_definitions`: asset decorators take their partitions definition at import.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().events_start_date, timezone="UTC", end_offset=1
)

# Eager (after an input changed, not while one is being written) without waiting for every daily partition of
# an input: a partition is missing while its day has no events yet (today until the first one arrives, or a
# category that had none), and an all-time view or a serving table must not wait for days that may never come.
# And never while an input's latest materialisation failed a blocking check (a view with duplicate keys, a cleaned
# day whose schema drifted): what it feeds keeps its last good state until the input is fixed.
_AN_INPUT_FAILED_A_BLOCKING_CHECK = dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True))
AFTER_INPUTS_CHANGE = (dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
                       & ~_AN_INPUT_FAILED_A_BLOCKING_CHECK)
AFTER_ALL_INPUTS_CHANGE = dg.AutomationCondition.eager() & ~_AN_INPUT_FAILED_A_BLOCKING_CHECK
