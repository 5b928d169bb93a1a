"""A seeded generator of Instacart-shaped order histories (the seed's "imba" files, whose columns match
Instacart Market Basket): `orders.csv`, `order_products__prior.csv`, `order_products__train.csv`, `products.csv`.

Behaviour, calibrated loosely to Instacart:
- 4 to 100 orders per user (a long tail, mean about 16); each user's last order is `train` (about 64% of
  users, Instacart's 131,209 of 206,209) or `test`, every earlier one `prior`; test orders' products are not
  published, as in Instacart;
- habits: each user has a few favourite products, re-bought in each order with a per-(user, product)
  probability (the user's loyalty times the product's habit strength); some favourites are adopted part-way
  through the history and some are dropped, so recency matters besides frequency. The rest of each basket
  is exploration drawn by heavy-tailed product popularity; baskets hold about 10 products;
- days between orders follow the user's cadence, rounded and capped at 30 (Instacart caps them), blank for
  the first order; day of week and hour of day mix a per-user habit with Instacart's weekly and daily shape;
- favourites go into the cart first; `reordered` is 1 iff the user bought the product in an earlier order.
Everything is vectorised numpy. `malformed_share` adds broken rows to orders.csv for the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SEED_USERS, SEED_PRODUCTS = 206_209, 49_688  # Instacart Market Basket
TRAIN_SHARE = 131_209 / 206_209  # users whose last order is `train` (the rest are `test`)
AISLES, DEPARTMENTS = 134, 21
MALFORMED_KINDS = ("missing_order_id", "missing_user_id", "non_numeric_order_number")
# Instacart's orders per day of week (0 is the busiest) and per hour of day, as relative weights.
DOW_WEIGHTS = np.array([601, 587, 467, 437, 426, 453, 449], dtype=float)
HOUR_WEIGHTS = np.array([23, 12, 8, 5, 6, 10, 31, 92, 178, 258, 288, 285, 273, 278, 283, 284, 273, 229, 183,
                         141, 104, 78, 61, 40], dtype=float)
ADJECTIVES = ("Organic", "Fresh", "Classic", "Whole", "Natural", "Original", "Light", "Large", "Sweet", "Spicy",
              "Unsweetened", "Low Fat", "Family Size", "Gluten Free", "Extra Virgin", "Smoked")
DEPARTMENT_NOUNS = ("Frozen Pizza", "Paper Towels", "Sourdough Bread", "Bananas", "Pale Ale", "Rice Noodles",
                    "Sparkling Water", "Dog Food", "Penne Pasta", "Rolled Oats", "Shampoo", "Chicken Breast",
                    "Olive Oil", "Granola", "Black Beans", "Greek Yogurt", "Dish Soap", "Baby Wipes",
                    "Tortilla Chips", "Hummus", "Assorted Item")
ORDER_COLUMNS = ("order_id", "user_id", "eval_set", "order_number", "order_dow", "order_hour_of_day",
                 "days_since_prior_order")
LINE_COLUMNS = ("order_id", "product_id", "add_to_cart_order", "reordered")


@dataclass(frozen=True)
class OrdersSize:
    users: int
    products: int

    @classmethod
    def seed(cls) -> OrdersSize:
        return cls(SEED_USERS, SEED_PRODUCTS)

    @classmethod
    def scaled(cls, users: int = 2_000) -> OrdersSize:
        """Products scale with the square root of users: even a small shop stocks thousands of products."""
        products = round(SEED_PRODUCTS * (users / SEED_USERS) ** 0.5)
        return cls(users, min(SEED_PRODUCTS, max(200, products)))


DEMO_SIZE = OrdersSize.scaled(2_000)


@dataclass(frozen=True)
class OrdersReport:
    folder: Path
    rows: dict[str, int]  # file name -> data rows written (malformed rows included)
    malformed: dict[str, int] = field(default_factory=dict)  # kind -> rows added to orders.csv
    train_users: int = 0
    test_users: int = 0


def _draw(rng: np.random.Generator, cumulative: np.ndarray, count: int) -> np.ndarray:
    """`count` indices drawn with probability proportional to the weights whose cumulative sum is given."""
    points = rng.random(count) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, points, side="right"), len(cumulative) - 1)


def _ranks_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values (groups must be sorted)."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)


def _products(rng: np.random.Generator, count: int) -> pd.DataFrame:
    # Every department owns at least one aisle; a product's department is its aisle's.
    aisle_department = rng.permutation(np.r_[np.arange(DEPARTMENTS), rng.integers(0, DEPARTMENTS,
                                                                                AISLES - DEPARTMENTS)])
    aisle = rng.integers(0, AISLES, count)
    department = aisle_department[aisle]
    base = pd.Series(np.char.add(np.char.add(np.array(ADJECTIVES)[rng.integers(0, len(ADJECTIVES), count)], " "),
                                 np.array(DEPARTMENT_NOUNS)[department]))
    copy = base.groupby(base).cumcount()  # names are unique, as in Instacart: "Organic Bananas 2", ...
    names = base.where(copy == 0, base + " " + (copy + 1).astype(str))
    return pd.DataFrame({"product_id": np.arange(1, count + 1), "product_name": names,
                         "aisle_id": aisle + 1, "department_id": department + 1})


def _orders(rng: np.random.Generator, users: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The orders table (sorted by user and order number), each user's order count and first order's row."""
    count = np.minimum(4 + rng.negative_binomial(1, 1 / 13, users), 100)
    first = np.cumsum(count) - count
    user = np.repeat(np.arange(users), count)
    number = np.arange(len(user)) - first[user] + 1
    last = first + count - 1

    cadence = rng.lognormal(np.log(9.0), 0.55, users)  # a user's typical days between orders
    days = np.minimum(np.round(rng.gamma(2.0, cadence[user] / 2.0)), 30.0)
    days[first] = np.nan
    own_dow, own_hour = rng.integers(0, 7, users), _draw(rng, np.cumsum(HOUR_WEIGHTS), users)
    dow = np.where(rng.random(len(user)) < 0.5, own_dow[user], _draw(rng, np.cumsum(DOW_WEIGHTS), len(user)))
    hour = np.where(rng.random(len(user)) < 0.6, (own_hour[user] + np.round(rng.normal(0, 2, len(user)))) % 24,
                    _draw(rng, np.cumsum(HOUR_WEIGHTS), len(user))).astype(np.int64)

    eval_set = np.full(len(user), "prior", dtype=object)
    eval_set[last] = np.where(rng.random(users) < TRAIN_SHARE, "train", "test")
    orders = pd.DataFrame({
        "order_id": rng.permutation(len(user)) + 1, "user_id": user + 1, "eval_set": eval_set,
        "order_number": number, "order_dow": dow, "order_hour_of_day": hour, "days_since_prior_order": days,
    })
    return orders, count, first


def _baskets(rng: np.random.Generator, products: int, count: np.ndarray, first: np.ndarray,
             popularity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order row, product index, is favourite) of every order line, one line per (order, product)."""
    users = len(count)
    # Favourites: about 19 per user, popular products more often; duplicates collapse.
    wanted = np.minimum(1 + rng.poisson(rng.gamma(2.0, 9.0, users)), products)
    keys = np.unique(np.repeat(np.arange(users), wanted) * products + _draw(rng, popularity, int(wanted.sum())))
    fav_user, fav_product = keys // products, keys % products
    loyalty = rng.beta(2.5, 1.5, users)
    chance = np.clip(loyalty[fav_user] * rng.beta(1.3, 1.3, len(keys)), 0.02, 0.95)
    n = count[fav_user]
    # 30% of favourites are adopted later; 25% are dropped before the end (order numbers are 1-based).
    start = np.where(rng.random(len(keys)) < 0.7, 1, 1 + (rng.random(len(keys)) * n).astype(np.int64))
    end = np.where(rng.random(len(keys)) < 0.25, start + (rng.random(len(keys)) * (n - start + 1)).astype(np.int64),
                   n)
    span = end - start + 1
    fav = np.repeat(np.arange(len(keys)), span)
    number = start[fav] + _ranks_within(fav)
    hit = rng.random(len(fav)) < chance[fav]
    fav_order = first[fav_user[fav[hit]]] + number[hit] - 1
    fav_product = fav_product[fav[hit]]

    # Exploration: a negative binomial count per order (user-specific mean), at least one product per basket.
    order_user = np.repeat(np.arange(users), count)
    mean = rng.gamma(2.0, 2.5, users)[order_user]
    explore = rng.negative_binomial(2, 2 / (2 + mean))
    explore = np.maximum(explore, np.bincount(fav_order, minlength=len(order_user)) == 0)
    explore_order = np.repeat(np.arange(len(order_user)), explore)
    explore_product = _draw(rng, popularity, int(explore.sum()))

    # One line per (order, product); np.unique keeps the first occurrence, so a favourite wins.
    line_keys = np.r_[fav_order * products + fav_product, explore_order * products + explore_product]
    keys, index = np.unique(line_keys, return_index=True)
    return keys // products, keys % products, index < len(fav_order)


def _malformed(rng: np.random.Generator, orders: pd.DataFrame, share: float) -> tuple[pd.DataFrame, dict[str, int]]:
    """Orders with malformed copies of random rows mixed in; fresh order ids keep valid rows unambiguous."""
    count = round(share * len(orders))
    if count == 0:
        return orders, {}
    kinds = rng.choice(np.array(MALFORMED_KINDS), count)
    bad = orders.iloc[rng.integers(0, len(orders), count)].astype(object).reset_index(drop=True)
    bad["order_id"] = np.where(kinds == "missing_order_id", "", orders["order_id"].max() + 1 + np.arange(count))
    bad["user_id"] = np.where(kinds == "missing_user_id", "", bad["user_id"])
    bad["order_number"] = np.where(kinds == "non_numeric_order_number",
                                   rng.choice(np.array(["three", "#4", "n/a", "2nd"]), count), bad["order_number"])
    position = np.r_[np.arange(len(orders), dtype=float), rng.uniform(0, len(orders), count)]
    mixed = pd.concat([orders.astype(object), bad], ignore_index=True).iloc[np.argsort(position, kind="stable")]
    return mixed, {kind: int((kinds == kind).sum()) for kind in MALFORMED_KINDS}


def generate_orders(out_dir: str | Path, size: OrdersSize = DEMO_SIZE, seed: int = 42,
                    malformed_share: float = 0.0) -> OrdersReport:
    """Write the four CSV files into `out_dir`; the same seed and size give the same bytes."""
    rng = np.random.default_rng(seed)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)

    products = _products(rng, size.products)
    popularity = np.cumsum(rng.lognormal(0.0, 1.6, size.products))
    orders, count, first = _orders(rng, size.users)
    line_order, line_product, favourite = _baskets(rng, size.products, count, first, popularity)

    # Favourites first in the cart, otherwise random: sort lines by (order, key) and number them.
    cart = np.lexsort((rng.random(len(line_order)) - 0.5 * favourite, line_order))
    line_order, line_product = line_order[cart], line_product[cart]
    add_to_cart = _ranks_within(line_order) + 1
    # reordered: not the first line of its (user, product), in order-number order (order rows are sorted so).
    user = orders["user_id"].to_numpy()[line_order]
    by_pair = np.lexsort((line_order, line_product, user))
    reordered = np.zeros(len(line_order), dtype=np.int64)
    reordered[by_pair[1:]] = ((user[by_pair][1:] == user[by_pair][:-1])
                              & (line_product[by_pair][1:] == line_product[by_pair][:-1]))

    lines = pd.DataFrame({"order_id": orders["order_id"].to_numpy()[line_order], "product_id": line_product + 1,
                          "add_to_cart_order": add_to_cart, "reordered": reordered})
    eval_set = orders["eval_set"].to_numpy()[line_order]
    files = {
        "order_products__prior.csv": lines[eval_set == "prior"],
        "order_products__train.csv": lines[eval_set == "train"],  # test orders' products stay unknown
        "products.csv": products,
    }
    files = {name: frame.sort_values(["order_id", "add_to_cart_order"]) if "order_id" in frame else frame
             for name, frame in files.items()}
    files["orders.csv"], malformed = _malformed(rng, orders, malformed_share)
    for name, frame in files.items():
        frame.to_csv(folder / name, index=False)
    last = orders["eval_set"].to_numpy()[first + count - 1]
    return OrdersReport(folder, {name: len(frame) for name, frame in files.items()}, malformed,
                        int((last == "train").sum()), int((last == "test").sum()))
