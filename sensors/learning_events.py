"""The learning-event sensor: plans landing runs of the 6 topics from their end offsets (a landing run also fills
the speed windows), then one `daily_learning_analytics` run per stretch of consecutive days the staged batches
touched: their cleaned tables, the views that read them and the serving tables synced from those views.

It never consumes and never commits. Its cursor holds, per topic-partition, the next offset to schedule, and
the storage id of the last `staged/events` materialisation it has turned into refresh runs. Run keys come from
the offset ranges, so a tick that is evaluated twice cannot land a batch twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from assets.keys import STAGED_EVENTS, cassandra_table_key, cleaned_key, view_key
from assets.learning_events import LandingBatch, raw_events, stage_learning_events
from assets.partitions import loaded_daily_partitions
from assets.speed import refresh_speed_views
from assets.views import VIEWS
from pipeline.events.catalogue import CATEGORY_BY_NAME, TOPICS
from pipeline.events.landing import batch_id, landed_ranges
from pipeline.serving.analytics_sync import SYNCS
from pipeline.serving.analytics_tables import KEYSPACE
from resources import KafkaResource, LakeResource, LearningEventsResource
from sensors.jobs import daily_learning_analytics_job, land_learning_events
from sensors.offsets import ends_of, plan_landing


@dataclass
class Cursor:
    offsets: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> next offset to schedule
    staged_after: int = 0  # storage id of the last staged/events materialisation already handled

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        return cls(**json.loads(text)) if text else cls()

    def dump(self) -> str:
        return json.dumps({"offsets": self.offsets, "staged_after": self.staged_after}, sort_keys=True)


# The steps of a landing run, each configured with the batch's offset ranges.
LANDING_OPS = [assets.node_def.name for assets in (raw_events, stage_learning_events, refresh_speed_views)]

# The tags with which Dagster runs one partition range of single-run-backfill assets in one run (what
# `dagster asset materialize --partition-range` sets).
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def contiguous(days: list[str]) -> list[list[str]]:
    """Sorted days split where a day is missing: [d1, d2, d4] -> [[d1, d2], [d4]]."""
    groups: list[list[str]] = []
    for day in sorted(days):
        if groups and date.fromisoformat(day) - date.fromisoformat(groups[-1][-1]) == timedelta(days=1):
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups


def refresh_selection(categories: set[str]) -> list[dg.AssetKey]:
    """What new events of these categories change: their cleaned tables, every view that reads them (date-keyed
    ones for the run's days, all-time ones over the whole history) and the serving tables synced from those views.
    One run for all of it starts one Spark driver, where a run per layer would start three."""
    views = [v for v in VIEWS if set(v.categories) & categories]
    names = {v.name for v in views}
    return ([cleaned_key(CATEGORY_BY_NAME[c]) for c in sorted(categories)] + [view_key(v.name) for v in views]
            + [cassandra_table_key(KEYSPACE, sync.table.name) for sync in SYNCS if names & set(sync.views)])


def cleaning_requests(context: dg.SensorEvaluationContext, cursor: Cursor) -> list[dg.RunRequest]:
    """For the days touched by batches staged since the cursor: `refresh_selection` of the categories touched, one
    run per stretch of consecutive days (the daily assets take a day range in one run, so one Spark session cleans
    a batch that spans midnight, or late events of several days)."""
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
    # Days outside the partitions (tomorrow, within the future tolerance) are left to the daily schedule.
    known_days = set(loaded_daily_partitions(context.repository_def).get_partition_keys())
    requests = []
    for days in contiguous([d for d in touched if d in known_days]):
        categories = set().union(*(touched[d] for d in days))
        first, last = days[0], days[-1]
        requests.append(dg.RunRequest(
            job_name=daily_learning_analytics_job.name,
            partition_key=first if first == last else None,
            run_key=f"clean-{first}-{last}-{cursor.staged_after}",
            tags={} if first == last else {RANGE_START: first, RANGE_END: last},
            asset_selection=refresh_selection(categories),
        ))
    return requests


def landing_requests(context: dg.SensorEvaluationContext, cursor: Cursor, kafka: KafkaResource,
                     lake: LakeResource, events: LearningEventsResource) -> list[dg.RunRequest]:
    batches = plan_landing(context, cursor.offsets, kafka.end_offsets(list(TOPICS)),
                           lambda: ends_of(landed_ranges(lake.get_lake())), events)
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    requests = []
    for batch in batches:
        config = LandingBatch.of(batch)
        requests.append(
            dg.RunRequest(
                job_name=land_learning_events.name,
                run_key=f"land-{batch_id(batch)}",
                partition_key=today,
                run_config=dg.RunConfig(ops={op: config for op in LANDING_OPS}),
                tags={"kafka/events": str(sum(len(r) for r in batch)),
                      "kafka/ranges": ",".join(str(r) for r in batch)[:4000]},
            )
        )
    return requests


def build_learning_events_sensor(interval_seconds: int) -> dg.SensorDefinition:
    @dg.sensor(
        name="learning_events_sensor",
        jobs=[land_learning_events, daily_learning_analytics_job],
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Lands new Kafka offsets of the 6 learning-event topics, then refreshes what they touched in "
                    "one run: the cleaned tables and date-keyed views of their days, the all-time views, the serving "
                    f"tables. Every {interval_seconds} s (LANDING_SENSOR_INTERVAL_SECONDS).",
    )
    def learning_events_sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource,
                               events: LearningEventsResource):
        cursor = Cursor.parse(context.cursor)
        requests = cleaning_requests(context, cursor) + landing_requests(context, cursor, kafka, lake, events)
        if not requests:
            return dg.SensorResult(skip_reason="no new Kafka offsets and no newly staged batches",
                                   cursor=cursor.dump())
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())

    return learning_events_sensor
