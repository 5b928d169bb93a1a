"""The purchase source: the CSV tables in the seed's schema, and Kafka feature records to typed rows."""

from __future__ import annotations

import json
import math

from pipeline.ml.purchase import orders
from pipeline.ml.purchase.features import FEATURES
from pipeline.ml.purchase.generator import OrdersSize, generate_orders

# The seed's (Instacart's) headers, from the specification.
SEED_HEADERS = {
    "orders.csv": "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order",
    "order_products__prior.csv": "order_id,product_id,add_to_cart_order,reordered",
    "order_products__train.csv": "order_id,product_id,add_to_cart_order,reordered",
    "products.csv": "product_id,product_name,aisle_id,department_id",
}


def test_tables_read_the_seeds_files_and_the_generator_writes_them(tmp_path):
    generate_orders(tmp_path, OrdersSize(users=30, products=200))
    for table in orders.TABLES:
        header = (tmp_path / table.file_name).read_text().splitlines()[0]
        assert header == SEED_HEADERS[table.file_name]
        assert ",".join(c.source for c in table.columns) == header


def test_a_feature_record_becomes_a_typed_row_with_missing_values_null():
    values = [float(i) for i in range(len(FEATURES))]
    values[4] = math.nan
    text = orders.feature_text(values)
    assert text.split(",")[4] == "" and text.split(",")[5] == "5.0"
    value = json.dumps({"user_id": "12", "product_id": "34", "features": text}).encode()
    row, reason, _ = orders.parse_feature_message(b"12", value, 0)
    assert reason is None
    assert (row["user_id"], row["product_id"]) == (12, 34)
    assert row[FEATURES[4]] is None and row[FEATURES[5]] == 5.0 and row[FEATURES[17]] == 17.0
    assert set(row) == {"user_id", "product_id", *FEATURES}


def test_a_bad_feature_record_gives_its_reason():
    row, reason, detail = orders.parse_feature_message(None, b'{"user_id": "1", "product_id": "2", "features": "1,2"}', 0)
    assert row is None and reason == "wrong_feature_count" and "2 values" in detail
