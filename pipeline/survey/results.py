"""What an analysis question's answer is: the seed's processed shape (title, plot_type, points of strings) plus its
statistics, its coefficients with confidence intervals, its sample size and a summary in plain words. The lake,
the `survey_results` Cassandra table and the results page all carry this shape."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

PlotType = Literal["bar", "grouped_bar", "pie", "scatter", "biplot"]


@dataclass(frozen=True)
class ChartPoint:
    """One point of a chart, as the seed stored it (x and y as strings) with the series it belongs to.

    - bar, pie: x is the category, y the value; group is empty.
    - grouped_bar: x is the category on the axis, group the bar within it (e.g. country and campus).
    - scatter: x and y are numbers; group "observed" or "fitted" (the fitted line's points, in x order).
    - biplot: x and y are the first two principal components; group "score" (label: the row, e.g. a country)
      or "loading" (label: the variable)."""

    x: str
    y: str
    group: str = ""
    label: str = ""


@dataclass(frozen=True)
class Coefficient:
    name: str
    estimate: float
    ci_low: float  # 95 % confidence interval
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class QuestionResult:
    question: int  # the number in the seed's analysis plan (seed-facts §6)
    title: str
    plot_type: PlotType
    method: str  # e.g. "chi-squared test of independence"
    sample_size: int  # rows the method used
    summary: str  # what it means, in words a school director reads
    points: tuple[ChartPoint, ...]
    statistics: dict[str, float] = field(default_factory=dict)  # e.g. statistic, p_value, dof
    coefficients: tuple[Coefficient, ...] = ()

    def nan_statistics(self) -> list[str]:
        """The names of statistics or coefficient values that are NaN or infinite (a check fails on any)."""
        bad = [name for name, value in self.statistics.items() if not math.isfinite(value)]
        for c in self.coefficients:
            bad += [f"{c.name}.{part}" for part in ("estimate", "ci_low", "ci_high", "p_value")
                    if not math.isfinite(getattr(c, part))]
        return bad

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QuestionResult:
        return cls(**{**data, "points": tuple(ChartPoint(**p) for p in data["points"]),
                      "coefficients": tuple(Coefficient(**c) for c in data.get("coefficients", ()))})
