"""The one daily partitioning (UTC) of landed batches, cleaned tables and date-keyed views, and the automation
condition of what reads them."""

import dagster as dg

from assets.keys import RAW_EVENTS
from pipeline.settings import Settings


def daily_partitions(start_date: str) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today is a partition too, so events landed today are cleaned today.
    return dg.DailyPartitionsDefinition(start_date=start_date, timezone="UTC", end_offset=1)


# What the asset decorators carry when they are imported, from EVENTS_START_DATE's default; `build_definitions`
# gives every daily asset the partitions of the configured EVENTS_START_DATE (`with_start_date`).
DAILY = daily_partitions(Settings.model_fields["events_start_date"].default)


def with_start_date(assets: list, start_date: str) -> list:
    """The assets, every daily one partitioned from `start_date`."""
    configured = daily_partitions(start_date)
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(partitions_def=configured) if spec.partitions_def else spec, assets))


def loaded_daily_partitions(repository: dg.RepositoryDefinition) -> dg.PartitionsDefinition:
    """The daily partitions of the loaded code location (a sensor's `context.repository_def`)."""
    return repository.assets_defs_by_key[RAW_EVENTS].partitions_def


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
