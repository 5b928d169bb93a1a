"""Raw CSV tables → typed, deduplicated tables and a quarantine with reasons (Spark).

The recommender and purchase sources arrive as CSV files (MovieLens, MOOC, orders). Each is described once
by a `CsvTable`: its columns, their types and rules, and its key. `clean_csv` reads every field as text, so a
bad value never fails the read, and files each row under exactly one outcome:

- quarantined, with the first problem found as `reason` (`wrong_field_count`, `bad_encoding`, `missing_value`,
  `bad_type`, `out_of_range`, `unknown_reference`) and the column in `detail`;
- a duplicate: another row with the same key is kept (the latest by `latest_by`, else the first in the file);
- cleaned: typed, with the table's column names.

So rows = cleaned + duplicates + quarantined, which `CsvCleaning` reports and the asset checks verify.

Columns are found by their header name, whatever its case, surrounding spaces or column order (the seed's
` mapped_id`), or by an alias; an optional column the file lacks is null, extra columns are ignored. The same
rules in pandas (`column_positions`, `valid_values`) let a source be checked from a sample before Spark reads
it (`pipeline.ml.raw_sources.check_source`), which raises `SourceProblem`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
    "timestamp": T.TimestampType(),  # text in one of TIMESTAMP_FORMATS, or epoch seconds
}
# (Spark pattern, strftime) of the text forms of a timestamp: the seed's, ISO 8601, and a date alone (midnight).
TIMESTAMP_FORMATS = (("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"), ("yyyy-MM-dd'T'HH:mm:ss", "%Y-%m-%dT%H:%M:%S"),
                     ("yyyy-MM-dd", "%Y-%m-%d"))
_INT_BOUNDS = {"int": 2**31 - 1, "long": 2**63 - 1}
QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("line", T.LongType()),  # 1-based data line (header excluded), in file order
        T.StructField("record", T.StringType()),  # the raw fields as JSON
        T.StructField("reason", T.StringType()),
        T.StructField("detail", T.StringType()),
    ]
)


class SourceProblem(ValueError):
    """Why a source cannot be used, naming the file, the column (when one is at fault) and the rule it breaks."""

    def __init__(self, file: str, column: str | None, problem: str, rule: str):
        self.file, self.column, self.problem, self.rule = file, column, problem, rule
        super().__init__(f"{file}{f', column {column}' if column else ''}: {problem}. Rule: {rule}")


@dataclass(frozen=True)
class Column:
    source: str  # name in the CSV header (matched whatever its case and surrounding spaces)
    type: str  # a key of _SPARK_TYPES
    name: str = ""  # name in the cleaned table; the source name when empty
    required: bool = True  # a value in every row; an optional column may also be absent from the header
    between: tuple[float, float] | None = None  # inclusive bounds of a valid typed value
    aliases: tuple[str, ...] = ()  # other header names of the column
    prefix: str = ""  # a text id `<prefix>_<number>`; a bare number is the same id (`15773538` is `U_15773538`)
    needed_value: str = ""  # a value some row must have for the source to train (checked by `check_source`)

    @property
    def out(self) -> str:
        return self.name or self.source

    @property
    def rule(self) -> str:
        """The rule a value must keep, in words."""
        if self.prefix:
            return f"an id {self.prefix}_<number> or a bare <number> (at most 9 digits)"
        if self.type == "timestamp":
            return f"a time as {', '.join(p for p, _ in TIMESTAMP_FORMATS)} or epoch seconds"
        kind = {"int": "a whole number", "long": "a whole number", "double": "a number"}.get(self.type, "any text")
        return kind + (f" from {self.between[0]:g} to {self.between[1]:g}" if self.between else "")


def _id_pattern(prefix: str) -> str:
    return rf"^(?:{prefix}_)?(\d{{1,9}})$"


def prefixed_id(text: str, prefix: str) -> str | None:
    """The id `<prefix>_<number>` that `text` (the id, or its bare number) stands for, else None."""
    match = re.match(_id_pattern(prefix), text)
    return f"{prefix}_{int(match.group(1))}" if match else None


@dataclass(frozen=True)
class CsvTable:
    name: str  # lake path below the zone, e.g. "movielens/ratings"
    file_name: str  # file in the raw zone, e.g. "rating.csv"
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # cleaned column names that identify a row
    latest_by: str | None = None  # among rows with one key, keep the greatest value of this column
    optional: bool = False  # a source may lack the file: its cleaned table is empty, references to it unchecked
    references: tuple[tuple[str, CsvTable], ...] = ()  # (column, table whose first column must contain its value)
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


def _typed(column: Column, text: SparkColumn) -> SparkColumn:
    """The typed value of trimmed text, null when it is not one; `valid_values` is the same rule in pandas."""
    if column.prefix:
        number = F.nullif(F.regexp_extract(text, _id_pattern(column.prefix), 1), F.lit("")).try_cast(T.IntegerType())
        return F.concat(F.lit(f"{column.prefix}_"), number.cast("string"))
    if column.type == "timestamp":
        # Some exports of a table write epoch seconds instead (MovieLens from grouplens.org): accept both.
        epoch = F.when(text.rlike(r"^[0-9]+$"), F.timestamp_seconds(text.try_cast(T.LongType())))
        return F.coalesce(*[F.try_to_timestamp(text, F.lit(p)) for p, _ in TIMESTAMP_FORMATS], epoch)
    if column.type in ("int", "long"):
        # "1.0" is a valid integer in these exports (pandas wrote floats); "1.5" is not.
        number = text.try_cast(T.DoubleType())
        integral = F.when(number == F.floor(number), number)
        return integral.try_cast(_SPARK_TYPES[column.type])
    return text.try_cast(_SPARK_TYPES[column.type])


def valid_values(column: Column, text: pd.Series) -> pd.Series:
    """`_typed` and the range rule in pandas, for trimmed non-empty text: the typed values, missing where the
    text breaks the column's rule (so the source check and the cleaning agree)."""
    if column.prefix:
        number = pd.to_numeric(text.str.extract(_id_pattern(column.prefix), expand=False), errors="coerce")
        return (column.prefix + "_" + number.astype("Int64").astype(str)).where(number.notna())
    if column.type == "timestamp":
        epoch = pd.to_numeric(text.where(text.str.fullmatch(r"[0-9]+")), errors="coerce")
        typed = pd.to_datetime(epoch, unit="s", errors="coerce")
        for _, strftime in TIMESTAMP_FORMATS:
            typed = pd.to_datetime(text, format=strftime, errors="coerce").fillna(typed)
        return typed
    if column.type == "string":
        return text
    typed = pd.to_numeric(text, errors="coerce")
    if column.type in _INT_BOUNDS:
        typed = typed.where((typed == np.floor(typed)) & (typed.abs() <= _INT_BOUNDS[column.type]))
    return typed.where(typed.between(*column.between)) if column.between else typed


def _normal(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def column_positions(table: CsvTable, header: Sequence[str], file: str) -> dict[str, int | None]:
    """Column source name -> its position in `header` (None: an optional column the file lacks); a required
    column the header lacks raises SourceProblem."""
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        found.setdefault(_normal(name), position)
    positions = {}
    for c in table.columns:
        positions[c.source] = next((found[n] for n in map(_normal, (c.source, *c.aliases)) if n in found), None)
        if positions[c.source] is None and c.required:
            names = " or ".join(repr(n) for n in (c.source, *c.aliases))
            raise SourceProblem(file, c.source, f"the header has no column {names} (header: {','.join(header)})",
                                f"the header names {', '.join(x.source for x in table.columns if x.required)}, in "
                                f"any order and case (optional: "
                                f"{', '.join(x.source for x in table.columns if not x.required) or 'none'})")
    return positions


def read_header(lake: Lake, parts: Sequence[str]) -> list[str]:
    """The field names of a CSV object's first line."""
    with lake.filesystem.open_input_stream(lake.path(*parts)) as stream:
        first = stream.read(1 << 20).decode("utf-8-sig", errors="replace").splitlines()[:1]
    return next(csv.reader(first), [])


def read_csv_text(spark: SparkSession, uri: str, table: CsvTable, header: Sequence[str]) -> DataFrame:
    """Every field as text, named as the table's columns (null for an optional column the file lacks), with a
    1-based `_line` and `_corrupt_record` for rows with the wrong field count. `header` is the file's first line."""
    positions = column_positions(table, header, uri)
    fields = [f"_field{i}" for i in range(len(header))]
    # Named as the header, Spark's header check stays quiet (it warns at every read when names differ); the
    # fields are then renamed by position, so duplicate or odd header names cannot get in the way.
    unique = len({name.lower() for name in header}) == len(header) and all(header)
    text_schema = T.StructType([T.StructField(name, T.StringType()) for name in (header if unique else fields)]
                               + [T.StructField(_CORRUPT, T.StringType())])
    frame = (
        spark.read.schema(text_schema)  # by position: the header was matched above
        .option("header", True)
        .option("escape", "\"")  # RFC 4180: a quote inside a quoted field is doubled
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .csv(uri)
        .toDF(*fields, _CORRUPT)
    )
    frame = frame.select(*[(F.col(f"_field{positions[c.source]}") if positions[c.source] is not None
                            else F.lit(None).cast("string")).alias(c.source) for c in table.columns], _CORRUPT)
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
        frame = frame.withColumn(f"_typed_{c.out}", _typed(c, trimmed))
    problems: list[tuple[SparkColumn, str, str]] = [(F.col(_CORRUPT).isNotNull(), "wrong_field_count", "")]
    # Spark reads the file as UTF-8 and puts U+FFFD where bytes are not (a Latin-1 or Windows-1252 export): the
    # field's text is lost, so the row is not cleaned with a mangled value.
    problems += [(F.col(c.source).contains("\ufffd"), "bad_encoding", c.source) for c in table.columns]
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
    text = read_csv_text(spark, lake.uri(*table.raw_parts(source)), table, read_header(lake, table.raw_parts(source)))
    classified = classify(text, table, references)
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
