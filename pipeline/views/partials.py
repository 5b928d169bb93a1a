"""The per-day partial aggregates of the all-time views declared as an `Aggregate` (pipeline/views/aggregate.py).

`partials/<view>/date=<day>/partial.parquet` holds one day's partial, and in its Parquet metadata the versions
(size and modification time) of the cleaned objects it was computed from, and of the query that computed it. `roll_up` recomputes the partials of
the days whose cleaned objects are new or changed (one Spark query over those days), deletes those of days no
longer cleaned, and rolls the view up from every day's partial: adding a day reads that day's events only, and a
re-cleaned day (late events) is recomputed the next time, whoever launched the cleaning.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import CLEANED_ZONE, read_cleaned
from pipeline.lake import Lake
from pipeline.views.view import View

PARTIALS_ZONE = ("partials",)
PARTIAL_OBJECT = "partial.parquet"
SOURCE_VERSIONS = b"pipeline.cleaned_versions"  # the Parquet metadata key of what a partial was computed from


@dataclass(frozen=True)
class RolledUp:
    view: pa.Table  # the view, rolled up from every day's partial
    days_recomputed: list[str]  # the days whose partial was computed from their cleaned events this time
    days_dropped: list[str]  # the days whose partial was deleted: no longer in the cleaned zone


def partial_parts(view: View, day: str | None = None) -> tuple[str, ...]:
    return (*PARTIALS_ZONE, view.name, f"date={day}") if day else (*PARTIALS_ZONE, view.name)


def cleaned_versions(lake: Lake, category: str) -> dict[str, str]:
    """Per day of a category's cleaned table, the versions of its objects, as one string."""
    by_day: dict[str, list[str]] = {}
    for path, version in sorted(lake.versions(*CLEANED_ZONE, category).items()):
        folder, name = path.rsplit("/", 2)[-2:]
        by_day.setdefault(folder.removeprefix("date="), []).append(f"{name}={version}")
    return {day: ";".join(objects) for day, objects in by_day.items()}


def query_version(frame: DataFrame) -> str:
    """A digest of a query's analysed plan, without the ids Spark numbers its expressions with: the same for the
    same query in any session."""
    # DataFrame.explain prints to sys.stdout, which threads share: what it would print is asked for directly.
    if hasattr(frame, "_explain_string"):  # Spark Connect
        printed = frame._explain_string(extended=True)
    else:
        printed = frame.sparkSession._jvm.PythonSQLUtils.explainString(frame._jdf.queryExecution(), "extended")
    analysed = printed.split("== Analyzed Logical Plan ==")[1].split("== Optimized Logical Plan ==")[0]
    return hashlib.sha256(re.sub(r"#\d+L?", "", analysed).encode()).hexdigest()[:16]


def _stored_versions(lake: Lake, view: View, day: str) -> str | None:
    try:
        metadata = pq.read_schema(lake.path(*partial_parts(view, day), PARTIAL_OBJECT),
                                  filesystem=lake.filesystem).metadata or {}
    except FileNotFoundError:
        return None
    return metadata.get(SOURCE_VERSIONS, b"").decode() or None


def roll_up(spark: SparkSession, lake: Lake, view: View) -> RolledUp:
    """Bring the view's partials up to date with the cleaned zone and its definition, and roll the view up from
    them (in Arrow: when no day changed, no Spark job runs)."""
    if view.rollup is None or len(view.categories) != 1 or view.date_keyed:
        raise ValueError(f"{view.name}: only an all-time view of one category declared as an Aggregate rolls up")
    category = CATEGORY_BY_NAME[view.categories[0]]
    state = view.rollup.partial(spark.createDataFrame([], category.cleaned_schema))
    # What a partial depends on: its day's cleaned objects, and the partial query (a changed definition makes every
    # stored partial stale).
    query = query_version(state)
    versions = {day: f"{objects}|query={query}" for day, objects in cleaned_versions(lake, category.name).items()}
    stale = sorted(day for day, version in versions.items() if _stored_versions(lake, view, day) != version)
    if stale:
        _write_partials(lake, view, view.rollup.partial(read_cleaned(spark, lake, category, stale)), stale, versions)
    dropped = [folder.removeprefix("date=") for folder in lake.folders(*partial_parts(view))
               if folder.removeprefix("date=") not in versions]
    for day in dropped:
        lake.delete_folder(*partial_parts(view, day))
    files = lake.list_files(*partial_parts(view))
    partials = (ds.dataset(files, format="parquet", filesystem=lake.filesystem).to_table() if files
                else to_arrow_schema(state.drop("date").schema, timezone="UTC").empty_table())
    return RolledUp(view.rollup.rollup(partials).select(list(view.columns)), stale, dropped)


def _write_partials(lake: Lake, view: View, partial: DataFrame, days: list[str], versions: dict[str, str]) -> None:
    """One object per day (empty for a day without the view's events), the day in its folder name."""
    table = partial.toArrow()
    dates = table.column("date")
    if outside := set(pc.unique(dates).to_pylist()) - {date.fromisoformat(d) for d in days}:
        raise ValueError(f"{view.name}: events of {sorted(map(str, outside))} in the cleaned objects of {days}")
    for day in days:
        rows = table.filter(pc.equal(dates, pa.scalar(date.fromisoformat(day), dates.type))).drop_columns(["date"])
        lake.replace_folder(rows.replace_schema_metadata({SOURCE_VERSIONS: versions[day]}),
                            *partial_parts(view, day), PARTIAL_OBJECT)
