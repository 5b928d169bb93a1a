"""The per-day partials of the all-time views declared as an `Aggregate`, a `Joined` of several, or a `Paired`
(pipeline/views/aggregate.py).

`partials/<view>/<i>-<category>/date=<day>/partial.parquet` holds one day's partial of the view's i-th aggregate,
and in its Parquet metadata the versions (size and modification time) of the cleaned objects it was computed from
and a digest of the query that computed it. `roll_up` recomputes the partials of the days whose cleaned objects
(or query) are new or changed, one Spark query per aggregate over those days (once in a pass for the views that keep
the same state: `OncePerPass`), deletes those of days no longer cleaned, and rolls the view up from every day's
partials in Arrow: adding a day reads that day's events only, and a re-cleaned day (late events) is recomputed the
next time, whoever launched the cleaning.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import CLEANED_ZONE, read_cleaned
from pipeline.lake import Lake
from pipeline.views.aggregate import Aggregate, DayState, Joined, Paired
from pipeline.views.common import rows_of_day
from pipeline.views.view import View, input_category

PARTIALS_ZONE = ("partials",)
PARTIAL_OBJECT = "partial.parquet"
SOURCE_VERSIONS = b"pipeline.cleaned_versions"  # the Parquet metadata key of what a partial was computed from
T = TypeVar("T")


@dataclass(frozen=True)
class RolledUp:
    view: pa.Table  # the view, rolled up from every day's partial
    days_recomputed: list[str]  # the days whose partial was computed from their cleaned events this time
    days_dropped: list[str]  # the days whose partial was deleted: no longer in the cleaned zone


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


class OncePerPass:
    """What the parts of one pass share: the cleaned days read (by category, days and their objects' versions),
    and the partials of an aggregate that several views declare (by aggregate and days: the three notification
    views pair the same sends and clicks). Each is computed once, by whichever part asks first (the others wait
    for it), and a partial is let go once every part of the pass that declares its aggregate has taken it: a pass
    over many days keeps no more partials in memory than before. (A part whose partials were all up to date takes
    none, and one whose stale days differ takes another; what the others computed is then kept to the pass's end.)
    `uses`: the parts of the pass per aggregate."""

    def __init__(self, uses: Counter[int]) -> None:
        self._uses = uses
        self._lock = threading.Lock()
        self._computed: dict[tuple, Future] = {}
        self._taken: Counter[tuple] = Counter()

    @classmethod
    def of(cls, views: list[View]) -> OncePerPass:
        """What a pass over these views (all-time, rolled up) shares."""
        return cls(Counter(id(part.aggregate) for view in views for part in parts(view)))

    def read(self, category: str, days: tuple[str, ...], compute: Callable[[], DataFrame]) -> DataFrame:
        return self._once(("read", category, *days), compute)

    def state(self, aggregate: Aggregate | DayState, days: tuple[str, ...],
              compute: Callable[[], pa.Table]) -> pa.Table:
        uses = self._uses[id(aggregate)]
        if uses < 2:
            return compute()
        key = ("state", id(aggregate), *days)
        table = self._once(key, compute)
        with self._lock:
            self._taken[key] += 1
            if self._taken[key] >= uses:
                del self._computed[key]
        return table

    def _once(self, key: tuple, compute: Callable[[], T]) -> T:
        with self._lock:
            computed = self._computed.get(key)
            first = computed is None
            if first:
                computed = self._computed[key] = Future()
        if first:
            try:
                computed.set_result(compute())
            except BaseException as error:  # the waiting parts get it too
                computed.set_exception(error)
        return computed.result()


def roll_up(spark: SparkSession, lake: Lake, view: View, shared: OncePerPass | None = None) -> RolledUp:
    """Bring the view's partials up to date with the cleaned zone and its definition, and roll the view up from
    them (in Arrow: when no day changed, no Spark job runs). `shared`: what the views of the same pass share
    (`OncePerPass.of` the pass's views)."""
    shared = shared or OncePerPass.of([view])
    tables, recomputed, dropped = [], set(), set()
    for part in parts(view):
        table, stale, gone = _refresh(spark, lake, partial_parts(view, part), part, shared)
        tables.append(table)
        recomputed.update(stale)
        dropped.update(gone)
    several = isinstance(view.rollup, (Joined, Paired))
    rolled = view.rollup.rollup(tables) if several else view.rollup.rollup(tables[0])
    return RolledUp(rolled.select(list(view.columns)), sorted(recomputed), sorted(dropped))


def _refresh(spark: SparkSession, lake: Lake, folder: tuple[str, ...], part: Part,
             shared: OncePerPass) -> tuple[pa.Table, list[str], list[str]]:
    """A part's partials of every cleaned day, those of new or changed days recomputed, those of days no longer
    cleaned deleted; and those two lists of days."""
    category = CATEGORY_BY_NAME[part.category]
    state, query = _state_query(spark, part)
    objects = cleaned_versions(lake, category.name)
    versions = {day: f"{version}|query={query}" for day, version in objects.items()}
    stale = sorted(day for day, version in versions.items() if _stored_versions(lake, folder, day) != version)
    if stale:
        days = tuple(f"{day}:{objects[day]}" for day in stale)
        # The days' events are read once for all the parts of the pass (Spark resolves the files once too).
        events = shared.read(category.name, days, lambda: read_cleaned(spark, lake, category, stale))
        partial = shared.state(part.aggregate, days, lambda: part.aggregate.partial(events).toArrow())
        _write_partials(lake, folder, partial, stale, versions)
    gone = [f.removeprefix("date=") for f in lake.folders(*folder) if f.removeprefix("date=") not in versions]
    for day in gone:
        lake.delete_folder(*folder, f"date={day}")
    files = lake.list_files(*folder)
    table = (ds.dataset(files, format="parquet", filesystem=lake.filesystem).to_table() if files
             else to_arrow_schema(state.drop("date").schema, timezone="UTC").empty_table())
    return table, stale, gone


_STATE_QUERIES: dict[tuple[SparkSession, int], tuple[DataFrame, str]] = {}


def _state_query(spark: SparkSession, part: Part) -> tuple[DataFrame, str]:
    """The part's partial query on no rows (its schema), and what a partial depends on besides its day's cleaned
    objects: the query's version (a changed definition makes every stored partial stale). Once per session and
    aggregate (the declarations are module constants)."""
    key = (spark, id(part.aggregate))
    if key not in _STATE_QUERIES:
        state = part.aggregate.partial(spark.createDataFrame([], CATEGORY_BY_NAME[part.category].cleaned_schema))
        _STATE_QUERIES[key] = state, query_version(state)
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
