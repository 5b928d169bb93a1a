"""The Kafka sensor: plans landing batches from end offsets, then cleaning runs for the days they touched.

It never consumes and never commits. Its cursor holds, per topic-partition, the next offset to schedule,
and the storage id of the last `staged/events` materialisation it has turned into cleaning runs.
Run keys come from the offset ranges, so a tick that is evaluated twice cannot land a batch twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import dagster as dg

from assets.learning_events import STAGED_EVENTS, LandingBatch, cleaned_key
from assets.views import VIEWS, view_key
from assets.partitions import daily_partitions
from pipeline.events.catalogue import CATEGORY_BY_NAME, TOPICS
from pipeline.events.landing import batch_id, landed_ranges, plan_batches
from pipeline.settings import get_settings
from resources import KafkaResource, LakeResource
from sensors.jobs import land_learning_events, refresh_learning_day


@dataclass
class Cursor:
    offsets: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> next offset to schedule
    staged_after: int = 0  # storage id of the last staged/events materialisation already handled

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        return cls(**json.loads(text)) if text else cls()

    def dump(self) -> str:
        return json.dumps({"offsets": self.offsets, "staged_after": self.staged_after}, sort_keys=True)


def cleaning_requests(context: dg.SensorEvaluationContext, cursor: Cursor) -> list[dg.RunRequest]:
    """One run per day touched by batches staged since the cursor: the cleaned tables of the categories touched
    and the date-keyed views that read them."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=STAGED_EVENTS, after_storage_id=cursor.staged_after or None),
        limit=1000,
        ascending=True,
    ).records
    touched: dict[str, set[str]] = {}
    for record in records:
        metadata = record.asset_materialization.metadata
        for category, days in metadata["touched_dates"].value.items() if "touched_dates" in metadata else ():
            for day in days:
                touched.setdefault(day, set()).add(category)
        cursor.staged_after = max(cursor.staged_after, record.storage_id)
    known_days = set(daily_partitions.get_partition_keys())
    return [
        dg.RunRequest(
            job_name=refresh_learning_day.name,
            partition_key=day,
            run_key=f"clean-{day}-{cursor.staged_after}",
            asset_selection=[cleaned_key(CATEGORY_BY_NAME[c]) for c in sorted(categories)]
            + [view_key(v) for v in VIEWS if v.date_keyed and set(v.categories) & categories],
        )
        # Days outside the partitions (tomorrow, within the future tolerance) are left to the daily schedule.
        for day, categories in sorted(touched.items())
        if day in known_days
    ]


def landed_ends(lake: LakeResource) -> dict[str, int]:
    """Per topic-partition, the end of the last landed range: where a sensor without a cursor resumes."""
    ends: dict[str, int] = {}
    for rng in landed_ranges(lake.get_lake()):
        name = f"{rng.topic}:{rng.partition}"
        ends[name] = max(ends.get(name, 0), rng.end)
    return ends


def landing_requests(context: dg.SensorEvaluationContext, cursor: Cursor, kafka: KafkaResource,
                     lake: LakeResource) -> list[dg.RunRequest]:
    settings = get_settings()
    watermarks = kafka.end_offsets(list(TOPICS))
    if any(f"{t}:{p}" not in cursor.offsets for t, p in watermarks):
        # A new sensor (or a reset cursor) resumes after what the raw zone already holds, never re-lands it.
        cursor.offsets = {**landed_ends(lake), **cursor.offsets}
    next_offsets, end_offsets = {}, {}
    for (topic, partition), (low, high) in watermarks.items():
        name = f"{topic}:{partition}"
        start = cursor.offsets.get(name, low if settings.landing_starting_offsets == "earliest" else high)
        if start < low:
            context.log.warning(f"{name}: offsets {start}..{low - 1} were deleted by retention before landing")
            start = low
        elif start > high:  # offsets went backwards: the topic was re-created; land the new one from its start
            context.log.warning(f"{name}: end offset {high} is behind the cursor ({start}); the topic was "
                                f"re-created, landing it from offset {low}")
            start = low
        next_offsets[(topic, partition)], end_offsets[(topic, partition)] = start, high
        cursor.offsets[name] = high
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    requests = []
    for batch in plan_batches(next_offsets, end_offsets, settings.landing_max_events_per_run):
        config = LandingBatch.of(batch)
        requests.append(
            dg.RunRequest(
                job_name=land_learning_events.name,
                run_key=f"land-{batch_id(batch)}",
                partition_key=today,
                run_config=dg.RunConfig(ops={"raw__events": config, "stage_learning_events": config}),
                tags={"kafka/events": str(sum(len(r) for r in batch)),
                      "kafka/ranges": ",".join(str(r) for r in batch)[:4000]},
            )
        )
    return requests


@dg.sensor(
    name="learning_events_sensor",
    jobs=[land_learning_events, refresh_learning_day],
    minimum_interval_seconds=get_settings().landing_sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lands new Kafka offsets of the 6 learning-event topics, then refreshes the days they touched "
                "(cleaned tables and date-keyed views).",
)
def learning_events_sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource):
    cursor = Cursor.parse(context.cursor)
    requests = cleaning_requests(context, cursor) + landing_requests(context, cursor, kafka, lake)
    if not requests:
        return dg.SensorResult(skip_reason="no new Kafka offsets and no newly staged batches", cursor=cursor.dump())
    return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
