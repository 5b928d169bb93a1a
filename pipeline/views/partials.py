"""The per-day partials of the all-time views declared as an `Aggregate`, a `Joined` of several, or a `Paired`
(pipeline/views/aggregate.py).

`partials/<view>/<i>-<category>/date=<day>/partial.parquet` holds one day's partial of the view's i-th aggregate,
and in its Parquet metadata the versions (size and modification time) of the cleaned objects it was computed from
and a digest of the query that computed it. `refresh_partials` recomputes, for the views of a pass, the partials
of the days whose cleaned objects (or query) are new or changed: one Spark query per category and set of such days
for all their `Aggregate`s (one read of the events, `partials`), one per `DayState` for all the views that keep it;
it deletes those of days no longer cleaned. `rolled_up` rolls a view up from every day's partials in Arrow: adding
a day reads that day's events only, and a re-cleaned day (late events) is recomputed the next time, whoever
launched the cleaning.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
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
from pipeline.views.aggregate import Aggregate, DayState, Joined, Paired, partials, split_partials
from pipeline.views.common import rows_of_day
from pipeline.views.view import View, input_category

PARTIALS_ZONE = ("partials",)
PARTIAL_OBJECT = "partial.parquet"
SOURCE_VERSIONS = b"pipeline.cleaned_versions"  # the Parquet metadata key of what a partial was computed from


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did to a view's partials."""
    days_recomputed: list[str]  # the days whose partial was computed from their cleaned events this time
    days_dropped: list[str]  # the days whose partial was deleted: no longer in the cleaned zone


@dataclass(frozen=True)
class RolledUp(Refreshed):
    view: pa.Table  # the view, rolled up from every day's partial


@dataclass(frozen=True)
class Part:
    """One aggregate of a rolled-up view: a `Joined` view has one per category it reads (or more), and its
    partials in a folder of their own."""
    folder: str
    category: str
    aggregate: Aggregate | DayState


def parts(view: View) -> list[Part]:
    if isinstance(view.rollup, (Joined, Paired)):
        return [Part(f"{i}-{input_category(name)}", input_category(name), aggregate)
                for i, (name, aggregate) in enumerate(view.rollup.parts)]
    if view.rollup is None or view.date_keyed or len(view.categories) != 1:
        raise ValueError(f"{view.name}: only an all-time view declared as an Aggregate, a Joined or a Paired "
                         "rolls up")
    return [Part(f"0-{view.categories[0]}", view.categories[0], view.rollup)]


def partial_parts(view: View, part: Part, day: str | None = None) -> tuple[str, ...]:
    folder = (*PARTIALS_ZONE, view.name, part.folder)
    return (*folder, f"date={day}") if day else folder


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


def _stored_versions(lake: Lake, folder: tuple[str, ...], day: str) -> str | None:
    try:
        metadata = pq.read_schema(lake.path(*folder, f"date={day}", PARTIAL_OBJECT),
                                  filesystem=lake.filesystem).metadata or {}
    except FileNotFoundError:
        return None
    return metadata.get(SOURCE_VERSIONS, b"").decode() or None


@dataclass(frozen=True)
class Refresh:
    """What a refresh does to one part of a view: recompute the partials of `stale` days, delete those of `gone`."""
    view: View
    part: Part
    stale: tuple[str, ...]
    gone: tuple[str, ...]
    versions: dict[str, str]  # per cleaned day, what its partial is computed from (written into it)

    @property
    def folder(self) -> tuple[str, ...]:
        return partial_parts(self.view, self.part)


def plan_refresh(spark: SparkSession, lake: Lake, views: list[View]) -> list[Refresh]:
    """Per part of these views (all-time, rolled up), the days whose partial is missing or was computed from other
    cleaned objects or by another query, and the days whose partial has no cleaned day any more."""
    objects = {category: cleaned_versions(lake, category)
               for category in dict.fromkeys(part.category for view in views for part in parts(view))}
    plan = []
    for view in views:
        for part in parts(view):
            folder, query = partial_parts(view, part), _state_query(spark, part)[1]
            versions = {day: f"{version}|query={query}" for day, version in objects[part.category].items()}
            stale = tuple(sorted(d for d, version in versions.items() if _stored_versions(lake, folder, d) != version))
            stored = [f.removeprefix("date=") for f in lake.folders(*folder)]
            gone = tuple(day for day in stored if day not in versions)
            plan.append(Refresh(view, part, stale, gone, versions))
    return plan


def refresh_queries(plan: list[Refresh]) -> list[list[Refresh]]:
    """The plan's stale partials by the Spark query that computes them: per category and set of stale days, one
    for every `Aggregate` (`partials`), and one per `DayState` for every view that keeps it (the three notification
    views pair the same sends and clicks)."""
    queries: dict[tuple, list[Refresh]] = {}
    for item in plan:
        if item.stale:
            kind = "aggregates" if isinstance(item.part.aggregate, Aggregate) else id(item.part.aggregate)
            queries.setdefault((item.part.category, item.stale, kind), []).append(item)
    return list(queries.values())


def refresh_partials(spark: SparkSession, lake: Lake, views: list[View], concurrent: int = 1) -> dict[str, Refreshed]:
    """Bring the partials of these views (all-time, rolled up) up to date with the cleaned zone and their
    definitions: the stale days' partials computed by `refresh_queries`' queries (`concurrent` at a time, each
    category's days read once for all of them), those of days no longer cleaned deleted; by view name, which days."""
    plan = plan_refresh(spark, lake, views)
    queries = refresh_queries(plan)
    reads = {(category, days): read_cleaned(spark, lake, CATEGORY_BY_NAME[category], list(days))  # files listed once
             for category, days in dict.fromkeys((query[0].part.category, query[0].stale) for query in queries)}

    def compute(query: list[Refresh]) -> None:
        events = reads[(query[0].part.category, query[0].stale)]
        states = list({id(item.part.aggregate): item.part.aggregate for item in query}.values())
        if isinstance(states[0], Aggregate):
            tables = split_partials(states, partials(states, events).toArrow())
        else:
            tables = [states[0].partial(events).toArrow()]
        by_state = dict(zip(map(id, states), tables))
        for item in query:
            _write_partials(lake, item.folder, by_state[id(item.part.aggregate)], list(item.stale), item.versions)

    with ThreadPoolExecutor(max(1, min(concurrent, len(queries)))) as pool:
        list(pool.map(compute, queries))
    for item in plan:
        for day in item.gone:
            lake.delete_folder(*item.folder, f"date={day}")
    return {view.name: Refreshed(sorted({day for item in plan if item.view is view for day in item.stale}),
                                 sorted({day for item in plan if item.view is view for day in item.gone}))
            for view in views}


def rolled_up(spark: SparkSession, lake: Lake, view: View) -> pa.Table:
    """The view rolled up from the partials stored (in Arrow: no Spark job)."""
    tables = []
    for part in parts(view):
        files = lake.list_files(*partial_parts(view, part))
        tables.append(ds.dataset(files, format="parquet", filesystem=lake.filesystem).to_table() if files
                      else _state_query(spark, part)[0].empty_table())
    several = isinstance(view.rollup, (Joined, Paired))
    rolled = view.rollup.rollup(tables) if several else view.rollup.rollup(tables[0])
    return rolled.select(list(view.columns))


def roll_up(spark: SparkSession, lake: Lake, view: View) -> RolledUp:
    """Bring the view's partials up to date (`refresh_partials`) and roll it up from them."""
    refreshed = refresh_partials(spark, lake, [view])[view.name]
    return RolledUp(refreshed.days_recomputed, refreshed.days_dropped, view=rolled_up(spark, lake, view))


_STATE_QUERIES: dict[tuple[SparkSession, int], tuple[pa.Schema, str]] = {}


def _state_query(spark: SparkSession, part: Part) -> tuple[pa.Schema, str]:
    """The schema of the part's partials (without `date`), and what a partial depends on besides its day's cleaned
    objects: the version of its query (a changed definition makes every stored partial stale). Once per session
    and aggregate (the declarations are module constants)."""
    key = (spark, id(part.aggregate))
    if key not in _STATE_QUERIES:
        events = spark.createDataFrame([], CATEGORY_BY_NAME[part.category].cleaned_schema)
        if isinstance(part.aggregate, Aggregate):
            query = partials([part.aggregate], events)
            empty = to_arrow_schema(query.schema, timezone="UTC").empty_table()
            schema = split_partials([part.aggregate], empty)[0].schema
        else:
            query = part.aggregate.partial(events)
            schema = to_arrow_schema(query.schema, timezone="UTC")
        _STATE_QUERIES[key] = schema.remove(schema.get_field_index("date")), query_version(query)
    return _STATE_QUERIES[key]


def _write_partials(lake: Lake, folder: tuple[str, ...], table: pa.Table, days: list[str],
                    versions: dict[str, str]) -> None:
    """One object per day (empty for a day without the view's events), the day in its folder name."""
    dates = table.column("date")
    if outside := set(pc.unique(dates).to_pylist()) - {date.fromisoformat(d) for d in days}:
        raise ValueError(f"{'/'.join(folder)}: events of {sorted(map(str, outside))} in the cleaned objects of {days}")
    for day in days:
        lake.replace_folder(rows_of_day(table, day).replace_schema_metadata({SOURCE_VERSIONS: versions[day]}),
                            *folder, f"date={day}", PARTIAL_OBJECT)
