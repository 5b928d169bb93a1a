"""What an analysis question's answer is: the seed's processed shape (title, plot_type, points of strings) plus its
statistics, its coefficients with confidence intervals, its sample size and a summary in plain words. The lake,
the `survey_results` Cassandra table and the results page all carry this shape."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from pipeline.web.charts import Chart, ChartPoint, PlotType


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

    @property
    def chart(self) -> Chart:
        return Chart(f"chart-q{self.question}", self.title, self.plot_type, self.points)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QuestionResult:
        return cls(**{**data, "points": tuple(ChartPoint(**p) for p in data["points"]),
                      "coefficients": tuple(Coefficient(**c) for c in data.get("coefficients", ()))})
