"""Rating predictors that need no factor model, in numpy on the driver: the honest baselines of the rating model
(global mean, item mean, regularised user + item biases) and an item-based neighbourhood model on the biases'
residuals, which the rating model blends with ALS.

Every predictor is fitted on (user, item, rating) arrays with any integer ids and predicts any (user, item) pair:
an id unseen in training contributes nothing beyond the global mean, so every test row gets a prediction and the
model and its baselines are scored on exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Errors:
    rmse: float
    mae: float

    @classmethod
    def of(cls, predicted: np.ndarray, actual: np.ndarray) -> Errors:
        error = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
        return cls(float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error))))


@dataclass(frozen=True)
class Index:
    """Dense positions 0..n-1 of the ids seen in training; an unseen id is position n (a slot that stays 0)."""

    ids: np.ndarray  # sorted

    @classmethod
    def of(cls, ids: np.ndarray) -> Index:
        return cls(np.unique(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(self.ids, ids), 0, max(len(self.ids) - 1, 0))
        found = (self.ids[pos] == ids) if len(self.ids) else np.zeros(len(ids), dtype=bool)
        return np.where(found, pos, len(self.ids))


def global_mean(ratings: np.ndarray) -> float:
    return float(np.mean(ratings))


@dataclass(frozen=True)
class ItemMean:
    """Each item's mean training rating; the global mean for an unseen item."""

    items: Index
    means: np.ndarray  # one per item, then the global mean for unseen items

    @classmethod
    def fit(cls, items: np.ndarray, ratings: np.ndarray) -> ItemMean:
        index = Index.of(items)
        pos = index.positions(items)
        means = np.bincount(pos, ratings, len(index)) / np.bincount(pos, minlength=len(index))
        return cls(index, np.append(means, global_mean(ratings)))

    def predict(self, items: np.ndarray) -> np.ndarray:
        return self.means[self.items.positions(items)]


@dataclass(frozen=True)
class Biases:
    """r̂ = μ + b_u + b_i, with b_u and b_i shrunk towards 0 by `reg_user` and `reg_item` (Koren's baseline
    predictor, fitted by alternating least squares: each step is the exact regularised mean of the residuals)."""

    mean: float
    users: Index
    items: Index
    user_bias: np.ndarray  # one per user, then 0 for unseen users
    item_bias: np.ndarray
    reg_user: float
    reg_item: float

    @classmethod
    def fit(cls, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, reg_user: float = 15.0,
            reg_item: float = 10.0, iterations: int = 10) -> Biases:
        user_index, item_index = Index.of(users), Index.of(items)
        u, i = user_index.positions(users), item_index.positions(items)
        mean = global_mean(ratings)
        user_count = np.bincount(u, minlength=len(user_index))
        item_count = np.bincount(i, minlength=len(item_index))
        b_user = np.zeros(len(user_index) + 1)
        b_item = np.zeros(len(item_index) + 1)
        for _ in range(iterations):
            b_item[:-1] = np.bincount(i, ratings - mean - b_user[u], len(item_index)) / (reg_item + item_count)
            b_user[:-1] = np.bincount(u, ratings - mean - b_item[i], len(user_index)) / (reg_user + user_count)
        return cls(mean, user_index, item_index, b_user, b_item, reg_user, reg_item)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mean + self.user_bias[self.users.positions(users)] + self.item_bias[self.items.positions(items)]


# Regularisations tried for the bias baseline (on a validation fold): the baseline the model must beat is the
# best of them, not an arbitrary one. A winner on the edge is widened past it (`tuning.search`).
BIAS_GRID = {"reg_user": (3.0, 10.0, 25.0), "reg_item": (3.0, 10.0, 25.0)}


@dataclass(frozen=True)
class ItemStatistics:
    """What item-based neighbours are computed from, on the residuals of `Biases`: for each pair of items, over the
    users who rated both, Σ r_ui·r_uj, Σ r_ui² and their number. Dense over the `max_items` most-rated items (all
    of MovieLens 100k's 1,682; the 20M release's top 3,000 carry most of its ratings); the other items are
    predicted by the biases alone. Fitted once, it gives neighbour models for any `k` and `shrink` cheaply."""

    biases: Biases
    items: Index  # the items with a similarity row
    products: np.ndarray
    squares: np.ndarray  # [i, j]: Σ r_ui² over the users who rated both i and j
    shared: np.ndarray
    residuals: dict[int, tuple[np.ndarray, np.ndarray]]  # user id -> (positions in `items`, residuals)

    @classmethod
    def fit(cls, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, biases: Biases, max_items: int = 3000,
            user_chunk: int = 20_000) -> ItemStatistics:
        residual = (ratings - biases.predict(users, items)).astype(np.float32)
        item_ids, counts = np.unique(items, return_counts=True)
        kept = Index(np.sort(item_ids[np.argsort(-counts, kind="stable")[:max_items]]))
        pos = kept.positions(items)
        inside = pos < len(kept)
        users, pos, residual = users[inside], pos[inside], residual[inside]
        user_index = Index.of(users)
        row = user_index.positions(users)
        m = len(kept)
        products, squares, shared = (np.zeros((m, m), dtype=np.float64) for _ in range(3))
        for start in range(0, len(user_index), user_chunk):  # dense blocks of users bound the memory
            take = (row >= start) & (row < start + user_chunk)
            block_rows = min(user_chunk, len(user_index) - start)
            r = np.zeros((block_rows, m), dtype=np.float32)
            rated = np.zeros((block_rows, m), dtype=np.float32)
            r[row[take] - start, pos[take]] = residual[take]
            rated[row[take] - start, pos[take]] = 1.0
            products += r.T @ r
            squares += (r * r).T @ rated
            shared += rated.T @ rated
        order = np.argsort(users, kind="stable")
        users, pos, residual = users[order], pos[order], residual[order]
        bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True]) if len(users) else []
        per_user = {int(users[a]): (pos[a:b], residual[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)}
        return cls(biases, kept, products, squares, shared, per_user)

    def neighbours(self, k: int = 40, shrink: float = 100.0) -> ItemNeighbours:
        """Similarity: the Pearson correlation of residuals over the users who rated both items, shrunk towards 0
        by `shrink` when few users share them."""
        with np.errstate(divide="ignore", invalid="ignore"):
            norms = self.squares * self.squares.T
            pearson = np.where(norms > 0, self.products / np.sqrt(norms), 0.0)
        support = np.maximum(self.shared - 1, 0)
        similarity = (pearson * support / (support + shrink)).astype(np.float32)
        np.fill_diagonal(similarity, 0.0)
        return ItemNeighbours(self, similarity, k)


# Neighbourhood sizes and shrinkages tried on the validation fold.
NEIGHBOUR_GRID = {"k": (20, 40, 80), "shrink": (100.0, 300.0, 1000.0)}


@dataclass(frozen=True)
class ItemNeighbours:
    """Item-based k-nearest neighbours on the residuals of the biases (Koren's "KNN baseline"): the prediction is
    the biases' plus the similarity-weighted mean residual of the user's `k` most similar rated items. Only
    positively similar neighbours vote."""

    statistics: ItemStatistics
    similarity: np.ndarray  # float32, one row and column per item of `statistics.items`, zero diagonal
    k: int

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        stats = self.statistics
        prediction = stats.biases.predict(users, items)
        targets = stats.items.positions(items)
        order = np.argsort(users, kind="stable")
        sorted_users = users[order]
        bounds = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1], True]) if len(users) else []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            history = stats.residuals.get(int(sorted_users[a]))
            rows = order[a:b][targets[order[a:b]] < len(stats.items)]
            if history is None or not len(rows):
                continue
            rated, residual = history
            weights = np.maximum(self.similarity[np.ix_(targets[rows], rated)], 0.0)
            if weights.shape[1] > self.k:  # keep each target's k most similar rated items
                weakest = np.argpartition(-weights, self.k, axis=1)[:, self.k:]
                np.put_along_axis(weights, weakest, 0.0, axis=1)
            total = weights.sum(axis=1)
            voted = total > 0
            prediction[rows[voted]] += (weights[voted] @ residual) / total[voted]
        return prediction
