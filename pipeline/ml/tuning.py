"""Grid search that does not stop at the edge of its grid: when the best value of a parameter is the smallest or
the largest one tried, the next value past it (the same ratio as between the last two) is tried too, along the
line through the best combination, until the best is inside the values tried or `max_widenings` steps were taken.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Params = dict[str, float]


@dataclass
class Search:
    grid: dict[str, list[float]]  # the values tried per parameter, widened ones included
    scores: list[tuple[Params, float]]  # every combination tried and its score (lower is better)
    widened: list[str] = field(default_factory=list)  # what widening added, in order, for a reader

    @property
    def best(self) -> tuple[Params, float]:
        return min(self.scores, key=lambda row: row[1])

    def on_edge(self) -> dict[str, str]:
        """Parameters whose best value is still the smallest or largest tried (after the widening allowed)."""
        best = self.best[0]
        return {name: ("lowest" if best[name] == min(values) else "highest")
                for name, values in self.grid.items() if len(set(values)) > 1
                and best[name] in (min(values), max(values))}


def combinations(grid: Mapping[str, Sequence[float]]) -> list[Params]:
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def _beyond(values: Sequence[float], best: float) -> float | None:
    """The next value past `best` when it is an edge of `values`, keeping the type (an int stays an int >= 1)."""
    ordered = sorted(set(values))
    if len(ordered) < 2 or best not in (ordered[0], ordered[-1]) or min(ordered) <= 0:
        return None
    if best == ordered[-1]:
        step = ordered[-1] / ordered[-2]
        value = best * step
    else:
        step = ordered[1] / ordered[0]
        value = best / step
    if isinstance(best, int):
        value = round(value)
        if value < 1 or value in ordered:
            return None
        return int(value)
    return round(value, 6)


def search(grid: Mapping[str, Sequence[float]], evaluate: Callable[[list[Params]], list[float]],
           max_widenings: int = 3) -> Search:
    """Score every combination of `grid` with `evaluate` (a batch of combinations → their scores, lower is
    better), then widen past the edges as described above."""
    state = Search({k: list(v) for k, v in grid.items()}, [])
    batch = combinations(grid)
    state.scores += list(zip(batch, evaluate(batch), strict=True))
    for _ in range(max_widenings):
        best = state.best[0]
        batch = []
        for name, values in state.grid.items():
            value = _beyond(values, best[name])
            if value is not None:
                values.append(value)
                edge = "highest" if value > best[name] else "lowest"
                state.widened.append(f"{name} {value} (best {best[name]} was the {edge})")
                batch.append({**best, name: value})
        if not batch:
            break
        state.scores += list(zip(batch, evaluate(batch), strict=True))
    return state
