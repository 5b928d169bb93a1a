"""All-time views declared as grouped aggregates, so that they roll up from per-day partial aggregates.

An `Aggregate` says which rows count (`rows`: a filter, and the columns such a view groups by), the group keys and
one `Measure` per output column; a `Joined` left-joins aggregates (of one category or several) onto a base. From
that one declaration come the three things the views need:

- `full(events)`: the view over the events it is given, in Spark: the view function, and what its hand-computed
  tests check;
- `partial(events)`: per UTC day and group, the state each measure needs to be merged with other days' (a count,
  a sum, a minimum, a set of distinct values), computed in Spark once per day and kept in the lake
  (pipeline/views/partials.py);
- `rollup(partials)`: the view from any number of days' partials, in Arrow: sums of counts, minimum of minima,
  union of distinct sets, an average as a summed sum over a summed count, then the joins.

So adding a day reads that day's cleaned events and the small partials of the others, never their events.
A view that pairs events which may fall on different days (a login with its logout, a send with its click) is a
`Paired`: per-day states that keep what a later day may still pair with, and a roll-up that pairs across days.

`pipeline_tests/views/test_rollup.py` checks on random events that the roll-up equals the view function for every
view declared either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.views.common import event_date


@dataclass(frozen=True)
class Measure:
    """One output column: its aggregate over all events (`full`, Spark); the state columns of one day's partial
    (suffix -> Spark aggregate); how the states of several days combine (suffix -> "sum", "min", "max", or
    "union": of sets, counted) and the column from the combined states (`final`, Arrow)."""
    full: Callable[[], Column]
    states: dict[str, Callable[[], Column]]
    merges: dict[str, str]
    final: Callable[[dict[str, pa.ChunkedArray]], pa.ChunkedArray] = lambda merged: merged[""]


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

    def full() -> Column:
        return F.when(counted() > 0, counted()) if zero_as_null else counted()

    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        total = merged[""]
        return pc.if_else(pc.greater(total, 0), total, pa.scalar(None, total.type)) if zero_as_null else total

    return Measure(full=full, states={"": counted}, merges={"": "sum"}, final=final)


def total(column: str, per: float | None = None) -> Measure:
    """The sum of a column (divided by `per`: seconds as minutes or hours)."""
    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        return pc.divide(pc.cast(merged[""], pa.float64()), per) if per else merged[""]

    return Measure(full=lambda: F.sum(column) / per if per else F.sum(column), states={"": lambda: F.sum(column)},
                   merges={"": "sum"}, final=final)


def least(column: str) -> Measure:
    return Measure(full=lambda: F.min(column), states={"": lambda: F.min(column)}, merges={"": "min"})


def greatest(column: str) -> Measure:
    return Measure(full=lambda: F.max(column), states={"": lambda: F.max(column)}, merges={"": "max"})


def mean(column: str, when: Condition | None = None) -> Measure:
    """The average of a column's non-null values (where `when` holds); null without any."""
    def value() -> Column:
        return _where(F.col(column), when)

    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        n = merged["n"]
        return pc.if_else(pc.greater(n, 0), pc.divide(merged["sum"], pc.cast(n, pa.float64())),
                          pa.scalar(None, pa.float64()))

    return Measure(full=lambda: F.avg(value()),
                   states={"sum": lambda: F.sum(value().cast(T.DoubleType())), "n": lambda: F.count(value())},
                   merges={"sum": "sum", "n": "sum"}, final=final)


def distinct(column: str, when: Condition | None = None) -> Measure:
    """The number of distinct non-null values of a column (where `when` holds)."""
    def value() -> Column:
        return _where(F.col(column), when)

    return Measure(full=lambda: F.countDistinct(value()), states={"": lambda: F.collect_set(value())},
                   merges={"": "union"})


@dataclass(frozen=True)
class Bands:
    """A label column from a numeric one: the label of the first band whose bound the value is below, else
    `otherwise` (a null value too)."""
    column: str
    of: str
    bands: tuple[tuple[float, str], ...]
    otherwise: str

    def spark(self, frame: DataFrame) -> DataFrame:
        label = F.lit(self.otherwise)
        for bound, name in reversed(self.bands):
            label = F.when(F.col(self.of) < bound, name).otherwise(label)
        return frame.withColumn(self.column, label)

    def arrow(self, table: pa.Table) -> pa.Table:
        label = pa.repeat(pa.scalar(self.otherwise), table.num_rows)
        for bound, name in reversed(self.bands):
            below = pc.fill_null(pc.less(table[self.of], bound), False)
            label = pc.if_else(below, pa.scalar(name), label)
        return table.append_column(self.column, label)


# How states of several days merge -> the Arrow grouped aggregation that does it (a set column is spread into rows).
_ARROW_MERGE = {"sum": "sum", "min": "min", "max": "max", "union": "count_distinct"}


def _state(name: str, suffix: str) -> str:
    return f"{name}__{suffix}" if suffix else name


@dataclass(frozen=True)
class Aggregate:
    keys: tuple[str, ...]
    measures: dict[str, Measure]
    rows: Callable[[DataFrame], DataFrame] = lambda events: events  # filter, add the keys it groups by
    finish: Bands | None = None  # a column computed from the measures

    def full(self, events: DataFrame) -> DataFrame:
        grouped = _grouped(self.rows(events), list(self.keys),
                           [measure.full().alias(name) for name, measure in self.measures.items()])
        return self.finish.spark(grouped) if self.finish else grouped

    def partial(self, events: DataFrame) -> DataFrame:
        """Per UTC day (`date`) and group, every measure's state."""
        return _grouped(self.rows(events), [event_date(), *self.keys], [
            state().alias(_state(name, suffix))
            for name, measure in self.measures.items() for suffix, state in measure.states.items()])

    def rollup(self, partials: pa.Table) -> pa.Table:
        """The view from the partials of any set of days (their rows, without `date`), in Arrow: no Spark job."""
        merges = {_state(name, suffix): how for name, measure in self.measures.items()
                  for suffix, how in measure.merges.items()}
        spread = _spread(partials, list(self.keys), [column for column, how in merges.items() if how == "union"])
        grouped = spread.group_by(list(self.keys)).aggregate(
            [(column, _ARROW_MERGE[how]) for column, how in merges.items()])
        merged = {column: grouped[f"{column}_{_ARROW_MERGE[how]}"] for column, how in merges.items()}
        columns = {key: grouped[key] for key in self.keys}
        for name, measure in self.measures.items():
            columns[name] = measure.final({suffix: merged[_state(name, suffix)] for suffix in measure.merges})
        table = pa.table(columns)
        return self.finish.arrow(table) if self.finish else table


def _grouped(rows: DataFrame, keys: list, aggregates: list[Column]) -> DataFrame:
    """The groups of `keys` with their aggregates (without any: the distinct keys)."""
    return rows.groupBy(*keys).agg(*aggregates) if aggregates else rows.select(*keys).distinct()


@dataclass(frozen=True)
class Joined:
    """Aggregates of one or more categories left-joined onto the first (the base) by each one's keys: a view with
    a row per base group. `parts` pairs each aggregate with the view parameter (cleaned category) it reads;
    `zero`: columns that are 0, not null, for a base row without a match."""
    parts: tuple[tuple[str, Aggregate], ...]
    zero: tuple[str, ...] = ()
    finish: Bands | Percent | None = None

    def full(self, tables: dict[str, DataFrame]) -> DataFrame:
        (category, base), *others = self.parts
        joined = base.full(tables[category])
        for category, other in others:
            joined = joined.join(other.full(tables[category]), list(other.keys), "left")
        joined = joined.fillna(0, subset=list(self.zero)) if self.zero else joined
        return self.finish.spark(joined) if self.finish else joined

    def rollup(self, partials: list[pa.Table]) -> pa.Table:
        """The view from each part's partials (in the order of `parts`), in Arrow."""
        (_, base), *others = self.parts
        joined = base.rollup(partials[0])
        for (_, other), rows in zip(others, partials[1:]):
            joined = joined.join(other.rollup(rows), list(other.keys), join_type="left outer")
        for column in self.zero:
            index = joined.schema.get_field_index(column)
            joined = joined.set_column(index, column, pc.fill_null(joined[column], 0))
        return self.finish.arrow(joined) if self.finish else joined


@dataclass(frozen=True)
class Percent:
    """`part` as a percentage of `whole`, rounded half up to 2 decimals, as decimal(5,2); null when whole is 0."""
    column: str
    part: str
    whole: str

    def spark(self, frame: DataFrame) -> DataFrame:
        ratio = F.try_divide(F.col(self.part).cast("decimal(20,0)") * 100, F.col(self.whole))
        return frame.withColumn(self.column, F.round(ratio, 2).cast("decimal(5,2)"))

    def arrow(self, table: pa.Table) -> pa.Table:
        return table.append_column(self.column, percent_of(table[self.part], table[self.whole], exact=True))


def _spread(partials: pa.Table, keys: list[str], sets: list[str]) -> pa.Table:
    """The partials with each set column replaced by its values, one per row: the partial rows as they are (their
    sets null), then for each set column the values of every row's set under that row's keys, the other state
    columns null. One grouping then sums, or takes the minimum of, the states (nulls do not count) and counts the
    distinct values of each set column (nulls do not count either)."""
    if not sets:
        return partials
    types = {c: partials.schema.field(c).type for c in partials.column_names} | {
        c: partials.schema.field(c).type.value_type for c in sets}
    schema = pa.schema([pa.field(c, t) for c, t in types.items()])  # nullable: the blocks hold nulls
    blocks = [pa.table({c: pa.nulls(partials.num_rows, types[c]) if c in sets else partials[c] for c in types},
                       schema=schema)]
    for column in sets:
        lists = partials[column].combine_chunks()
        parents = pc.list_parent_indices(lists)
        blocks.append(pa.table({c: partials[c].take(parents) if c in keys
                                else pc.list_flatten(lists) if c == column
                                else pa.nulls(len(parents), types[c]) for c in types}, schema=schema))
    return pa.concat_tables(blocks)


@dataclass(frozen=True)
class DayState:
    """One kind of per-day state of a `Paired` view: `query` takes a day's (or several days') events and returns
    rows with their UTC day twice, as `date` (the partial's folder) and as `day` (a column the roll-up compares)."""
    query: Callable[[DataFrame], DataFrame]

    def partial(self, events: DataFrame) -> DataFrame:
        return self.query(events)


@dataclass(frozen=True)
class Paired:
    """An all-time view that pairs events across days, rolled up from per-day states: `parts` pairs each state with
    the view parameter (cleaned category) it reads; `rollup` (Arrow) computes the view from every day's states,
    in the order of `parts`."""
    parts: tuple[tuple[str, DayState], ...]
    rollup: Callable[[list[pa.Table]], pa.Table]


def with_day(states: DataFrame) -> DataFrame:
    """A day's states (grouped by `date`) with the day as a column of its own: a partial's `date` is its folder."""
    return states.withColumn("day", F.col("date"))


def micros(timestamps: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps as microseconds since the epoch: Spark's unix_micros."""
    return pc.cast(pc.cast(timestamps, pa.timestamp("us", tz="UTC")), pa.int64())


def seconds(timestamps: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps as seconds since the epoch, a double: Spark's cast of a timestamp to double."""
    return pc.divide(micros(timestamps), 1e6)


def first_per_group(table: pa.Table, keys: list[str], order: list[str]) -> pa.Table:
    """Per group of `keys`, the row that comes first by `order` (ascending), every other column as it is."""
    ordered = table.sort_by([(c, "ascending") for c in [*keys, *order]])
    others = [c for c in table.column_names if c not in keys]
    firsts = ordered.group_by(keys, use_threads=False).aggregate(
        [(c, "first", pc.ScalarAggregateOptions(skip_nulls=False)) for c in others])
    return firsts.rename_columns([c.removesuffix("_first") for c in firsts.column_names])


def percent_of(part: pa.ChunkedArray, whole: pa.ChunkedArray, exact: bool = False) -> pa.Array:
    """part x 100 / whole as decimal(5,2) rounded half up, null when whole is 0: from the exact decimal quotient
    (`exact`, as `Percent.spark` divides decimals), or as Spark casts a double quotient (by its shortest text)."""
    def percent(p: int | None, w: int | None) -> Decimal | None:
        if p is None or not w:
            return None
        quotient = Decimal(p) * 100 / Decimal(w) if exact else Decimal(repr(p * 100 / w))
        return quotient.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    return pa.array([percent(p, w) for p, w in zip(part.to_pylist(), whole.to_pylist())], pa.decimal128(5, 2))
