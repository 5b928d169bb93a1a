"""What a view is: the `View` row every category module declares beside its function, and how a function's
parameters name the cleaned tables it reads.

A view is a pure PySpark function from cleaned tables to one DataFrame. Its parameters are named after the
cleaned categories it reads (`auth`, `assessment`, `video`, `course`, `profile`, `notification`), each a
DataFrame with that category's cleaned schema (see `pipeline.events.catalogue`; `event_time` is a UTC
timestamp). Date-keyed views get one day of input and return that day's rows; all-time views get the whole
history. A parameter named `<category>_history` always gets that category's whole history, even in a
date-keyed view (for look-ups such as an assignment's type). The category modules import this module only;
`pipeline.views.registry` collects their `VIEWS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from pipeline.views.aggregate import Aggregate, Joined, Paired
from pipeline.views.columns import COLUMN_DESCRIPTIONS, VIEW_COLUMN_NOTES

CATEGORY_GROUPS = ("auth", "assessment", "video", "course", "profile_notification", "serving")
HISTORY = "_history"


def input_category(name: str) -> str:
    """The cleaned category a view parameter reads: `video_history` reads `video`."""
    return name.removesuffix(HISTORY)


def reads_history(name: str) -> bool:
    """Whether a view parameter gets the category's whole history even in a date-keyed view."""
    return name.endswith(HISTORY)


@dataclass(frozen=True)
class View:
    name: str  # also the asset key views/<name> and the lake folder views/<name>/
    group: str  # one of CATEGORY_GROUPS: the original batch job the view belongs to
    function: Callable[..., DataFrame]
    columns: tuple[str, ...]  # the output columns, in order (seed-facts §2 / §2.1)
    keys: tuple[str, ...]  # columns that identify a row (unique, never null)
    date_keyed: bool  # True: one row set per UTC day, daily partitioned; False: over all history
    description: str
    deviation: str | None = None  # what differs from the original system, and why
    rates: tuple[str, ...] = ()  # percentage columns, checked to lie within 0..100
    # An all-time view materialised from per-day partials: an Aggregate or Joined whose `full` is the function, or
    # a Paired whose roll-up equals it (pipeline_tests/views/test_rollup.py).
    rollup: Aggregate | Joined | Paired | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The function's parameter names: cleaned categories, some with the `_history` suffix."""
        return tuple(inspect.signature(self.function).parameters)

    @property
    def categories(self) -> tuple[str, ...]:
        """The cleaned categories the view reads."""
        return tuple(dict.fromkeys(input_category(name) for name in self.inputs))

    def compute(self, tables: dict[str, DataFrame]) -> DataFrame:
        return self.function(**{name: tables[name] for name in self.inputs}).select(*self.columns)

    def column_descriptions(self) -> dict[str, str]:
        """A description of every output column, in order: the view's own note, else the glossary's
        (pipeline/views/columns.py)."""
        described = {**COLUMN_DESCRIPTIONS, **VIEW_COLUMN_NOTES.get(self.name, {})}
        if missing := [c for c in self.columns if c not in described]:
            raise KeyError(f"{self.name}: no description of {missing} in pipeline/views/columns.py")
        return {c: described[c] for c in self.columns}
