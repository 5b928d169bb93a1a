"""The seed's purchase features (its Athena CTAS steps and Glue join), as pure PySpark functions.

Inputs are the cleaned, typed tables: `orders` (order_id, user_id, eval_set, order_number, order_dow,
order_hour_of_day: int; days_since_prior_order: double, null for a user's first order) and the order lines
`order_products__prior` / `order_products__train` (order_id, product_id, add_to_cart_order, reordered: int).

`candidates` returns one row per (user, product) bought in a prior order: user_id, product_id, eval_set (the
user's non-prior order: train or test), the 18 `FEATURES` and the label `LABEL`. Choices where the seed is
ambiguous or unsafe:
- user_features_1 aggregates *all* of a user's orders, as the seed's SQL does, so `user_orders` counts the
  train/test order being predicted and `user_period` includes its gap (both known when it is placed);
- user_reorder_ratio = reordered prior rows / prior rows with order_number > 1, the Instacart-kernel
  formula the seed follows; Spark's ANSI mode would fail on a zero denominator, so every ratio here is
  null when its denominator is 0 (XGBoost treats null as missing). With the seed's inputs only
  user_reorder_ratio can meet one (a user with only first-order prior rows);
- prd_features ranks a user's purchases of a product with rank() by order_number, as the seed does; on
  cleaned lines (one per order and product) it equals row_number();
- the seed fills a missing label with 0 for every row, so its test set has all-zero labels; here train
  users' rows get 0/1 and test users' rows get a null label, so they cannot be mistaken for negatives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

# The model's inputs, in the seed's order (training and scoring both select them by this constant).
FEATURES: tuple[str, ...] = (
    "up_orders", "user_mean_days_since_prior", "user_period", "user_distinct_products", "user_reorder_ratio",
    "user_total_products", "up_average_cart_position", "up_first_order", "user_orders", "up_last_order",
    "prod_orders",
    "prod_reorder_probability", "prod_reorder_times", "prod_reorder_ratio", "user_average_basket",
    "up_order_rate", "up_orders_since_last_order", "up_order_rate_since_first_order",
)
LABEL = "reordered"
KEYS = ("user_id", "product_id")
BASELINE_FEATURE = "up_order_rate"  # the naive score the model must beat


def _ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator as a double, null when the denominator is 0 (ANSI mode would raise)."""
    return F.when(denominator != 0, numerator.cast("double") / denominator)


def order_products_prior(orders: DataFrame, prior_lines: DataFrame) -> DataFrame:
    """Step 2: prior order lines with their order's columns (orders joined to lines, eval_set = prior)."""
    return orders.where(F.col("eval_set") == "prior").join(prior_lines, "order_id")


def user_features_1(orders: DataFrame) -> DataFrame:
    """Step 3, per user over all orders: user_orders, user_period, user_mean_days_since_prior (nulls,
    i.e. first orders, are skipped by sum and avg)."""
    return orders.groupBy("user_id").agg(
        F.max("order_number").alias("user_orders"),
        F.sum("days_since_prior_order").alias("user_period"),
        F.avg("days_since_prior_order").alias("user_mean_days_since_prior"),
    )


def user_features_2(prior: DataFrame) -> DataFrame:
    """Step 4, per user over prior lines: user_total_products, user_distinct_products, user_reorder_ratio."""
    return prior.groupBy("user_id").agg(
        F.count(F.lit(1)).alias("user_total_products"),
        F.countDistinct("product_id").alias("user_distinct_products"),
        _ratio(F.sum(F.when(F.col("reordered") == 1, 1).otherwise(0)),
               F.sum(F.when(F.col("order_number") > 1, 1).otherwise(0))).alias("user_reorder_ratio"),
    )


def up_features(prior: DataFrame) -> DataFrame:
    """Step 5, per (user, product) over prior lines: up_orders, up_first_order, up_last_order,
    up_average_cart_position."""
    return prior.groupBy(*KEYS).agg(
        F.count(F.lit(1)).alias("up_orders"),
        F.min("order_number").alias("up_first_order"),
        F.max("order_number").alias("up_last_order"),
        F.avg("add_to_cart_order").alias("up_average_cart_position"),
    )


def prd_features(prior: DataFrame) -> DataFrame:
    """Step 6, per product: prod_orders, prod_reorders, and how many users bought it a first
    (prod_first_orders) and a second time (prod_second_orders)."""
    seq = F.rank().over(Window.partitionBy(*KEYS).orderBy("order_number"))
    return prior.withColumn("product_seq_time", seq).groupBy("product_id").agg(
        F.count(F.lit(1)).alias("prod_orders"),
        F.sum("reordered").alias("prod_reorders"),
        F.sum(F.when(F.col("product_seq_time") == 1, 1).otherwise(0)).alias("prod_first_orders"),
        F.sum(F.when(F.col("product_seq_time") == 2, 1).otherwise(0)).alias("prod_second_orders"),
    )


def labels(orders: DataFrame, train_lines: DataFrame) -> DataFrame:
    """(user_id, product_id, reordered) of the train orders' lines."""
    train_orders = orders.where(F.col("eval_set") == "train").select("order_id", "user_id")
    return train_orders.join(train_lines, "order_id").select(*KEYS, LABEL)


def candidates(orders: DataFrame, prior_lines: DataFrame, train_lines: DataFrame) -> DataFrame:
    """Steps 2 to 7 and the engineered features in one plan, from the cleaned tables."""
    prior = order_products_prior(orders, prior_lines)
    return join_candidates(orders, train_lines, up_features(prior), user_features_1(orders),
                           user_features_2(prior), prd_features(prior))


def join_candidates(orders: DataFrame, train_lines: DataFrame, up: DataFrame, users_1: DataFrame,
                    users_2: DataFrame, products: DataFrame) -> DataFrame:
    """Step 7 and the notebook's engineered features, from the feature tables of steps 3 to 6: one row per
    (user, product) of the prior orders, with eval_set, the 18 FEATURES and the label (0/1 for train users,
    missing = 0; null for test users)."""
    joined = up.join(users_1.join(users_2, "user_id"), "user_id").join(products, "product_id")
    target = orders.where(F.col("eval_set") != "prior").select("user_id", "eval_set")

    c = F.col
    engineered = {
        "prod_reorder_probability": _ratio(c("prod_second_orders"), c("prod_first_orders")),
        "prod_reorder_times": 1 + _ratio(c("prod_reorders"), c("prod_first_orders")),
        "prod_reorder_ratio": _ratio(c("prod_reorders"), c("prod_orders")),
        "user_average_basket": _ratio(c("user_total_products"), c("user_orders")),
        "up_order_rate": _ratio(c("up_orders"), c("user_orders")),
        "up_orders_since_last_order": c("user_orders") - c("up_last_order"),
        "up_order_rate_since_first_order": _ratio(c("up_orders"), c("user_orders") - c("up_first_order") + 1),
    }
    label = F.when(c("eval_set") == "train", F.coalesce(c(LABEL), F.lit(0))).cast("int").alias(LABEL)
    return (joined.withColumns(engineered)
            .join(target, "user_id")
            .join(labels(orders, train_lines), list(KEYS), "left")
            .select(*KEYS, "eval_set", *FEATURES, label))


@dataclass(frozen=True)
class FeatureStep:
    """One feature table of the seed's ETL, as an asset: `build` takes the `inputs` in order. An input is a
    cleaned table ("orders", "prior_lines", "train_lines") or an earlier step's name."""

    name: str
    inputs: tuple[str, ...]
    build: Callable[..., DataFrame]
    description: str


FEATURE_STEPS: tuple[FeatureStep, ...] = (
    FeatureStep("order_products_prior", ("orders", "prior_lines"), order_products_prior,
                "Step 2: every prior order line with its order's columns (orders ⋈ order_products__prior)."),
    FeatureStep("user_features_1", ("orders",), user_features_1,
                "Step 3, per user over all orders: user_orders (max order_number), user_period (sum of "
                "days_since_prior_order), user_mean_days_since_prior."),
    FeatureStep("user_features_2", ("order_products_prior",), user_features_2,
                "Step 4, per user over prior lines: user_total_products, user_distinct_products, "
                "user_reorder_ratio (reordered lines / lines of orders after the first; null when there are none)."),
    FeatureStep("up_features", ("order_products_prior",), up_features,
                "Step 5, per (user, product) over prior lines: up_orders, up_first_order, up_last_order, "
                "up_average_cart_position."),
    FeatureStep("prd_features", ("order_products_prior",), prd_features,
                "Step 6, per product: prod_orders, prod_reorders, prod_first_orders and prod_second_orders (users "
                "who bought it a first and a second time, by rank of order_number within user and product)."),
    FeatureStep("candidates", ("orders", "train_lines", "up_features", "user_features_1", "user_features_2",
                               "prd_features"), join_candidates,
                "Step 7 and the engineered features: one row per (user, product) the user bought in a prior "
                "order, for users whose last order is train or test (eval_set), with the model's 18 features "
                "(the 11 joined ones, then prod_reorder_probability, prod_reorder_times, prod_reorder_ratio, "
                "user_average_basket, up_order_rate, up_orders_since_last_order, "
                "up_order_rate_since_first_order) and the label `reordered`: 1 when the product is in the "
                "user's train order, 0 when not (the seed's fill), null for test users (the seed filled 0 there "
                "too, making its test labels all 0: fixed). Ratios with a zero denominator are null."),
)
