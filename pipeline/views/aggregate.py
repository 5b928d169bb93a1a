"""All-time views declared as one grouped aggregate, so that they roll up from per-day partial aggregates.

An `Aggregate` says which rows count (`rows`: a filter, and columns such a view groups by), the group keys and one
`Measure` per output column. From that one declaration come the three things the views need:

- `full(events)`: the view over the events it is given, in one Spark aggregation: the view function, and what its
  hand-computed tests check;
- `partial(events)`: per UTC day and group, the state each measure needs to be merged with other days' (a count,
  a sum, a minimum, a set of distinct values), computed once per day and kept in the lake;
- `rollup(partials)`: the view from any number of days' partials: sums of counts, minimum of minima, union of
  distinct sets, and an average as a summed sum over a summed count.

So adding a day reads that day's cleaned events and the small partials of the others, never their events.
`pipeline_tests/views/test_rollup.py` checks on random events that `rollup(partial)` equals `full` for every view
declared this way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.views.common import event_date


@dataclass(frozen=True)
class Measure:
    """One output column: its aggregate over all events (`full`), the per-day state columns (suffix -> aggregate)
    and how the states of several days make the column (`merge`, given the state columns by suffix)."""
    full: Callable[[], Column]
    states: dict[str, Callable[[], Column]]
    merge: Callable[[dict[str, Column]], Column]


Condition = Callable[[], Column]  # built when a query is, not at import (a Column needs a SparkSession)


def _where(value: Column, when: Condition | None) -> Column:
    return F.when(when(), value) if when is not None else value


def is_type(event_type: str) -> Condition:
    return lambda: F.col("event_type") == event_type


def count(of: str | None = None, when: Condition | None = None, zero_as_null: bool = False) -> Measure:
    """Rows (where `when` holds, and `of` is not null). `zero_as_null`: null rather than 0, as a full join of
    separate aggregates would leave it."""
    def counted() -> Column:
        return F.count(_where(F.col(of) if of else F.lit(1), when))

    def finished(total: Column) -> Column:
        return F.when(total > 0, total) if zero_as_null else total

    return Measure(full=lambda: finished(counted()), states={"": counted},
                   merge=lambda s: finished(F.sum(s[""])))


def total(column: str, per: float | None = None) -> Measure:
    """The sum of a column (divided by `per`: seconds as minutes or hours)."""
    def scaled(value: Column) -> Column:
        return value / per if per else value

    return Measure(full=lambda: scaled(F.sum(column)), states={"": lambda: F.sum(column)},
                   merge=lambda s: scaled(F.sum(s[""])))


def least(column: str) -> Measure:
    return Measure(full=lambda: F.min(column), states={"": lambda: F.min(column)}, merge=lambda s: F.min(s[""]))


def greatest(column: str) -> Measure:
    return Measure(full=lambda: F.max(column), states={"": lambda: F.max(column)}, merge=lambda s: F.max(s[""]))


def mean(column: str, when: Condition | None = None) -> Measure:
    """The average of a column's non-null values (where `when` holds); null without any."""
    def value() -> Column:
        return _where(F.col(column), when)

    return Measure(full=lambda: F.avg(value()),
                   states={"sum": lambda: F.sum(value().cast(T.DoubleType())), "n": lambda: F.count(value())},
                   merge=lambda s: F.try_divide(F.sum(s["sum"]), F.sum(s["n"])))


def distinct(column: str, when: Condition | None = None) -> Measure:
    """The number of distinct non-null values of a column (where `when` holds)."""
    def value() -> Column:
        return _where(F.col(column), when)

    return Measure(full=lambda: F.countDistinct(value()), states={"": lambda: F.collect_set(value())},
                   merge=lambda s: F.size(F.array_distinct(F.flatten(F.collect_list(s[""])))))


def _state(name: str, suffix: str) -> str:
    return f"{name}__{suffix}" if suffix else name


@dataclass(frozen=True)
class Aggregate:
    keys: tuple[str, ...]
    measures: dict[str, Measure]
    rows: Callable[[DataFrame], DataFrame] = lambda events: events  # filter, add the keys it groups by
    finish: Callable[[DataFrame], DataFrame] | None = None  # columns computed from the measures

    def full(self, events: DataFrame) -> DataFrame:
        grouped = self.rows(events).groupBy(*self.keys).agg(
            *[measure.full().alias(name) for name, measure in self.measures.items()])
        return self.finish(grouped) if self.finish else grouped

    def partial(self, events: DataFrame) -> DataFrame:
        """Per UTC day (`date`) and group, every measure's state."""
        return self.rows(events).groupBy(event_date(), *self.keys).agg(*[
            state().alias(_state(name, suffix))
            for name, measure in self.measures.items() for suffix, state in measure.states.items()])

    def rollup(self, partials: DataFrame, events_schema: T.StructType) -> DataFrame:
        """The view from the partials of any set of days, with the types `full` gives on events of
        `events_schema`."""
        grouped = partials.groupBy(*self.keys).agg(*[
            measure.merge({suffix: F.col(_state(name, suffix)) for suffix in measure.states}).alias(name)
            for name, measure in self.measures.items()])
        result = self.finish(grouped) if self.finish else grouped
        types = {f.name: f.dataType for f in self.full(_empty(partials, events_schema)).schema.fields}
        return result.select(*[F.col(c).cast(types[c]).alias(c) for c in result.columns])


def _empty(like: DataFrame, schema: T.StructType) -> DataFrame:
    return like.sparkSession.createDataFrame([], schema)
