"""Tuning the reorder model over the seed's SageMaker ranges (seed-facts §5): max_depth 3–12, eta 0.05–0.5,
min_child_weight 2–8, subsample 0.5–0.9, gamma 0–10.

The seed ran SageMaker's Bayesian search (4 jobs, `validation:rmse`); here a seeded random search: the seed's own
parameters first (the reference every gain is measured against), then `trials` draws from the ranges (eta on a log
scale, max_depth an integer), each trained with early stopping on validation users that the search keeps apart
from its training users (`split_by_user`), and ranked by validation AUC, the model's primary metric. A winner in
the outer tenth of a range is walked past that edge one step at a time while validation AUC improves, up to what
xgboost accepts (a walk that meets such a limit says so), so no range edge silently caps the search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.ml.purchase.model import SEED_PARAMS, TrainResult, train_xgboost


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    limits: tuple[float, float]  # the values a walk past an edge may reach (xgboost's domain, or a time bound)
    step: float  # one step of such a walk: added, or a factor when `log`
    integer: bool = False
    log: bool = False

    def draw(self, rng: np.random.Generator) -> float | int:
        if self.integer:
            return int(rng.integers(self.low, self.high + 1))
        if self.log:
            return round(float(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))), 4)
        return round(float(rng.uniform(self.low, self.high)), 3)

    def edge(self, value: float) -> str | None:
        """'low' or 'high' when the value lies in the outer tenth of the range (or beyond it), else None."""
        scale = math.log if self.log else float
        share = (scale(value) - scale(self.low)) / (scale(self.high) - scale(self.low))
        return "low" if share <= 0.1 else "high" if share >= 0.9 else None

    def beyond(self, value: float, side: str) -> float | int | None:
        """One step past the range's `side` edge from `value` (at least the edge itself), None at a limit."""
        if side == "high":
            start = max(value, self.high)
            nxt = start * self.step if self.log else start + self.step
            nxt = min(nxt, self.limits[1])
        else:
            start = min(value, self.low)
            nxt = start / self.step if self.log else start - self.step
            nxt = max(nxt, self.limits[0])
        nxt = int(nxt) if self.integer else round(float(nxt), 4)
        return None if nxt == value else nxt


SEED_RANGES: Mapping[str, Range] = {
    "max_depth": Range(3, 12, limits=(1, 16), step=1, integer=True),  # 16: deeper trees cost minutes a fit
    "eta": Range(0.05, 0.5, limits=(0.01, 1.0), step=1.5, log=True),
    "min_child_weight": Range(2, 8, limits=(0, 50), step=1),
    "subsample": Range(0.5, 0.9, limits=(0.1, 1.0), step=0.05),
    "gamma": Range(0, 10, limits=(0, 50), step=1),
}
MAX_WALK = 3  # steps past one edge, at most


@dataclass(frozen=True)
class Trial:
    number: int  # 0 is the seed's parameters
    stage: str  # "seed", "random" or "past <param> edge"
    params: dict[str, float | int]  # the tuned parameters only
    auc: float
    log_loss: float
    rounds: int
    seconds: float
    curve: tuple[float, ...]  # validation log loss per round

    def row(self) -> dict:
        return {"trial": self.number, "stage": self.stage, **self.params, "auc": round(self.auc, 5),
                "log_loss": round(self.log_loss, 5), "rounds": self.rounds, "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class Search:
    trials: list[Trial]  # in the order they ran
    best: Trial
    edges: list[str]  # what happened at a range edge, in words

    @property
    def seed(self) -> Trial:
        return self.trials[0]


def seed_values() -> dict[str, float | int]:
    return {name: SEED_PARAMS[name] for name in SEED_RANGES}


def search(train_pdf: pd.DataFrame, valid_pdf: pd.DataFrame, trials: int = 20, seed: int = 42,
           num_round: int = 500, early_stopping_rounds: int = 10,
           progress: Callable[[str], None] = print) -> Search:
    """The seed's parameters, `trials` random draws from SEED_RANGES, then walks past the edges the winner is near.
    Ties go to the earlier trial, so the seed's parameters win unless something is better on validation."""
    done: list[Trial] = []

    def run(params: dict, stage: str) -> Trial:
        result: TrainResult = train_xgboost(train_pdf, valid_pdf, {**SEED_PARAMS, **params}, num_round,
                                            early_stopping_rounds)
        trial = Trial(len(done), stage, params, result.metrics.auc, result.metrics.log_loss, result.rounds,
                      result.seconds, result.curve)
        done.append(trial)
        progress(f"trial {trial.number} ({stage}): {params} → AUC {trial.auc:.5f}, log loss {trial.log_loss:.5f}, "
                 f"{trial.rounds} rounds")
        return trial

    best = run(seed_values(), "seed")
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        trial = run({name: r.draw(rng) for name, r in SEED_RANGES.items()}, "random")
        best = trial if trial.auc > best.auc else best
    edges = []
    for name, r in SEED_RANGES.items():
        side = r.edge(best.params[name])
        if side is None:
            continue
        for _ in range(MAX_WALK):
            value = r.beyond(best.params[name], side)
            if value is None:
                edges.append(f"{name} {best.params[name]} is at its {side} limit: not widened further")
                break
            trial = run({**best.params, name: value}, f"past {name} edge")
            if trial.auc <= best.auc:
                edges.append(f"{name} {best.params[name]} near the {side} edge; {value} past it was not better")
                break
            edges.append(f"{name} widened past its {side} edge to {value}: better")
            best = trial
        else:
            edges.append(f"{name} still improving after {MAX_WALK} steps past its {side} edge: widen the range")
    return Search(done, best, edges)
