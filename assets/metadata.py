"""Helpers that turn Spark schemas and counts into Dagster metadata."""

from __future__ import annotations

import base64

import dagster as dg
from pyspark.sql import types as T

from pipeline.serving.cassandra_tables import CassandraTable


def table_schema(schema: T.StructType, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type=f.dataType.simpleString(),
                description=descriptions.get(f.name),
                constraints=dg.TableColumnConstraints(nullable=f.nullable),
            )
            for f in schema.fields
        ]
    )


def row_counts(rows_per_day: dict[str | None, int]) -> dict:
    """Row-count metadata of a materialisation (day None: unpartitioned). A run over a range of days (a backfill, or
    the sensor's run for a batch that spans midnight) records the same metadata on every partition of the range, so
    a total would be wrong for each of them: a range reports its count per day instead."""
    if len(rows_per_day) == 1:
        return {"dagster/row_count": next(iter(rows_per_day.values()))}
    return {"rows_per_day": rows_per_day, "rows_in_run": sum(rows_per_day.values())}


def same_columns(expected: T.StructType, actual: T.StructType) -> list[str]:
    """Differences in column names and types (nullability ignored: Parquet writes every column nullable)."""
    want = {f.name: f.dataType.simpleString() for f in expected.fields}
    got = {f.name: f.dataType.simpleString() for f in actual.fields}
    problems = [f"missing {n}" for n in want if n not in got]
    problems += [f"unexpected {n}" for n in got if n not in want]
    problems += [f"{n}: {got[n]} instead of {t}" for n, t in want.items() if n in got and got[n] != t]
    return problems


def cql_schema(table: CassandraTable) -> dg.TableSchema:
    """The column schema of a Cassandra table, key columns marked."""
    return dg.TableSchema(columns=[
        dg.TableColumn(name=name, type=cql_type, description="primary key" if name in table.key else None,
                       constraints=dg.TableColumnConstraints(nullable=name not in table.key))
        for name, cql_type in table.columns
    ])


def svg_image(svg: str, caption: str) -> dg.MetadataValue:
    """An SVG chart shown as an image in the Dagster UI: markdown with the picture inlined as a data URI (the UI
    allows `data:` sources for images; an image cannot run the SVG's scripts)."""
    data = base64.b64encode(svg.encode()).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/svg+xml;base64,{data})")
