"""Days without events, recorded as what they are: empty partitions.

The daily partitions start at EVENTS_START_DATE, but a lake's events may start on any later day, and a category
may have no events on some day. Left unmaterialised, such days would show as history still to compute (the UI's
"0% filled") though there is nothing to compute. This sensor records as an empty materialisation (0 rows, no run,
no Spark) every closed day (before today) on which: nothing was landed (the raw, staged and quarantine
partitions, which are partitioned by landing day); a category has neither staged nor quarantined records (its
cleaned table); all the day inputs of a date-keyed view are so empty (the view). A day that receives events later
is landed or cleaned by the landing sensor's runs as usual, which replace the empty record. Today stays missing
until its first events are landed and cleaned: it is not over.
"""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from assets.keys import QUARANTINE_EVENTS, RAW_EVENTS, STAGED_EVENTS, cleaned_key, view_key
from assets.partitions import loaded_daily_partitions
from assets.views import VIEWS
from pipeline.events.catalogue import CATEGORIES
from pipeline.events.landing import landing_days
from pipeline.events.validation import days_with_records
from pipeline.views.registry import View, input_category, reads_history
from resources import LakeResource

INTERVAL_SECONDS = 300  # a closed day becomes empty at most once a day; the first tick is at daemon start


def day_inputs(view: View) -> set[str]:
    """The categories whose records of the view's day make its rows (not the `_history` look-ups)."""
    return {input_category(name) for name in view.inputs if not reads_history(name)}


LANDED_KEYS = (RAW_EVENTS, STAGED_EVENTS, QUARANTINE_EVENTS)  # partitioned by the day a batch was landed


def empty_partitions(closed_days: list[str], landed: set[str], days_with_records: dict[str, set[str]],
                     materialized: dict[dg.AssetKey, set[str]]) -> dict[dg.AssetKey, list[str]]:
    """Per landing asset, cleaned table and date-keyed view, the closed days it has nothing for and no
    materialisation of."""
    empty = {key: [d for d in closed_days if d not in landed and d not in materialized[key]] for key in LANDED_KEYS}
    for category in CATEGORIES:
        key = cleaned_key(category)
        empty[key] = [d for d in closed_days
                      if d not in days_with_records[category.name] and d not in materialized[key]]
    for view in VIEWS:
        if view.date_keyed:
            key, inputs = view_key(view.name), day_inputs(view)
            empty[key] = [d for d in closed_days if d not in materialized[key]
                          and not any(d in days_with_records[c] for c in inputs)]
    return {key: days for key, days in empty.items() if days}


@dg.sensor(
    name="empty_days_sensor",
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every closed day without a landing, or without events of a category, as an empty "
                "partition (0 rows, no run) of the landing assets, of that category's cleaned table and of the "
                "date-keyed views that read only such categories, so the partitions show the lake's true state: "
                "history before the first event is not 'missing'.",
)
def empty_days_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    closed_days = [d for d in loaded_daily_partitions(context.repository_def).get_partition_keys() if d < today]
    the_lake = lake.get_lake()
    records = {c.name: days_with_records(the_lake, c.name) for c in CATEGORIES}
    keys = [*LANDED_KEYS, *(cleaned_key(c) for c in CATEGORIES), *(view_key(v.name) for v in VIEWS if v.date_keyed)]
    materialized = {key: context.instance.get_materialized_partitions(key) for key in keys}
    empty = empty_partitions(closed_days, landing_days(the_lake), records, materialized)
    if not empty:
        return dg.SensorResult(skip_reason="every closed day is materialised or has records waiting to be cleaned")
    context.log.info(f"recording {sum(map(len, empty.values()))} empty partitions of {len(empty)} assets")
    return dg.SensorResult(asset_events=[
        dg.AssetMaterialization(asset_key=key, partition=day, metadata={"dagster/row_count": 0, "empty_day": True},
                                description="No events on this day: an empty partition, recorded by "
                                            "empty_days_sensor without a run.")
        for key, days in empty.items() for day in days
    ])
