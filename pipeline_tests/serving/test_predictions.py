"""The purchase predictions table in a real Cassandra: upserts, and rewrites that leave exactly the new pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.serving.predictions import (
    MAX_BATCH_ROWS,
    ensure_predictions_table,
    read_predictions,
    replace_predictions,
    write_predictions,
)
from pipeline_tests.keyspaces import scratch_keyspaces

pytestmark = pytest.mark.services
KEYSPACE = "predictions_test"


@pytest.fixture
def session(services):
    with scratch_keyspaces(services, KEYSPACE) as s:
        ensure_predictions_table(s, KEYSPACE)
        ensure_predictions_table(s, KEYSPACE)  # idempotent
        yield s


def rows(pairs: list[tuple[int, int]], probability: float = 0.25) -> pd.DataFrame:
    return pd.DataFrame([{"user_id": u, "product_id": p, "probability": probability} for u, p in pairs])


def table(session) -> set[tuple]:
    return set(read_predictions(session, KEYSPACE).itertuples(index=False, name=None))


def test_upserts_touch_only_their_pairs(session):
    write_predictions(session, KEYSPACE, rows([(1, 10), (1, 11), (2, 20)]), "v1")
    report = write_predictions(session, KEYSPACE, rows([(1, 11), (3, 30)], 0.75), "v2")
    assert (report.users, report.rows) == (2, 2)
    assert table(session) == {(1, 10, 0.25, "v1"), (1, 11, 0.75, "v2"), (2, 20, 0.25, "v1"), (3, 30, 0.75, "v2")}
    assert set(read_predictions(session, KEYSPACE, 1)["product_id"]) == {10, 11}


def test_a_rewrite_leaves_exactly_the_new_pairs_even_across_batches(session, lake):
    many = 2 * MAX_BATCH_ROWS + 50  # one user written in three batches
    write_predictions(session, KEYSPACE, rows([(1, p) for p in range(many)] + [(2, 1), (3, 1)]), "v1")
    report = replace_predictions(session, KEYSPACE, rows([(1, p) for p in range(0, many, 2)] + [(2, 2)], 0.5), "v2",
                                 lake)
    assert report.users_removed == 1  # user 3
    assert table(session) == {(1, p, 0.5, "v2") for p in range(0, many, 2)} | {(2, 2, 0.5, "v2")}


def test_rows_without_a_probability_are_refused(session):
    bad = rows([(1, 1)])
    bad.loc[0, "probability"] = None
    with pytest.raises(ValueError, match="null"):
        write_predictions(session, KEYSPACE, bad, "v1")
