"""`reco.purchase_predictions`: one partition per user, one row per product, with the reorder probability and
the model version that produced it (the seed kept the same pairs in DynamoDB, keyed user_id / product_id).

`write_predictions` upserts pairs (the stream's refreshes). `replace_predictions` makes the table exactly the
given pairs: each written user's partition is cleared at timestamp t-1 in the batch that inserts its rows at
t, so none of that user's older pairs survives and a reader never sees the partition empty; then the users
absent from the new set are deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType

from pipeline.cassandra import LOCAL_REPLICATION
from pipeline.serving.cassandra_tables import CassandraTable, ensure_tables
from pipeline.lake import Lake
from pipeline.serving.key_ledger import KeyLedger
from pipeline.serving.reco_tables import WriteReport, replace_users, user_ledger

PREDICTIONS = CassandraTable(
    "purchase_predictions", (("user_id", "int"), ("product_id", "int"), ("probability", "double"),
                             ("model_version", "text"), ("scored_at", "timestamp")),
    ("user_id",), ("product_id",))
TABLE = PREDICTIONS.name
COLUMNS = ("user_id", "product_id", "probability")
# A user with many candidates is written in several batches (Cassandra rejects batches over 50 kB); the
# explicit timestamps keep the clear-then-insert order right across them.
MAX_BATCH_ROWS = 100


def qualified(keyspace: str) -> str:
    return f"{keyspace}.{TABLE}"


def ensure_predictions_table(session: Session, keyspace: str, replication: str = LOCAL_REPLICATION) -> None:
    ensure_tables(session, [PREDICTIONS], keyspace, replication)


def _batches(session: Session, keyspace: str, rows: pd.DataFrame, model_version: str, clear: bool):
    """Unlogged batches of one user each (a single-partition batch is applied at once, in one round trip)."""
    if rows[list(COLUMNS)].isna().any().any():
        raise ValueError(f"{qualified(keyspace)}: null user_id, product_id or probability in the rows")
    now_us = int(time.time() * 1_000_000)
    insert = session.prepare(f"INSERT INTO {qualified(keyspace)} (user_id, product_id, probability, "
                             f"model_version, scored_at) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?")
    clear_user = session.prepare(f"DELETE FROM {qualified(keyspace)} USING TIMESTAMP ? WHERE user_id = ?")
    ordered = rows.sort_values(["user_id", "product_id"], kind="stable")
    users = ordered["user_id"].to_numpy(dtype=np.int64)
    products = ordered["product_id"].to_numpy(dtype=np.int64).tolist()
    probabilities = ordered["probability"].to_numpy(dtype=np.float64).tolist()
    scored_at = pd.Timestamp(now_us, unit="us", tz="UTC").to_pydatetime()
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        user = int(users[start])
        for chunk in range(start, end, MAX_BATCH_ROWS):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            if clear and chunk == start:
                batch.add(clear_user, (now_us - 1, user))
            for i in range(chunk, min(end, chunk + MAX_BATCH_ROWS)):
                batch.add(insert, (user, products[i], probabilities[i], model_version, scored_at, now_us))
            yield batch, None


def write_predictions(session: Session, keyspace: str, rows: pd.DataFrame, model_version: str,
                      ledger: KeyLedger | None = None, concurrency: int = 128, clear: bool = False) -> WriteReport:
    """Upsert (user_id, product_id, probability) rows; with `clear`, each user's partition holds exactly the
    new rows afterwards. The users go into `ledger` (`ledger_of`) first, for the next full rewrite."""
    started = time.monotonic()
    if ledger is not None:
        ledger.record((int(u),) for u in rows["user_id"].unique().tolist())
    execute_concurrent(session, _batches(session, keyspace, rows, model_version, clear),
                       concurrency=concurrency, raise_on_first_error=True)
    return WriteReport(int(rows["user_id"].nunique()), len(rows), 0, time.monotonic() - started)


def replace_predictions(session: Session, keyspace: str, rows: pd.DataFrame, model_version: str, lake: Lake,
                        concurrency: int = 128, log: Callable[[str], object] = print) -> WriteReport:
    """The table becomes exactly `rows`: no pair of an older model remains (the users it no longer has are
    known from its key ledger in `lake`, no scan)."""
    return replace_users(session, ledger_of(lake, keyspace), rows["user_id"].astype("int64"),
                         lambda: write_predictions(session, keyspace, rows, model_version, concurrency=concurrency,
                                                   clear=True), log)


def ledger_of(lake: Lake, keyspace: str) -> KeyLedger:
    return user_ledger(lake, qualified(keyspace), "user_id")


def read_predictions(session: Session, keyspace: str, user_id: int | None = None) -> pd.DataFrame:
    """One user's predictions, or the whole table (for tests and small demos)."""
    query = f"SELECT user_id, product_id, probability, model_version FROM {qualified(keyspace)}"
    rows = (session.execute(session.prepare(query + " WHERE user_id = ?"), (user_id,)) if user_id is not None
            else session.execute(query))
    return pd.DataFrame([tuple(r) for r in rows], columns=[*COLUMNS, "model_version"])
