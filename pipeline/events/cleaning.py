"""From raw Kafka records to typed, validated, de-duplicated cleaned tables (Spark).

Two steps:
1. `validate` parses every raw record of a landing batch (JSON into a Spark VARIANT), applies the
   catalogue's rules and routes it to a date: the event's UTC date when its timestamp is usable, else the
   Kafka timestamp's date. `stage_batch` writes valid records to `staged/events` and the rest, with a reason
   code, to `quarantine/events`, both under `category=<c>/date=<d>/batch=<id>/` so a re-run of a batch
   overwrites exactly its own output.
2. `clean_partition` reads every staged batch of one category and date, keeps one row per `event_id`
   (the lowest Kafka position) and returns the cleaned table.

Nothing is dropped silently: raw = staged + quarantined per batch, and staged = cleaned + duplicates per
category and date. Validation depends only on the record (and its Kafka timestamp), never on the clock,
so re-runs are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.events.catalogue import (
    CATEGORIES,
    ENVELOPE,
    OPTIONAL_ENVELOPE,
    QUARANTINE_SCHEMA,
    REQUIRED_ENVELOPE,
    Category,
    Field,
    LINEAGE_FIELDS,
    Reason,
)
from pipeline.lake import Lake

STAGED_ZONE = ("staged", "events")
QUARANTINE_ZONE = ("quarantine", "events")
CLEANED_ZONE = ("cleaned",)
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _union_fields() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for field in (*ENVELOPE, *OPTIONAL_ENVELOPE, *(f for c in CATEGORIES for f in c.fields)):
        known = fields.setdefault(field.name, field)
        if known.type is not field.type:
            raise TypeError(f"field {field.name} has two types in the catalogue")
    return fields


ALL_FIELDS = _union_fields()  # every field of every category: the staged zone's wide schema
TYPED_FIELDS = [f for f in ALL_FIELDS.values() if f.name not in ("event_id", "timestamp")]


@dataclass(frozen=True)
class ValidationRules:
    source_timezone: str = "Asia/Ho_Chi_Minh"  # zone of timestamps written without an offset
    future_tolerance_seconds: int = 600  # how far an event may be ahead of its Kafka timestamp
    start_date: str = "2025-01-01"  # first day of the daily partitions


# -- parsing helpers ------------------------------------------------------------------------------
# Each field is looked up once: `j_<name>` is its JSON value (a VARIANT) and `t_<name>` its JSON type as
# Spark names it (NULL when absent, VOID for JSON null), from which presence and type checks follow.

def _type_name(field: Field) -> Column:
    return F.col(f"t_{field.name}")


def _present(field: Field) -> Column:
    return _type_name(field).isNotNull() & (_type_name(field) != "VOID")


def _wrong_type(field: Field) -> Column:
    return _present(field) & ~_type_name(field).isin(*field.type.variant_types)


def _names_where(predicate: Callable[[Field], Column], fields: Iterable[Field]) -> Column:
    """Comma-separated names of the fields for which predicate holds ('' when none)."""
    return F.concat_ws(",", *[F.when(predicate(f), F.lit(f.name)) for f in fields])


def _per_event_type(category: Category, build: Callable[..., Column]) -> Column:
    expr = None
    for event_type in category.event_types:
        condition = F.col("event_type") == event_type.name
        expr = F.when(condition, build(event_type)) if expr is None else expr.when(condition, build(event_type))
    return expr.otherwise(F.lit(""))


def _value_rule_broken(field: Field) -> Column:
    value = F.col(field.name)
    broken = F.lit(False)
    if field.minimum is not None:
        broken = broken | (value < field.minimum)
    if field.maximum is not None:
        broken = broken | (value > field.maximum)
    if field.allowed:
        broken = broken | ~value.isin(*field.allowed)
    return F.coalesce(broken, F.lit(False))


def _event_time(rules: ValidationRules) -> Column:
    """UTC instant of `timestamp`: ISO-8601 with an offset as given, a bare local time in the source zone."""
    text = F.trim(F.col("timestamp"))
    with_offset = text.rlike(r"(Z|[+-]\d{2}:?\d{2})$")
    local = F.try_to_timestamp(F.regexp_replace(text, "T", " "), F.lit("yyyy-MM-dd HH:mm:ss"))
    return F.when(with_offset, F.try_to_timestamp(text)).otherwise(F.to_utc_timestamp(local, rules.source_timezone))


# -- step 1: validate and route -------------------------------------------------------------------

def validate(raw: DataFrame, category: Category, rules: ValidationRules) -> DataFrame:
    """One row per raw record of the category's topic: reason (null if valid), reason_detail, date, fields.

    `date` is the UTC date of the event when its timestamp is usable, else the date of its Kafka timestamp.
    """
    if raw.sparkSession.conf.get("spark.sql.session.timeZone") != "UTC":
        raise ValueError("cleaning needs spark.sql.session.timeZone=UTC (dates are UTC dates)")
    fields = (*ENVELOPE, *OPTIONAL_ENVELOPE, *category.fields)
    parsed = raw.select(
        F.col("value").cast("string").alias("value"),
        F.col("key").cast("string").alias("kafka_key"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").cast("int").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("kafka_timestamp").cast("timestamp").alias("kafka_timestamp"),
    ).withColumn("v", F.try_parse_json("value"))
    looked_up = parsed.select(
        "*",
        F.schema_of_variant("v").alias("json_kind"),
        *[F.variant_get("v", f"$.{f.name}", "variant").alias(f"j_{f.name}") for f in fields],
    )
    typed = looked_up.select(
        "*",
        *[F.schema_of_variant(f"j_{f.name}").alias(f"t_{f.name}") for f in fields],
        *[F.try_variant_get(f"j_{f.name}", "$", f.type.spark_type.simpleString()).alias(f.name) for f in fields],
    ).withColumn(
        "event_id",
        # Events from the original producer carry no id: derive a stable one from the payload.
        F.coalesce(F.col("event_id"),
                   F.regexp_replace(F.md5("value"), r"^(.{8})(.{4})(.{4})(.{4})(.{12})$", "$1-$2-$3-$4-$5")),
    ).withColumn("event_time", _event_time(rules))

    tolerance = F.expr(f"INTERVAL {int(rules.future_tolerance_seconds)} SECONDS")
    start = F.to_timestamp(F.lit(rules.start_date))
    missing_envelope = _names_where(lambda f: ~_present(f), [category.field_by_name[n] for n in REQUIRED_ENVELOPE])
    missing_fields = _per_event_type(
        category, lambda e: _names_where(lambda f: ~_present(f), [category.field_by_name[n] for n in e.required])
    )
    invalid_values = F.concat_ws(
        ",",
        F.when(~F.col("event_id").rlike(_UUID), F.lit("event_id")),
        *[F.when(_value_rule_broken(f), F.lit(f.name)) for f in fields
          if f.minimum is not None or f.maximum is not None or f.allowed],
    )
    checks = [
        (Reason.INVALID_JSON, F.col("v").isNull(), F.lit("value is not valid JSON")),
        (Reason.NOT_AN_OBJECT, ~F.col("json_kind").startswith("OBJECT"), F.col("json_kind")),
        (Reason.MISSING_FIELD, missing_envelope != "", missing_envelope),
        (Reason.WRONG_TYPE, _names_where(_wrong_type, ENVELOPE) != "", _names_where(_wrong_type, ENVELOPE)),
        (Reason.CATEGORY_MISMATCH, F.col("event_category") != category.upper,
         F.concat(F.col("event_category"), F.lit(f" on {category.topic}"))),
        (Reason.UNKNOWN_EVENT_TYPE, ~F.col("event_type").isin(*category.event_type_by_name), F.col("event_type")),
        (Reason.MISSING_FIELD, missing_fields != "", missing_fields),
        (Reason.WRONG_TYPE, _names_where(_wrong_type, fields) != "", _names_where(_wrong_type, fields)),
        (Reason.INVALID_TIMESTAMP, F.col("event_time").isNull(), F.col("timestamp")),
        (Reason.FUTURE_TIMESTAMP, F.col("event_time") > F.col("kafka_timestamp") + tolerance, F.col("timestamp")),
        (Reason.TIMESTAMP_BEFORE_START, F.col("event_time") < start, F.col("timestamp")),
        (Reason.INVALID_VALUE, invalid_values != "", invalid_values),
    ]
    reason = detail = None
    for code, failed, explanation in checks:  # the first failing check names the reason
        reason = F.when(failed, F.lit(code.value)) if reason is None else reason.when(failed, F.lit(code.value))
        detail = F.when(failed, explanation) if detail is None else detail.when(failed, explanation)
    event_time_usable = (
        F.col("event_time").isNotNull()
        & (F.col("event_time") <= F.col("kafka_timestamp") + tolerance)
        & (F.col("event_time") >= start)
    )
    routed_time = F.when(event_time_usable, F.col("event_time")).otherwise(F.col("kafka_timestamp"))
    return typed.select(
        "*",
        reason.alias("reason"),
        detail.alias("reason_detail"),
        F.lit(category.name).alias("category"),
        F.date_format(routed_time, "yyyy-MM-dd").alias("date"),
    )


STAGED_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        *[T.StructField(f.name, f.type.spark_type) for f in TYPED_FIELDS],
        T.StructField("event_time", T.TimestampType()),
        *LINEAGE_FIELDS,
    ]
)
STAGED_COLUMNS = STAGED_SCHEMA.fieldNames()
QUARANTINE_ONLY = ["kafka_key", "value", "reason", "reason_detail"]


@dataclass(frozen=True)
class StageCounts:
    """Records of one batch per (category, date, reason); reason None = staged (valid)."""

    counts: dict[tuple[str, str, str | None], int]

    @property
    def staged(self) -> int:
        return sum(n for (_, _, reason), n in self.counts.items() if reason is None)

    @property
    def quarantined(self) -> int:
        return sum(n for (_, _, reason), n in self.counts.items() if reason is not None)

    @property
    def touched(self) -> list[tuple[str, str]]:
        """(category, date) pairs that got records, valid or not."""
        return sorted({(c, d) for (c, d, _) in self.counts})

    def by_reason(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (_, _, reason), n in self.counts.items():
            if reason is not None:
                totals[reason] = totals.get(reason, 0) + n
        return dict(sorted(totals.items()))


def _to_staged_schema(validated: DataFrame) -> DataFrame:
    """A category's validated records in the staged zone's wide schema (other categories' fields null)."""
    columns = [
        F.col(f.name) if f.name in validated.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in STAGED_SCHEMA.fields
    ]
    return validated.select(*columns, *QUARANTINE_ONLY, "category", "date")


def stage_batch(spark: SparkSession, lake: Lake, raw_paths: list[str], batch: str, rules: ValidationRules) -> StageCounts:
    """Validate the raw objects of one landing batch; write staged and quarantined records; count them."""
    per_category = []
    for category in CATEGORIES:
        paths = [lake.spark_uri_of(p) for p in raw_paths if f"/{category.topic}/" in p]
        if paths:
            validated = validate(spark.read.parquet(*paths), category, rules)
            per_category.append(_to_staged_schema(validated))
    if not per_category:
        return StageCounts({})
    validated = reduce(DataFrame.unionByName, per_category).withColumn("batch", F.lit(batch)).persist()
    try:
        counts = {
            (row["category"], row["date"], row["reason"]): row["n"]
            for row in validated.groupBy("category", "date", "reason").agg(F.count("*").alias("n")).collect()
        }
        valid = validated.where(F.col("reason").isNull())
        bad = validated.where(F.col("reason").isNotNull())
        for frame, columns, zone in (
            (valid, STAGED_COLUMNS, STAGED_ZONE),
            (bad, QUARANTINE_SCHEMA.fieldNames(), QUARANTINE_ZONE),
        ):
            (
                frame.select(*columns, "category", "date", "batch")
                .repartition("category", "date")
                .write.mode("overwrite")
                .option("partitionOverwriteMode", "dynamic")
                .partitionBy("category", "date", "batch")
                .parquet(lake.uri(*zone))
            )
        return StageCounts(counts)
    finally:
        validated.unpersist()


def batch_counts(spark: SparkSession, lake: Lake, batch: str) -> tuple[int, int]:
    """(staged, quarantined) records written for a batch, counted back from the lake."""
    def count(zone: tuple[str, ...]) -> int:
        files = [p for p in lake.list_files(*zone) if f"/batch={batch}/" in p]
        return spark.read.parquet(*[lake.spark_uri_of(p) for p in files]).count() if files else 0

    return count(STAGED_ZONE), count(QUARANTINE_ZONE)


# -- step 2: de-duplicate one category and day ----------------------------------------------------

def staged_partition(spark: SparkSession, lake: Lake, category: str, day: str) -> DataFrame:
    """Every staged record of a category and day, across batches (empty with the right schema if none)."""
    parts = (*STAGED_ZONE, f"category={category}", f"date={day}")
    if not lake.list_files(*parts):
        return spark.createDataFrame([], STAGED_SCHEMA)
    return spark.read.parquet(lake.uri(*parts)).drop("batch")


def deduplicate(staged: DataFrame, category: Category) -> DataFrame:
    """One row per event_id, the first in Kafka order, with exactly the cleaned schema of the category."""
    first = Window.partitionBy("event_id").orderBy("kafka_topic", "kafka_partition", "kafka_offset")
    schema = category.cleaned_schema
    return (
        staged.withColumn("_n", F.row_number().over(first))
        .where(F.col("_n") == 1)
        .select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
    )


def cleaned_parts(category: str, day: str | date) -> tuple[str, ...]:
    return (*CLEANED_ZONE, category, f"date={day}")


def quarantined_count(spark: SparkSession, lake: Lake, category: str, day: str) -> int:
    parts = (*QUARANTINE_ZONE, f"category={category}", f"date={day}")
    return spark.read.parquet(lake.uri(*parts)).count() if lake.list_files(*parts) else 0


@dataclass(frozen=True)
class CleanedPartition:
    """What `clean_partition` wrote for one category and day, counted back from the lake."""

    category: str
    day: str
    path: str
    staged_rows: int
    distinct_event_ids: int  # among staged rows
    cleaned_rows: int  # read back from the written table
    duplicate_ids_written: int  # event ids that occur more than once in the written table
    quarantined_rows: int
    written_schema: T.StructType

    @property
    def duplicates(self) -> int:
        return self.staged_rows - self.distinct_event_ids

    @property
    def raw_rows(self) -> int:
        """Records routed to this category and day: staged (valid) plus quarantined."""
        return self.staged_rows + self.quarantined_rows

    @property
    def quarantine_share(self) -> float:
        return self.quarantined_rows / self.raw_rows if self.raw_rows else 0.0


def clean_partition(spark: SparkSession, lake: Lake, category: Category, day: str) -> CleanedPartition:
    """De-duplicate every staged batch of one category and day into `cleaned/<category>/date=<day>`."""
    staged = staged_partition(spark, lake, category.name, day).persist()
    try:
        parts = cleaned_parts(category.name, day)
        deduplicate(staged, category).write.mode("overwrite").parquet(lake.uri(*parts))
        counts = staged.agg(F.count("*").alias("rows"), F.countDistinct("event_id").alias("ids")).first()
    finally:
        staged.unpersist()
    written = spark.read.parquet(lake.uri(*parts))
    written_counts = written.groupBy("event_id").count().agg(
        F.sum("count").alias("rows"), F.count(F.when(F.col("count") > 1, 1)).alias("repeated")
    ).first()
    return CleanedPartition(
        category=category.name,
        day=day,
        path=lake.uri(*parts),
        staged_rows=counts["rows"],
        distinct_event_ids=counts["ids"],
        cleaned_rows=written_counts["rows"] or 0,
        duplicate_ids_written=written_counts["repeated"] or 0,
        quarantined_rows=quarantined_count(spark, lake, category.name, day),
        written_schema=written.schema,
    )
