"""Raw CSV tables → typed, deduplicated tables and a quarantine with reasons (Spark).

The recommender and purchase sources arrive as CSV files (MovieLens, MOOC, orders). Each is described once
by a `CsvTable`: its columns, their types and rules, and its key. `clean_csv` reads every field as text, so a
bad value never fails the read, and files each row under exactly one outcome:

- quarantined, with the first problem found as `reason` (`wrong_field_count`, `missing_value`, `bad_type`,
  `out_of_range`, `unknown_reference`) and the column in `detail`;
- a duplicate: another row with the same key is kept (the latest by `latest_by`, else the first in the file);
- cleaned: typed, with the table's column names.

So rows = cleaned + duplicates + quarantined, which `CsvCleaning` reports and the asset checks verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.lake import Lake

_CORRUPT = "_corrupt_record"
_SPARK_TYPES = {
    "int": T.IntegerType(),
    "long": T.LongType(),
    "double": T.DoubleType(),
    "string": T.StringType(),
    "timestamp": T.TimestampType(),  # text in `CsvTable.timestamp_format`, or epoch seconds
}
QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("line", T.LongType()),  # 1-based data line (header excluded), in file order
        T.StructField("record", T.StringType()),  # the raw fields as JSON
        T.StructField("reason", T.StringType()),
        T.StructField("detail", T.StringType()),
    ]
)


@dataclass(frozen=True)
class Column:
    source: str  # name in the CSV header
    type: str  # a key of _SPARK_TYPES
    name: str = ""  # name in the cleaned table; the source name when empty
    required: bool = True
    between: tuple[float, float] | None = None  # inclusive bounds of a valid typed value

    @property
    def out(self) -> str:
        return self.name or self.source


@dataclass(frozen=True)
class CsvTable:
    name: str  # lake path below the zone, e.g. "movielens/ratings"
    file_name: str  # file in the raw zone, e.g. "rating.csv"
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # cleaned column names that identify a row
    latest_by: str | None = None  # among rows with one key, keep the greatest value of this column
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss"
    description: str = ""
    column_descriptions: Mapping[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> T.StructType:
        return T.StructType([T.StructField(c.out, _SPARK_TYPES[c.type], nullable=not c.required)
                             for c in self.columns])

    def raw_parts(self, source: str) -> tuple[str, ...]:
        return ("raw", source, self.file_name)

    @property
    def cleaned_parts(self) -> tuple[str, ...]:
        return ("cleaned", *self.name.split("/"))

    @property
    def quarantine_parts(self) -> tuple[str, ...]:
        return ("quarantine", *self.name.split("/"))


@dataclass(frozen=True)
class CsvCleaning:
    table: str
    rows: int
    cleaned: int
    duplicates: int
    quarantined: dict[str, int]  # reason -> rows

    @property
    def reconciles(self) -> bool:
        return self.rows == self.cleaned + self.duplicates + sum(self.quarantined.values())


def _typed(column: Column, text: SparkColumn, timestamp_format: str) -> SparkColumn:
    if column.type == "timestamp":
        # Some exports of a table write epoch seconds instead (MovieLens from grouplens.org): accept both.
        epoch = F.when(text.rlike(r"^[0-9]+$"), F.timestamp_seconds(text.try_cast(T.LongType())))
        return F.coalesce(F.try_to_timestamp(text, F.lit(timestamp_format)), epoch)
    if column.type in ("int", "long"):
        # "1.0" is a valid integer in these exports (pandas wrote floats); "1.5" is not.
        number = text.try_cast(T.DoubleType())
        integral = F.when(number == F.floor(number), number)
        return integral.try_cast(_SPARK_TYPES[column.type])
    return text.try_cast(_SPARK_TYPES[column.type])


def read_csv_text(spark: SparkSession, uri: str, table: CsvTable) -> DataFrame:
    """Every field as text, with a 1-based `_line` and `_corrupt_record` for rows with the wrong field count."""
    text_schema = T.StructType([T.StructField(c.source, T.StringType()) for c in table.columns]
                               + [T.StructField(_CORRUPT, T.StringType())])
    frame = (
        spark.read.schema(text_schema)
        .option("header", True)
        .option("escape", "\"")  # RFC 4180: a quote inside a quoted field is doubled
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .option("enforceSchema", False)  # the header must name the columns we expect
        .csv(uri)
    )
    # Line numbers from the row id, which keeps file order: (partition << 33) + position in the partition.
    # (No RDD zipWithIndex: Spark Connect has no RDDs.)
    frame = frame.withColumn("_id", F.monotonically_increasing_id())
    sizes = sorted((r["p"], r["n"]) for r in frame.groupBy(F.shiftright("_id", 33).alias("p")).count()
                   .withColumnRenamed("count", "n").collect())
    before, offsets = 0, {}
    for partition, size in sizes:
        offsets[partition], before = before, before + size
    offset = F.element_at(F.create_map(*[F.lit(x) for kv in offsets.items() for x in kv]) if offsets
                          else F.create_map().cast("map<long,long>"), F.shiftright("_id", 33))
    return frame.withColumn("_line", offset + F.col("_id").bitwiseAND((1 << 33) - 1) + 1).drop("_id")


def classify(text: DataFrame, table: CsvTable, references: Mapping[str, DataFrame] | None = None) -> DataFrame:
    """Typed columns plus `_reason` / `_detail` (null for a good row) for rows read by `read_csv_text`."""
    frame = text
    for c in table.columns:
        trimmed = F.nullif(F.trim(F.col(c.source)), F.lit(""))
        frame = frame.withColumn(f"_text_{c.out}", trimmed)
        frame = frame.withColumn(f"_typed_{c.out}", _typed(c, trimmed, table.timestamp_format))
    problems: list[tuple[SparkColumn, str, str]] = [(F.col(_CORRUPT).isNotNull(), "wrong_field_count", "")]
    for c in table.columns:
        raw, typed = F.col(f"_text_{c.out}"), F.col(f"_typed_{c.out}")
        if c.required:
            problems.append((raw.isNull(), "missing_value", c.source))
        problems.append((raw.isNotNull() & typed.isNull(), "bad_type", c.source))
        if c.between:
            problems.append((typed.isNotNull() & ~typed.between(*c.between), "out_of_range", c.source))
    for column, reference in (references or {}).items():
        known = reference.select(F.col(reference.columns[0]).alias(f"_known_{column}")).distinct()
        frame = frame.join(F.broadcast(known), F.col(f"_typed_{column}") == F.col(f"_known_{column}"), "left")
        problems.append((F.col(f"_typed_{column}").isNotNull() & F.col(f"_known_{column}").isNull(),
                         "unknown_reference", column))
    reason = detail = F.lit(None).cast("string")
    for condition, code, where in reversed(problems):  # the first problem in column order wins
        reason = F.when(condition, F.lit(code)).otherwise(reason)
        detail = F.when(condition, F.lit(where)).otherwise(detail)
    return frame.withColumn("_reason", reason).withColumn("_detail", detail)


def split_clean(classified: DataFrame, table: CsvTable) -> tuple[DataFrame, DataFrame]:
    """(cleaned rows with the table schema, duplicates dropped; quarantined rows with QUARANTINE_SCHEMA)."""
    good = classified.where(F.col("_reason").isNull())
    order = [F.col(f"_typed_{table.latest_by}").desc_nulls_last()] if table.latest_by else []
    first = Window.partitionBy(*[F.col(f"_typed_{k}") for k in table.key]).orderBy(*order, F.col("_line"))
    cleaned = (
        good.withColumn("_n", F.row_number().over(first))
        .where(F.col("_n") == 1)
        .select(*[F.col(f"_typed_{c.out}").alias(c.out) for c in table.columns])
    )
    record = F.coalesce(F.col(_CORRUPT), F.to_json(F.struct(*[F.col(c.source) for c in table.columns])))
    quarantined = classified.where(F.col("_reason").isNotNull()).select(
        F.col("_line").alias("line"), record.alias("record"), F.col("_reason").alias("reason"),
        F.col("_detail").alias("detail"),
    )
    return cleaned, quarantined


def clean_csv(spark: SparkSession, lake: Lake, source: str, table: CsvTable,
              references: Mapping[str, DataFrame] | None = None) -> CsvCleaning:
    """Clean `raw/<source>/<file>` into `cleaned/<name>/` and `quarantine/<name>/` (both overwritten) and count
    the outcome back from what was written."""
    classified = classify(read_csv_text(spark, lake.uri(*table.raw_parts(source)), table), table, references)
    classified = classified.persist()
    try:
        cleaned, quarantined = split_clean(classified, table)
        cleaned.write.mode("overwrite").parquet(lake.uri(*table.cleaned_parts))
        quarantined.coalesce(1).write.mode("overwrite").parquet(lake.uri(*table.quarantine_parts))
        rows = classified.count()
    finally:
        classified.unpersist()
    cleaned_rows = spark.read.parquet(lake.uri(*table.cleaned_parts)).count()
    by_reason = {r["reason"]: r["count"] for r in
                 spark.read.parquet(lake.uri(*table.quarantine_parts)).groupBy("reason").count().collect()}
    good_rows = rows - sum(by_reason.values())
    return CsvCleaning(table.name, rows, cleaned_rows, good_rows - cleaned_rows, dict(sorted(by_reason.items())))


def read_cleaned(spark: SparkSession, lake: Lake, table: CsvTable) -> DataFrame:
    return spark.read.schema(table.schema).parquet(lake.uri(*table.cleaned_parts))
