"""The rating baselines, the neighbourhood model and the widening grid search, on fixtures small enough to
compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.ml import tuning
from pipeline.ml.rating_baselines import Biases, Errors, ItemMean, ItemStatistics, global_mean

pytestmark = pytest.mark.unit

# users 1, 2 and items 10, 20: user 1 rated 10 → 4, 20 → 2; user 2 rated 10 → 5.
USERS, ITEMS, RATINGS = np.array([1, 1, 2]), np.array([10, 20, 10]), np.array([4.0, 2.0, 5.0])


def test_errors_are_root_mean_square_and_mean_absolute():
    errors = Errors.of(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]))
    assert errors.rmse == pytest.approx(math.sqrt((1 + 0 + 4) / 3))
    assert errors.mae == pytest.approx(1.0)


def test_item_mean_falls_back_to_the_global_mean_for_an_unseen_item():
    model = ItemMean.fit(ITEMS, RATINGS)
    assert model.predict(np.array([10, 20, 99])).tolist() == pytest.approx([4.5, 2.0, 11 / 3])
    assert global_mean(RATINGS) == pytest.approx(11 / 3)


def test_one_bias_step_is_the_regularised_mean_residual():
    # μ = 11/3. One step from zero biases: b_i = Σ(r - μ) / (reg_item + n_i); then b_u from r - μ - b_i.
    mu = 11 / 3
    model = Biases.fit(USERS, ITEMS, RATINGS, reg_user=1.0, reg_item=2.0, iterations=1)
    b10, b20 = (4 - mu + 5 - mu) / (2 + 2), (2 - mu) / (2 + 1)
    b1, b2 = (4 - mu - b10 + 2 - mu - b20) / (1 + 2), (5 - mu - b10) / (1 + 1)
    predicted = model.predict(np.array([1, 2, 2, 7]), np.array([20, 20, 10, 99]))
    # user 7 and item 99 are unseen: only the global mean is left.
    assert predicted.tolist() == pytest.approx([mu + b1 + b20, mu + b2 + b20, mu + b2 + b10, mu])


def test_neighbours_vote_with_the_residuals_of_similar_items():
    # Three items; users 1..4 rate items 0 and 1 alike (similar), item 2 opposite to item 0 (dissimilar).
    rows = [(u, 0, r) for u, r in ((1, 5), (2, 1), (3, 5), (4, 1))] + \
           [(u, 1, r) for u, r in ((1, 5), (2, 1), (3, 5))] + [(u, 2, r) for u, r in ((1, 1), (2, 5), (3, 1), (4, 5))]
    users, items, ratings = (np.array(c, dtype=float if i == 2 else int) for i, c in enumerate(zip(*rows)))
    biases = Biases.fit(users, items, ratings, reg_user=1e9, reg_item=1e9)  # biases ≈ 0: residual = r - μ
    mu = ratings.mean()
    neighbours = ItemStatistics.fit(users, items, ratings, biases).neighbours(k=1, shrink=0.0)
    # Items 0 and 1 have equal residuals for their shared users 1..3: similarity 1.
    assert neighbours.similarity[0, 1] == pytest.approx(1.0, abs=1e-6)
    # Items 0 and 2 over users 1..4: Σab / √(Σa² Σb²) with a = r_u0 - μ, b = r_u2 - μ.
    a, b = np.array([5, 1, 5, 1]) - mu, np.array([1, 5, 1, 5]) - mu
    assert neighbours.similarity[0, 2] == pytest.approx((a @ b) / math.sqrt((a @ a) * (b @ b)), abs=1e-6)
    assert neighbours.similarity[0, 2] < 0
    # User 4 has not rated item 1: its one neighbour is item 0 (similarity 1), residual 1 - μ. Item 2 (rated 5 by
    # user 4) is negatively similar to item 1 and does not vote.
    assert neighbours.predict(np.array([4]), np.array([1]))[0] == pytest.approx(mu + (1 - mu), abs=1e-3)
    # An unseen user gets the baseline.
    assert neighbours.predict(np.array([9]), np.array([1]))[0] == pytest.approx(mu, abs=1e-3)


def test_shrinkage_pulls_a_similarity_with_few_shared_users_towards_zero():
    rows = [(1, 0, 5.0), (1, 1, 5.0), (2, 0, 1.0), (2, 1, 1.0)]
    users, items, ratings = (np.array(c) for c in zip(*rows))
    stats = ItemStatistics.fit(users, items, ratings.astype(float), Biases.fit(users, items, ratings, 1e9, 1e9))
    # Two shared users: support 1, shrunk by 1 / (1 + shrink).
    assert stats.neighbours(shrink=3.0).similarity[0, 1] == pytest.approx(0.25, abs=1e-6)


def test_the_search_widens_past_a_winner_on_the_edge_until_it_is_inside():
    # Score (x - 0.8)² + (n - 5)²: the grid's best x is its largest (0.4), n is inside.
    def evaluate(batch):
        return [(p["x"] - 0.8) ** 2 + (p["n"] - 5) ** 2 for p in batch]

    search = tuning.search({"x": [0.1, 0.2, 0.4], "n": [4, 5, 6]}, evaluate)
    # 0.4 → 0.8 (ratio 2, the best now and the edge) → 1.6 (worse): inside.
    assert sorted(search.grid["x"]) == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert search.best[0] == {"x": 0.8, "n": 5}
    assert search.on_edge() == {}
    assert len(search.scores) == 9 + 2
    assert search.widened[0].startswith("x 0.8")


def test_the_search_stops_widening_after_its_limit_and_says_so():
    search = tuning.search({"x": [1.0, 2.0]}, lambda batch: [-p["x"] for p in batch], max_widenings=2)
    assert sorted(search.grid["x"]) == [1.0, 2.0, 4.0, 8.0]
    assert search.on_edge() == {"x": "highest"}


def test_an_integer_parameter_stays_an_integer_and_at_least_one():
    search = tuning.search({"rank": [2, 4]}, lambda batch: [p["rank"] for p in batch])
    assert sorted(search.grid["rank"]) == [1, 2, 4]
    assert all(isinstance(v, int) for v in search.grid["rank"])
