"""The purchase source (the seed's "imba" files, Instacart's layout): the four CSV tables, and the Kafka topic of
feature records that the predictions are refreshed from.

The files come from the seeded generator (`pipeline.ml.purchase.generator`), or from a real copy in that
layout (`ORDERS_DIR`). Lines and orders reference each other: a line whose order is not in the cleaned
orders (for example because that order was quarantined) is quarantined as `unknown_reference`.
"""

from __future__ import annotations

import math

import pyarrow as pa

from pipeline.ml.csv_tables import Column, CsvTable
from pipeline.ml.purchase.features import FEATURES
from pipeline.ml.purchase.model import ParsedRecord, parse_feature_record
from pipeline.ml.streams import InteractionStream

SOURCE = "orders"

ORDERS = CsvTable(
    name="orders/orders",
    file_name="orders.csv",
    columns=(
        Column("order_id", "int"),
        Column("user_id", "int"),
        Column("eval_set", "string", needed_value="train"),  # the labels come from the train orders
        Column("order_number", "int", between=(1, 1000)),
        Column("order_dow", "int", between=(0, 6)),
        Column("order_hour_of_day", "int", between=(0, 23)),
        Column("days_since_prior_order", "double", required=False, between=(0, 365)),
    ),
    key=("order_id",),
    description="Orders: each user's history, `prior` orders then one `train` or `test` order "
                "(days_since_prior_order is null for a user's first order).",
)
PRODUCTS = CsvTable(
    name="orders/products",
    file_name="products.csv",
    columns=(
        Column("product_id", "int"),
        Column("product_name", "string"),
        Column("aisle_id", "int", required=False),
        Column("department_id", "int", required=False),
    ),
    key=("product_id",),
    optional=True,  # no feature reads the catalogue
    description="Product catalogue: name, aisle and department.",
)
PRIOR_LINES = CsvTable(
    name="orders/order_products__prior",
    file_name="order_products__prior.csv",
    columns=(
        Column("order_id", "int"),
        Column("product_id", "int"),
        Column("add_to_cart_order", "int", between=(1, 1000)),
        Column("reordered", "int", between=(0, 1)),
    ),
    key=("order_id", "product_id"),
    references=(("order_id", ORDERS), ("product_id", PRODUCTS)),
    description="Products of the prior orders, in cart order; reordered = 1 when the user bought it before.",
)
TRAIN_LINES = CsvTable(
    name="orders/order_products__train",
    file_name="order_products__train.csv",
    columns=PRIOR_LINES.columns,
    key=PRIOR_LINES.key,
    references=PRIOR_LINES.references,
    description="Products of the train orders: the label source (a candidate bought again has reordered = 1).",
)
TABLES = (ORDERS, PRIOR_LINES, TRAIN_LINES, PRODUCTS)

# The seed's topic `imba-yiding`, renamed for what it carries: {"user_id", "product_id", "features"} records.
FEATURE_TOPIC = "purchase_features"
FEATURE_RECORD_SCHEMA = pa.schema([("user_id", pa.int64()), ("product_id", pa.int64()),
                                   *[(name, pa.float64()) for name in FEATURES]])


def parse_feature_message(key: bytes | None, value: bytes | None,
                          kafka_ms: int | None) -> tuple[dict | None, str | None, str]:
    """A Kafka feature record as a row of FEATURE_RECORD_SCHEMA (missing features null), or a reject reason."""
    parsed = parse_feature_record(value)
    if not isinstance(parsed, ParsedRecord):
        return None, parsed.reason, parsed.detail
    features = {name: None if math.isnan(v) else v for name, v in zip(FEATURES, parsed.features, strict=True)}
    return {"user_id": parsed.user_id, "product_id": parsed.product_id, **features}, None, ""


FEATURE_STREAM = InteractionStream(FEATURE_TOPIC, parse_feature_message, FEATURE_RECORD_SCHEMA,
                                   user_field="user_id")


def feature_text(values) -> str:
    """The seed's feature string: the 18 values comma-joined, a missing one as an empty field."""
    return ",".join("" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v)) for v in values)
