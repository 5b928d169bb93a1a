"""Learning events: Kafka offset ranges → raw Parquet → staged + quarantine → cleaned tables per category.

Thin wrappers around `pipeline.events`: they read their inputs from the lake, call the pipeline
functions, and report counts and checks.
"""

import time

import dagster as dg
import pyarrow.parquet as pq

from assets.keys import QUARANTINE_EVENTS, RAW_EVENTS, STAGED_EVENTS, cleaned_key
from assets.metadata import row_counts, same_columns, table_schema
from assets.partitions import DAILY
from pipeline.events.catalogue import CATEGORIES, QUARANTINE_SCHEMA, Category
from pipeline.events.cleaning import clean_partition
from pipeline.events.landing import OffsetRange, batch_id, find_gaps, land_ranges, landed_ranges, raw_parts
from pipeline.events.validation import batch_counts, stage_batch
from resources import KafkaResource, LakeResource, LearningEventsResource, QualityResource

GROUP = "learning_events"


class OffsetRangeConfig(dg.Config):
    topic: str
    partition: int
    start: int  # first offset
    end: int  # one past the last offset


class LandingBatch(dg.Config):
    """The Kafka offset ranges one landing run reads; set by the sensor, kept by retries."""

    ranges: list[OffsetRangeConfig]

    def offset_ranges(self) -> list[OffsetRange]:
        return [OffsetRange(r.topic, r.partition, r.start, r.end) for r in self.ranges]

    @classmethod
    def of(cls, ranges: list[OffsetRange]) -> "LandingBatch":
        return cls(ranges=[OffsetRangeConfig(topic=r.topic, partition=r.partition, start=r.start, end=r.end)
                           for r in ranges])


@dg.asset(
    key=RAW_EVENTS,
    group_name=GROUP,
    partitions_def=DAILY,
    kinds={"kafka", "parquet"},
    description=(
        "Kafka records of the 6 learning-event topics, exactly as received (value, key, topic, partition, offset, "
        "Kafka timestamp), one Parquet object per offset range: "
        "`raw/events/<topic>/date=<landing day>/<topic>-<partition>-<start>-<end>.parquet` (end exclusive). "
        "Partitioned by the UTC day the batch was landed. A re-run overwrites the same objects."
    ),
)
def raw_events(context: dg.AssetExecutionContext, config: LandingBatch, kafka: KafkaResource,
               lake: LakeResource, events: LearningEventsResource) -> dg.MaterializeResult:
    ranges = config.offset_ranges()
    landed = land_ranges(kafka.client_config(), lake.get_lake(), ranges, context.partition_key, context.log.info,
                         workers=events.landing_workers)
    rows = sum(r.rows for r in landed)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "batch_id": batch_id(ranges),
            "ranges": [str(r) for r in ranges],
            "records_per_topic": {t: sum(x.rows for x in landed if x.range.topic == t)
                                  for t in sorted({r.topic for r in ranges})},
        }
    )


@dg.asset_check(asset=raw_events, description="Landed offset ranges are contiguous per topic-partition: "
                                              "no gap (a batch that never landed) and no overlap.")
def raw_ranges_contiguous(lake: LakeResource) -> dg.AssetCheckResult:
    ranges = landed_ranges(lake.get_lake())
    gaps = find_gaps(ranges)
    return dg.AssetCheckResult(
        passed=not gaps,
        metadata={"landed_ranges": len(ranges), "problems": [str(g) for g in gaps[:50]]},
        description="; ".join(str(g) for g in gaps[:5]) or None,
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            STAGED_EVENTS,
            deps=[RAW_EVENTS],
            group_name=GROUP,
            kinds={"python", "parquet"},
            description=(
                "Every valid record of a landed batch, parsed and typed by the event catalogue and routed to the "
                "UTC day of its event: `staged/events/category=<c>/date=<event day>/batch=<batch id>.parquet`. "
                "Partitioned by landing day; input of the cleaned tables."
            ),
        ),
        dg.AssetSpec(
            QUARANTINE_EVENTS,
            deps=[RAW_EVENTS],
            group_name=GROUP,
            kinds={"python", "parquet"},
            description=(
                "Every record that failed parsing or validation, with its Kafka coordinates, raw value, a reason code "
                "(invalid_json, not_an_object, missing_field, wrong_type, category_mismatch, unknown_event_type, "
                "invalid_timestamp, future_timestamp, timestamp_before_start, invalid_value, role_not_allowed) and a "
                "detail: `quarantine/events/category=<c>/date=<day>/batch=<batch id>.parquet`."
            ),
            metadata={"dagster/column_schema": table_schema(QUARANTINE_SCHEMA)},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "batch_reconciles",
            asset=STAGED_EVENTS,
            description="Raw records of the batch = staged + quarantined records written for it (counted back).",
        ),
        dg.AssetCheckSpec(
            "quarantine_share_below_threshold",
            asset=STAGED_EVENTS,
            description="Per category, quarantined / raw records of the batch is at most QUARANTINE_MAX_SHARE.",
        ),
    ],
    partitions_def=DAILY,
    name="stage_learning_events",
)
def stage_learning_events(context: dg.AssetExecutionContext, config: LandingBatch, lake: LakeResource,
                          events: LearningEventsResource, quality: QualityResource):
    ranges, the_lake = config.offset_ranges(), lake.get_lake()
    batch = batch_id(ranges)
    raw_paths = [the_lake.path(*raw_parts(r, context.partition_key)) for r in ranges]
    started = time.perf_counter()
    counts = stage_batch(the_lake, raw_paths, batch, events.validation_rules())
    seconds = time.perf_counter() - started
    raw_rows = sum(pq.ParquetFile(p, filesystem=the_lake.filesystem).metadata.num_rows for p in raw_paths)
    staged_back, quarantined_back = batch_counts(the_lake, batch, counts)
    touched: dict[str, list[str]] = {}
    for category, day in counts.touched:
        touched.setdefault(category, []).append(day)
    context.log.info(f"batch {batch}: {raw_rows} raw, {counts.staged} staged, {counts.quarantined} quarantined")
    yield dg.MaterializeResult(
        asset_key=STAGED_EVENTS,
        metadata={"dagster/row_count": counts.staged, "batch_id": batch, "touched_dates": touched,
                  "validated_per_second": round(raw_rows / max(seconds, 1e-6))},
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_EVENTS,
        metadata={"dagster/row_count": counts.quarantined, "batch_id": batch, "by_reason": counts.by_reason()},
    )
    yield dg.AssetCheckResult(
        asset_key=STAGED_EVENTS,
        check_name="batch_reconciles",
        passed=raw_rows == staged_back + quarantined_back,
        metadata={"raw": raw_rows, "staged": staged_back, "quarantined": quarantined_back},
    )
    threshold = quality.quarantine_max_share
    shares = counts.quarantine_shares()
    yield dg.AssetCheckResult(
        asset_key=STAGED_EVENTS,
        check_name="quarantine_share_below_threshold",
        passed=all(share <= threshold for share in shares.values()),
        metadata={"threshold": threshold, "shares": {c: round(v, 4) for c, v in shares.items()}},
    )


CLEANED_CHECKS = {
    "schema_matches": "The written table has exactly the catalogue's columns and types. Blocking.",
    "no_duplicate_event_ids": "Every event_id occurs once. Blocking.",
    "reconciles": "Records routed to this category and day = cleaned + duplicates + quarantined.",
    "quarantine_share_below_threshold": (
        "Quarantined / all records of this day is at most QUARANTINE_MAX_SHARE (records without a usable timestamp "
        "are counted by the batch-level check on staged/events, since their day is unknown)."
    ),
}
# The views read the cleaned tables by their catalogue schema and count events by event_id.
BLOCKING_CLEANED_CHECKS = {"schema_matches", "no_duplicate_event_ids"}


def build_cleaned_asset(category: Category) -> dg.AssetsDefinition:
    key = cleaned_key(category)
    event_types = ", ".join(e.name for e in category.event_types)

    @dg.asset(
        key=key,
        # Staged is partitioned by landing day, cleaned by event day, and a landing can hold events of any day:
        # late ones of any earlier day, and ones up to the future tolerance ahead. Cleaning a day reads every
        # batch staged under that event day, whenever it was landed: every staged partition is an input.
        deps=[dg.AssetDep(STAGED_EVENTS, partition_mapping=dg.AllPartitionMapping())],
        group_name=GROUP,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"python", "parquet"},
        description=(
            f"Cleaned {category.upper} events from `{category.topic}` ({event_types}): typed by the catalogue, "
            f"timestamps in UTC (`event_time`), one row per `event_id` (the first in Kafka order), "
            f"`cleaned/{category.name}/date=<UTC day>/events.parquet` (Arrow: a day is de-duplicated in memory, "
            f"without a Spark job)."
        ),
        metadata={"dagster/column_schema": table_schema(category.cleaned_schema,
                                                        category.cleaned_column_descriptions())},
        check_specs=[dg.AssetCheckSpec(name, asset=key, description=text, blocking=name in BLOCKING_CLEANED_CHECKS)
                     for name, text in CLEANED_CHECKS.items()],
    )
    def cleaned(context: dg.AssetExecutionContext, lake: LakeResource, quality: QualityResource):
        the_lake = lake.get_lake()
        threshold = quality.quarantine_max_share
        results = []
        for day in context.partition_keys:  # one day from the sensor; a range in a single-run backfill
            results.append(clean_partition(the_lake, category, day))
            r = results[-1]
            context.log.info(f"{category.name} {day}: {r.staged_rows} staged -> {r.cleaned_rows} cleaned, "
                             f"{r.duplicates} duplicates, {r.quarantined_rows} quarantined")
        yield dg.MaterializeResult(
            metadata={
                **row_counts({r.day: r.cleaned_rows for r in results}),
                "days": [r.day for r in results],
                "staged": sum(r.staged_rows for r in results),
                "duplicates": sum(r.duplicates for r in results),
                "quarantined": sum(r.quarantined_rows for r in results),
                "path": results[0].path if len(results) == 1 else f"cleaned/{category.name}/",
            }
        )
        schema_problems = {r.day: same_columns(category.cleaned_schema, r.written_schema) for r in results}
        checks = {
            "schema_matches": ({d: p for d, p in schema_problems.items() if p}, {}),
            "no_duplicate_event_ids": ({r.day: r.duplicate_ids_written for r in results if r.duplicate_ids_written},
                                       {}),
            "reconciles": (
                {r.day: f"{r.raw_rows} routed != {r.cleaned_rows} + {r.duplicates} + {r.quarantined_rows}"
                 for r in results if r.raw_rows != r.cleaned_rows + r.duplicates + r.quarantined_rows},
                {"routed": sum(r.raw_rows for r in results), "cleaned": sum(r.cleaned_rows for r in results),
                 "duplicates": sum(r.duplicates for r in results),
                 "quarantined": sum(r.quarantined_rows for r in results)},
            ),
            "quarantine_share_below_threshold": (
                {r.day: round(r.quarantine_share, 4) for r in results if r.quarantine_share > threshold},
                {"threshold": threshold, "max_share": round(max(r.quarantine_share for r in results), 4)},
            ),
        }
        for name, (failures, extra) in checks.items():
            yield dg.AssetCheckResult(
                check_name=name, passed=not failures, metadata={"failures": failures, **extra}
            )

    return cleaned


cleaned_assets = [build_cleaned_asset(c) for c in CATEGORIES]
CLEANED_KEYS = [cleaned_key(c) for c in CATEGORIES]
