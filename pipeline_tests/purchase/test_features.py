"""The seed's purchase features on a hand-built order history: every feature and label computed by hand.

Four users, products 10, 20, 30, 40, 50 (order ids are user * 100 + order number):
- user 1 (train): orders 1-3 prior, order 4 train (buys 10 again and 40, which it never bought before);
- user 2 (train): orders 1-2 prior, order 3 train (buys 30 again, not 20);
- user 3 (test): orders 1-2 prior, order 3 test (no lines); product 50 is bought once by anyone;
- user 4 (train): a single prior order, so no prior row has order_number > 1 (user_reorder_ratio is null).
A user's first order has a blank days_since_prior_order.
"""

from __future__ import annotations

import pytest

from pipeline.ml.purchase import features as feat
from pipeline.ml.purchase.features import FEATURES, LABEL

ORDERS_SCHEMA = ("order_id INT, user_id INT, eval_set STRING, order_number INT, order_dow INT, "
                 "order_hour_of_day INT, days_since_prior_order DOUBLE")
LINES_SCHEMA = "order_id INT, product_id INT, add_to_cart_order INT, reordered INT"
NULL = None

ORDERS = [
    (101, 1, "prior", 1, 0, 8, NULL), (102, 1, "prior", 2, 1, 9, 10.0), (103, 1, "prior", 3, 2, 10, 5.0),
    (104, 1, "train", 4, 3, 11, 7.0),
    (201, 2, "prior", 1, 4, 12, NULL), (202, 2, "prior", 2, 5, 13, 20.0), (203, 2, "train", 3, 6, 14, 30.0),
    (301, 3, "prior", 1, 0, 15, NULL), (302, 3, "prior", 2, 1, 16, 3.0), (303, 3, "test", 3, 2, 17, 4.0),
    (401, 4, "prior", 1, 3, 18, NULL), (402, 4, "train", 2, 4, 19, 2.0),
]
PRIOR_LINES = [  # order_id, product_id, add_to_cart_order, reordered
    (101, 10, 1, 0), (101, 20, 2, 0),
    (102, 10, 1, 1), (102, 30, 2, 0),
    (103, 20, 1, 1), (103, 10, 2, 1), (103, 30, 3, 1),
    (201, 20, 1, 0),
    (202, 20, 1, 1), (202, 30, 2, 0),
    (301, 10, 1, 0), (301, 40, 2, 0),
    (302, 40, 1, 1), (302, 50, 2, 0),
    (401, 20, 1, 0),
]
TRAIN_LINES = [(104, 10, 1, 1), (104, 40, 2, 0), (203, 30, 1, 1), (402, 20, 1, 1)]

# By hand. Per user (all orders): user_orders, user_period, user_mean_days_since_prior:
#   u1 4, 10+5+7 = 22, 22/3;  u2 3, 50, 25;  u3 3, 7, 3.5;  u4 2, 2, 2.
# Per user (prior lines): total, distinct, reordered rows / rows in orders > 1:
#   u1 7, 3, 4/5;  u2 3, 2, 1/2;  u3 4, 3, 1/2;  u4 1, 1, 0/0 -> null.
# Per product (prior): orders, reorders, users buying it a 1st / a 2nd time:
#   10: 4, 2, 2, 1;  20: 5, 2, 3, 2;  30: 3, 1, 2, 1;  40: 2, 1, 1, 1;  50: 1, 0, 1, 0.
EXPECTED = {
    # (user, product): (eval_set, the 18 FEATURES in order, label)
    (1, 10): ("train", 3, 22 / 3, 22.0, 3, 4 / 5, 7, 4 / 3, 1, 4, 3, 4,
              1 / 2, 1 + 2 / 2, 2 / 4, 7 / 4, 3 / 4, 1, 3 / 4, 1),
    (1, 20): ("train", 2, 22 / 3, 22.0, 3, 4 / 5, 7, 3 / 2, 1, 4, 3, 5,
              2 / 3, 1 + 2 / 3, 2 / 5, 7 / 4, 2 / 4, 1, 2 / 4, 0),
    (1, 30): ("train", 2, 22 / 3, 22.0, 3, 4 / 5, 7, 5 / 2, 2, 4, 3, 3,
              1 / 2, 1 + 1 / 2, 1 / 3, 7 / 4, 2 / 4, 1, 2 / 3, 0),
    (2, 20): ("train", 2, 25.0, 50.0, 2, 1 / 2, 3, 1.0, 1, 3, 2, 5,
              2 / 3, 1 + 2 / 3, 2 / 5, 3 / 3, 2 / 3, 1, 2 / 3, 0),
    (2, 30): ("train", 1, 25.0, 50.0, 2, 1 / 2, 3, 2.0, 2, 3, 2, 3,
              1 / 2, 1 + 1 / 2, 1 / 3, 3 / 3, 1 / 3, 1, 1 / 2, 1),
    (3, 10): ("test", 1, 3.5, 7.0, 3, 1 / 2, 4, 1.0, 1, 3, 1, 4,
              1 / 2, 1 + 2 / 2, 2 / 4, 4 / 3, 1 / 3, 2, 1 / 3, NULL),
    (3, 40): ("test", 2, 3.5, 7.0, 3, 1 / 2, 4, 3 / 2, 1, 3, 2, 2,
              1 / 1, 1 + 1 / 1, 1 / 2, 4 / 3, 2 / 3, 1, 2 / 3, NULL),
    (3, 50): ("test", 1, 3.5, 7.0, 3, 1 / 2, 4, 2.0, 2, 3, 2, 1,
              0 / 1, 1 + 0 / 1, 0 / 1, 4 / 3, 1 / 3, 1, 1 / 2, NULL),
    (4, 20): ("train", 1, 2.0, 2.0, 1, NULL, 1, 1.0, 1, 2, 1, 5,
              2 / 3, 1 + 2 / 3, 2 / 5, 1 / 2, 1 / 2, 1, 1 / 2, 1),
}


@pytest.fixture(scope="module")
def tables(spark):
    return (spark.createDataFrame(ORDERS, ORDERS_SCHEMA), spark.createDataFrame(PRIOR_LINES, LINES_SCHEMA),
            spark.createDataFrame(TRAIN_LINES, LINES_SCHEMA))


@pytest.fixture(scope="module")
def result(tables):
    frame = feat.candidates(*tables)
    return frame.columns, {(r["user_id"], r["product_id"]): r for r in frame.collect()}


def test_features_are_the_seeds_eighteen_in_order():
    assert len(FEATURES) == 18 == len(set(FEATURES))
    assert FEATURES[:11] == ("up_orders", "user_mean_days_since_prior", "user_period", "user_distinct_products",
                             "user_reorder_ratio", "user_total_products", "up_average_cart_position",
                             "up_first_order", "user_orders", "up_last_order", "prod_orders")


def test_columns_are_keys_eval_set_features_and_label(result):
    columns, _ = result
    assert columns == ["user_id", "product_id", "eval_set", *FEATURES, LABEL]


def test_one_row_per_prior_user_product_pair(result):
    # (1, 40) is in user 1's train order only: not a candidate, as in the seed.
    _, rows = result
    assert sorted(rows) == sorted(EXPECTED)


@pytest.mark.parametrize("pair", sorted(EXPECTED))
def test_every_value_matches_the_hand_computation(result, pair):
    _, rows = result
    row = rows[pair]
    got = (row["eval_set"], *(row[name] for name in FEATURES), row[LABEL])
    names = ("eval_set", *FEATURES, LABEL)
    mismatches = {n: (g, e) for n, g, e in zip(names, got, EXPECTED[pair], strict=True) if g != e}
    assert not mismatches, f"{pair}: (got, expected) {mismatches}"


def test_intermediate_tables(tables):
    orders, prior_lines, _ = tables
    prior = feat.order_products_prior(orders, prior_lines)
    assert prior.count() == len(PRIOR_LINES)
    assert {r["user_id"]: tuple(r)[1:] for r in feat.user_features_1(orders).collect()} == {
        1: (4, 22.0, 22 / 3), 2: (3, 50.0, 25.0), 3: (3, 7.0, 3.5), 4: (2, 2.0, 2.0)}
    assert {r["product_id"]: tuple(r)[1:] for r in feat.prd_features(prior).collect()} == {
        10: (4, 2, 2, 1), 20: (5, 2, 3, 2), 30: (3, 1, 2, 1), 40: (2, 1, 1, 1), 50: (1, 0, 1, 0)}


def test_a_zero_denominator_gives_null_not_an_error(spark):
    # A user whose only prior order is order 1 has no row with order_number > 1 (ANSI mode would raise).
    orders = spark.createDataFrame([(1, 9, "prior", 1, 0, 0, NULL), (2, 9, "train", 2, 0, 0, 1.0)], ORDERS_SCHEMA)
    lines = spark.createDataFrame([(1, 5, 1, 0)], LINES_SCHEMA)
    row = feat.user_features_2(feat.order_products_prior(orders, lines)).first()
    assert (row["user_total_products"], row["user_distinct_products"], row["user_reorder_ratio"]) == (1, 1, None)
