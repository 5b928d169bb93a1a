"""All-time views declared as grouped aggregates, so that they roll up from per-day partial aggregates.

An `Aggregate` says which events count (`where`), the columns it computes from an event's own (`derive`, `each`),
the group keys and one `Measure` per output column; a `Joined` left-joins aggregates (of one category or several)
onto a base. From that one declaration come the three things the views need:

- `full(events)`: the view over the events it is given, in Spark: the view function, and what its hand-computed
  tests check;
- `partials(aggregates, events)`: per UTC day and group, the state each measure needs to be merged with other
  days' (a count, a sum, a minimum; the distinct values of a column, a row each), for every aggregate of a category
  in one Spark query over one read of the day's events, and `split_partials` to give each aggregate its own; kept
  in the lake (pipeline/views/partials.py);
- `rollup(partials)`: the view from any number of days' partials, in Arrow: sums of counts, minimum of minima,
  distinct values counted, an average as a summed sum over a summed count, then the joins.

So adding a day reads that day's cleaned events and the small partials of the others, never their events.
A view that pairs events which may fall on different days (a login with its logout, a send with its click) is a
`Paired`: per-day states that keep what a later day may still pair with, and a roll-up that pairs across days.

`pipeline_tests/views/test_rollup.py` checks on random events that the roll-up equals the view function for every
view declared either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.views.common import event_date


@dataclass(frozen=True)
class State:
    """One state of a day's partial: `how` aggregates the column `of` (nulls do not count) over a group's events:
    "count", "sum", "min" or "max", merged across days by summing (counts and sums) or by the minimum or maximum; or
    "values": its distinct values, a partial row each, counted across days."""
    how: str
    of: Callable[[], Column]


@dataclass(frozen=True)
class Measure:
    """One output column: its aggregate over all events (`full`, Spark); the states of one day's partial (suffix ->
    `State`), and the column from the states merged across days (`final`, Arrow)."""
    full: Callable[[], Column]
    states: dict[str, State]
    final: Callable[[dict[str, pa.ChunkedArray]], pa.ChunkedArray] = lambda merged: merged[""]


Condition = Callable[[], Column]  # built when a query is, not at import (a Column needs a SparkSession)


def _where(value: Column, when: Condition | None) -> Column:
    return F.when(when(), value) if when is not None else value


def count(of: str | None = None, when: Condition | None = None, zero_as_null: bool = False) -> Measure:
    """Rows (where `when` holds, and `of` is not null). `zero_as_null`: null rather than 0, as a full join of
    separate aggregates would leave it."""
    def counted() -> Column:  # a row counts where this is not null
        return _where(F.col(of) if of else F.lit(1), when)

    def full() -> Column:
        rows = F.count(counted())
        return F.when(rows > 0, rows) if zero_as_null else rows

    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        total = merged[""]
        return pc.if_else(pc.greater(total, 0), total, pa.scalar(None, total.type)) if zero_as_null else total

    return Measure(full=full, states={"": State("count", counted)}, final=final)


def total(column: str, per: float | None = None) -> Measure:
    """The sum of a column (divided by `per`: seconds as minutes or hours)."""
    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        return pc.divide(pc.cast(merged[""], pa.float64()), per) if per else merged[""]

    return Measure(full=lambda: F.sum(column) / per if per else F.sum(column),
                   states={"": State("sum", lambda: F.col(column))}, final=final)


def least(column: str) -> Measure:
    return Measure(full=lambda: F.min(column), states={"": State("min", lambda: F.col(column))})


def greatest(column: str) -> Measure:
    return Measure(full=lambda: F.max(column), states={"": State("max", lambda: F.col(column))})


def mean(column: str, when: Condition | None = None) -> Measure:
    """The average of a column's non-null values (where `when` holds); null without any."""
    def value() -> Column:
        return _where(F.col(column), when)

    def final(merged: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
        n = merged["n"]
        return pc.if_else(pc.greater(n, 0), pc.divide(merged["sum"], pc.cast(n, pa.float64())),
                          pa.scalar(None, pa.float64()))

    return Measure(full=lambda: F.avg(value()),
                   states={"sum": State("sum", lambda: value().cast(T.DoubleType())), "n": State("count", value)},
                   final=final)


def distinct(column: str, when: Condition | None = None) -> Measure:
    """The number of distinct non-null values of a column (where `when` holds)."""
    def value() -> Column:
        return _where(F.col(column), when)

    return Measure(full=lambda: F.countDistinct(value()), states={"": State("values", value)})


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


_SPARK_STATE = {"count": F.count, "sum": F.sum, "min": F.min, "max": F.max}
# How the states of several days merge: the Arrow grouped aggregation that does it.
_ARROW_MERGE = {"count": "sum", "sum": "sum", "min": "min", "max": "max", "values": "count_distinct"}


def _state(name: str, suffix: str) -> str:
    return f"{name}__{suffix}" if suffix else name


@dataclass(frozen=True)
class Aggregate:
    keys: tuple[str, ...]
    measures: dict[str, Measure]
    where: Condition | None = None  # the events that count (all of them without)
    # Columns computed from each counted event's own (all from the event as read, not from one another) ...
    derive: dict[str, Callable[[], Column]] = field(default_factory=dict)
    # ... and a new column holding each element of an array column in a row of its own, nulls left out.
    each: tuple[str, Callable[[], Column]] | None = None
    finish: Bands | None = None  # a column computed from the measures

    def rows(self, events: DataFrame) -> DataFrame:
        """The events that count, with the columns the aggregate computes."""
        rows = events.where(self.where()) if self.where else events
        rows = rows.withColumns({name: value() for name, value in self.derive.items()}) if self.derive else rows
        if self.each:
            name, values = self.each
            rows = rows.withColumn(name, F.explode(values())).where(F.col(name).isNotNull())
        return rows

    def full(self, events: DataFrame) -> DataFrame:
        grouped = _grouped(self.rows(events), list(self.keys),
                           [measure.full().alias(name) for name, measure in self.measures.items()])
        return self.finish.spark(grouped) if self.finish else grouped

    def states(self) -> dict[str, State]:
        """Every state of a partial, by its column name."""
        return {_state(name, suffix): state for name, measure in self.measures.items()
                for suffix, state in measure.states.items()}

    def rollup(self, partials: pa.Table) -> pa.Table:
        """The view from the partials of any set of days (their rows, without `date`), in Arrow: no Spark job."""
        merges = {column: _ARROW_MERGE[state.how] for column, state in self.states().items()}
        grouped = partials.group_by(list(self.keys)).aggregate(list(merges.items()))
        merged = {column: grouped[f"{column}_{how}"] for column, how in merges.items()}
        columns = {key: grouped[key] for key in self.keys}
        for name, measure in self.measures.items():
            columns[name] = measure.final({suffix: merged[_state(name, suffix)] for suffix in measure.states})
        table = pa.table(columns)
        return self.finish.arrow(table) if self.finish else table


def _grouped(rows: DataFrame, keys: list, aggregates: list[Column]) -> DataFrame:
    """The groups of `keys` with their aggregates (without any: the distinct keys)."""
    return rows.groupBy(*keys).agg(*aggregates) if aggregates else rows.select(*keys).distinct()


PART = "_part"  # in the partials of several aggregates computed together: which aggregate's a row is (`_Tag`)


@dataclass(frozen=True)
class _Tag:
    """What the rows of one tag hold: aggregate `index`'s groups with their states (`values` None), or the
    distinct values of its "values" state `values`, a row each."""
    index: int
    values: str | None = None


def _tags(aggregates: list[Aggregate]) -> list[_Tag]:
    return [tag for index, aggregate in enumerate(aggregates)
            for tag in (_Tag(index), *[_Tag(index, column) for column, state in aggregate.states().items()
                                      if state.how == "values"])]


def partials(aggregates: list[Aggregate], events: DataFrame) -> DataFrame:
    """Per UTC day (`date`), the partials of several aggregates over the same events, in one query that reads them
    once: each event is repeated once per tag (`_tags`) whose aggregate counts it, the columns an aggregate computes
    are computed for its copies, and one grouping by tag, day and every aggregate's keys (and distinct values)
    computes every state. `split_partials` gives each aggregate its own."""
    tags = _tags(aggregates)
    if all(aggregate.where for aggregate in aggregates):  # the events no aggregate counts are never copied
        events = events.where(reduce(lambda a, b: a | b, [aggregate.where() for aggregate in aggregates]))
    copies = [F.when(aggregates[tag.index].where(), F.lit(n)) if aggregates[tag.index].where else F.lit(n)
              for n, tag in enumerate(tags)]
    rows = events.select("*", event_date(), F.explode(F.array(*copies)).alias(PART)).where(F.col(PART).isNotNull())
    part = F.col(PART)

    def tagged(of: Callable[[int, Aggregate], bool]) -> Column:
        """Whether a copy is of an aggregate for which `of(index, aggregate)` holds."""
        return part.isin([n for n, tag in enumerate(tags) if of(tag.index, aggregates[tag.index])])

    derived: dict[str, Column] = {}
    for index, aggregate in enumerate(aggregates):
        mine = tagged(lambda i, _: i == index)
        for name, value in aggregate.derive.items():
            derived[name] = derived[name].when(mine, value()) if name in derived else F.when(mine, value())
    if derived:
        rows = rows.withColumns({name: value.otherwise(F.col(name)) if name in events.columns else value
                                 for name, value in derived.items()})
    for name, values in dict.fromkeys(aggregate.each for aggregate in aggregates if aggregate.each):
        if name in events.columns:
            raise ValueError(f"each: {name} is a column of the events; it would hide it from the other aggregates")
        exploding = tagged(lambda _, aggregate: aggregate.each == (name, values))
        rows = rows.withColumn(name, F.explode_outer(F.when(exploding, values()))).where(
            ~exploding | F.col(name).isNotNull())

    values = {n: aggregates[tag.index].states()[tag.values].of for n, tag in enumerate(tags) if tag.values}
    if values:  # a value row without a value is no value
        rows = rows.where(~reduce(lambda a, b: a | b, [(part == n) & of().isNull() for n, of in values.items()]))
    keys = [F.when(tagged(lambda _, aggregate: key in aggregate.keys), F.col(key)).alias(f"_key_{key}")
            for key in dict.fromkeys(key for aggregate in aggregates for key in aggregate.keys)]
    value_columns = [F.when(part == n, of()).alias(f"_value_{n}") for n, of in values.items()]
    states = [_SPARK_STATE[state.how](F.when(part == n, state.of())).alias(f"_state_{tag.index}_{column}")
              for n, tag in enumerate(tags) if tag.values is None
              for column, state in aggregates[tag.index].states().items() if state.how != "values"]
    return _grouped(rows, [part, "date", *keys, *value_columns], states)


def split_partials(aggregates: list[Aggregate], table: pa.Table) -> list[pa.Table]:
    """`partials`' result (collected) as each aggregate's partials: `date`, its keys and its states, the groups' rows
    (their "values" states null) then a row per distinct value of each "values" state (the other states null)."""
    tags, part, split = _tags(aggregates), table[PART], []
    for index, aggregate in enumerate(aggregates):
        states = aggregate.states()
        sources = {"date": "date", **{key: f"_key_{key}" for key in aggregate.keys},
                   **{column: f"_state_{index}_{column}" for column, state in states.items() if state.how != "values"},
                   **{tag.values: f"_value_{n}" for n, tag in enumerate(tags) if tag.index == index and tag.values}}
        schema = pa.schema([pa.field(column, table.schema.field(source).type) for column, source in sources.items()])

        def held(column: str, tag: _Tag) -> bool:
            """Whether the rows of `tag` hold `column` (else it is null in them)."""
            if column not in states:  # the day and the keys
                return True
            return column == tag.values if states[column].how == "values" else tag.values is None

        blocks = []
        for n, tag in enumerate(tags):
            if tag.index == index:
                rows = table.filter(pc.equal(part, n))
                blocks.append(pa.table({column: rows[source] if held(column, tag) else
                                        pa.nulls(rows.num_rows, schema.field(column).type)
                                        for column, source in sources.items()}, schema=schema))
        split.append(pa.concat_tables(blocks))
    return split


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
