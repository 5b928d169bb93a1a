"""The order-history generator: Instacart's files and columns, eval_set rules, days, carts, `reordered`
recomputed from the history, determinism, and malformed rows exactly as reported (pandas only, no Spark)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.ml.purchase.generator import LINE_COLUMNS, MALFORMED_KINDS, ORDER_COLUMNS, OrdersSize, generate_orders

SIZE = OrdersSize(users=400, products=600)
FILES = ("orders.csv", "order_products__prior.csv", "order_products__train.csv", "products.csv")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("orders")
    report = generate_orders(folder, SIZE, seed=3)
    tables = {name: pd.read_csv(folder / name) for name in FILES}
    return folder, report, tables


def test_files_columns_and_reported_rows(generated):
    _, report, tables = generated
    assert list(tables["orders.csv"].columns) == list(ORDER_COLUMNS)
    assert list(tables["order_products__prior.csv"].columns) == list(LINE_COLUMNS)
    assert list(tables["order_products__train.csv"].columns) == list(LINE_COLUMNS)
    assert list(tables["products.csv"].columns) == ["product_id", "product_name", "aisle_id", "department_id"]
    assert report.rows == {name: len(frame) for name, frame in tables.items()}
    assert report.malformed == {}


def test_sizes():
    assert OrdersSize.seed() == OrdersSize(206_209, 49_688)
    demo = OrdersSize.scaled(2_000)
    assert demo.users == 2_000 and 1_000 < demo.products < 49_688


def test_eval_set_rules_and_order_numbers(generated):
    _, report, tables = generated
    orders = tables["orders.csv"].sort_values(["user_id", "order_number"])
    per_user = orders.groupby("user_id")
    counts = per_user.size()
    assert len(counts) == SIZE.users and counts.between(4, 100).all()
    assert (per_user["order_number"].apply(lambda n: list(n) == list(range(1, len(n) + 1)))).all()
    last = per_user.tail(1)
    assert set(last["eval_set"]) == {"train", "test"}
    assert (orders.drop(last.index)["eval_set"] == "prior").all()
    assert (report.train_users, report.test_users) == ((last["eval_set"] == "train").sum(),
                                                       (last["eval_set"] == "test").sum())
    assert 0.55 < report.train_users / SIZE.users < 0.72  # about 2/3, as in Instacart
    assert orders["order_id"].is_unique


def test_days_dow_and_hour(generated):
    _, _, tables = generated
    orders = tables["orders.csv"]
    first = orders["order_number"] == 1
    assert orders.loc[first, "days_since_prior_order"].isna().all()
    days = orders.loc[~first, "days_since_prior_order"]
    assert days.notna().all() and days.between(0, 30).all() and (days == days.round()).all()
    assert (days == 30).any()  # the cap shows, as in Instacart
    assert orders["order_dow"].between(0, 6).all() and orders["order_hour_of_day"].between(0, 23).all()
    hours = orders["order_hour_of_day"].value_counts().reindex(range(24), fill_value=0)
    assert hours.loc[10:16].sum() > 4 * hours.loc[[0, 1, 2, 3, 4, 5]].sum()  # daytime shopping


def test_lines_belong_to_the_right_orders_and_carts_are_numbered(generated):
    _, _, tables = generated
    orders = tables["orders.csv"].set_index("order_id")
    for name, eval_set in (("order_products__prior.csv", "prior"), ("order_products__train.csv", "train")):
        lines = tables[name]
        assert (orders.loc[lines["order_id"], "eval_set"] == eval_set).all()
        assert set(lines["order_id"]) == set(orders.index[orders["eval_set"] == eval_set])  # no empty basket
        assert not lines.duplicated(["order_id", "product_id"]).any()
        carts = lines.groupby("order_id")["add_to_cart_order"].agg(["min", "max", "size"])
        assert (carts["min"] == 1).all() and (carts["max"] == carts["size"]).all()
        assert lines["product_id"].isin(tables["products.csv"]["product_id"]).all()
    sizes = tables["order_products__prior.csv"].groupby("order_id").size()
    assert 7 < sizes.mean() < 13  # Instacart's baskets hold about 10 products


def test_reordered_means_bought_in_an_earlier_order(generated):
    _, _, tables = generated
    lines = pd.concat([tables["order_products__prior.csv"], tables["order_products__train.csv"]])
    lines = lines.merge(tables["orders.csv"][["order_id", "user_id", "order_number"]], on="order_id")
    lines = lines.sort_values(["user_id", "product_id", "order_number"])
    expected = lines.duplicated(["user_id", "product_id"]).astype(int)
    assert (lines["reordered"] == expected).all()
    assert 0.35 < lines["reordered"].mean() < 0.7


def test_products(generated):
    _, _, tables = generated
    products = tables["products.csv"]
    assert list(products["product_id"]) == list(range(1, SIZE.products + 1))
    assert products["product_name"].is_unique
    assert products["aisle_id"].between(1, 134).all() and products["department_id"].between(1, 21).all()
    assert products.groupby("aisle_id")["department_id"].nunique().max() == 1  # an aisle is in one department


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    small = OrdersSize(60, 100)
    generate_orders(tmp_path / "a", small, seed=5)
    generate_orders(tmp_path / "b", small, seed=5)
    generate_orders(tmp_path / "c", small, seed=6)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "orders.csv").read_bytes() != (tmp_path / "c" / "orders.csv").read_bytes()


def test_malformed_rows_are_added_as_reported(tmp_path):
    small = OrdersSize(200, 300)
    clean = generate_orders(tmp_path / "clean", small, seed=9)
    dirty = generate_orders(tmp_path / "dirty", small, seed=9, malformed_share=0.02)
    assert set(dirty.malformed) == set(MALFORMED_KINDS)
    added = sum(dirty.malformed.values())
    assert added == round(0.02 * clean.rows["orders.csv"]) and all(dirty.malformed.values())
    assert dirty.rows["orders.csv"] == clean.rows["orders.csv"] + added

    text = pd.read_csv(tmp_path / "dirty" / "orders.csv", dtype=str, keep_default_na=False)
    missing_order = text["order_id"] == ""
    missing_user = text["user_id"] == ""
    non_numeric = ~text["order_number"].str.fullmatch(r"\d+")
    assert (missing_order.sum(), missing_user.sum(), non_numeric.sum()) == (
        dirty.malformed["missing_order_id"], dirty.malformed["missing_user_id"],
        dirty.malformed["non_numeric_order_number"])
    # Taking the malformed rows out leaves exactly the clean file, in order; the other files are unchanged.
    valid = text[~(missing_order | missing_user | non_numeric)].reset_index(drop=True)
    assert valid.equals(pd.read_csv(tmp_path / "clean" / "orders.csv", dtype=str, keep_default_na=False))
    ids = pd.to_numeric(text.loc[missing_user | non_numeric, "order_id"])
    assert (ids > pd.to_numeric(valid["order_id"]).max()).all()  # fresh ids: no clash with a valid order
    for name in FILES[1:]:
        assert (tmp_path / "clean" / name).read_bytes() == (tmp_path / "dirty" / name).read_bytes()

