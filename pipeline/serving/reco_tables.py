"""Cassandra tables of the recommenders, and their writers.

Top-N tables keep one partition per user with the list clustered by rank (the seed's later design), so a
reader gets a user's list in rank order with one single-partition query, and re-scoring a user overwrites
the same rank slots instead of piling up rows. Every row names the model version that produced it.

Writes are prepared statements, one unlogged batch per user (a batch within one partition is applied
atomically and costs one round trip), sent with bounded concurrency. A batch also deletes the ranks after
the user's new list, so a shorter list leaves no stale rows; a full rewrite then removes the users the new
model no longer scores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import pandas as pd
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType, PreparedStatement


@dataclass(frozen=True)
class TopNTable:
    keyspace: str
    name: str
    user_column: str
    user_type: str
    item_column: str
    item_type: str
    label_columns: tuple[str, ...]  # text columns describing the item

    @property
    def qualified(self) -> str:
        return f"{self.keyspace}.{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The row columns a writer takes, in order."""
        return (self.user_column, "rank", self.item_column, "score", *self.label_columns)

    def in_keyspace(self, keyspace: str) -> TopNTable:
        return replace(self, keyspace=keyspace)

    def create_cql(self) -> str:
        labels = "".join(f"{c} text, " for c in self.label_columns)
        return (f"CREATE TABLE IF NOT EXISTS {self.qualified} ({self.user_column} {self.user_type}, rank int, "
                f"{self.item_column} {self.item_type}, score float, {labels}model_version text, "
                f"updated_at timestamp, PRIMARY KEY (({self.user_column}), rank)) "
                f"WITH CLUSTERING ORDER BY (rank ASC)")


MOVIE_RECOMMENDATIONS = TopNTable("reco", "recommendations", "userid", "int", "movieid", "int", ("title", "genres"))
COURSE_RECOMMENDATIONS = TopNTable("reco", "course_recommendations", "user_id", "text", "course_id", "text",
                                   ("course_name",))


@dataclass(frozen=True)
class WriteReport:
    users: int
    rows: int
    users_removed: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        removed = f", {self.users_removed:,} users removed" if self.users_removed else ""
        return (f"{self.rows:,} rows for {self.users:,} users in {self.seconds:.1f}s "
                f"({self.rows_per_second:,.0f} rows/s){removed}")


def ensure_keyspace(session: Session, keyspace: str, replication_factor: int = 1) -> None:
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
                    f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}")


def ensure_top_n_table(session: Session, table: TopNTable, replication_factor: int = 1) -> None:
    ensure_keyspace(session, table.keyspace, replication_factor)
    session.execute(table.create_cql())


def _validate(table: TopNTable, rows: pd.DataFrame) -> None:
    missing = [c for c in table.columns if c not in rows.columns]
    if missing:
        raise ValueError(f"{table.qualified}: rows lack columns {missing}")
    for column in (table.user_column, table.item_column, "rank", "score"):
        if rows[column].isna().any():
            raise ValueError(f"{table.qualified}: null {column} in {int(rows[column].isna().sum())} rows")
    ranks = rows.groupby(table.user_column)["rank"].agg(["min", "max", "count", "nunique"])
    bad = ranks[(ranks["min"] != 1) | (ranks["max"] != ranks["count"]) | (ranks["nunique"] != ranks["count"])]
    if len(bad):
        raise ValueError(f"{table.qualified}: ranks must be 1..n per user; not so for {len(bad)} users, "
                         f"e.g. {bad.index[0]!r}")


def _statements(session: Session, table: TopNTable) -> tuple[PreparedStatement, PreparedStatement]:
    columns = (*table.columns, "model_version", "updated_at")
    insert = session.prepare(f"INSERT INTO {table.qualified} ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' for _ in columns)})")
    trim = session.prepare(f"DELETE FROM {table.qualified} WHERE {table.user_column} = ? AND rank > ?")
    return insert, trim


def write_top_n(session: Session, table: TopNTable, rows: pd.DataFrame, model_version: str,
                concurrency: int = 128) -> WriteReport:
    """Upsert the lists of the users in `rows` (columns `table.columns`): each user's partition ends up holding
    exactly their new ranks 1..n."""
    _validate(table, rows)
    started = time.monotonic()
    insert, trim = _statements(session, table)
    now = datetime.now(timezone.utc)
    ordered = rows.sort_values([table.user_column, "rank"], kind="stable")
    values = list(ordered[list(table.columns)].itertuples(index=False, name=None))
    users = ordered[table.user_column].to_numpy()

    def batches():
        start = 0
        while start < len(values):
            user = users[start]
            end = start
            while end < len(values) and users[end] == user:
                end += 1
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in values[start:end]:
                batch.add(insert, (*_plain(row), model_version, now))
            batch.add(trim, (_plain((user,))[0], end - start))
            yield batch, None
            start = end

    results = execute_concurrent(session, batches(), concurrency=concurrency, raise_on_first_error=True)
    return WriteReport(len(results), len(values), 0, time.monotonic() - started)


def replace_top_n(session: Session, table: TopNTable, rows: pd.DataFrame, model_version: str,
                  concurrency: int = 128) -> WriteReport:
    """A full rewrite: every user's new list, then the partitions of users absent from `rows` are deleted, so
    no row of an older model remains."""
    written = write_top_n(session, table, rows, model_version, concurrency)
    started = time.monotonic()
    keep = set(_plain(tuple(rows[table.user_column].unique())))
    present = [r[0] for r in session.execute(f"SELECT DISTINCT {table.user_column} FROM {table.qualified}")]
    stale = [u for u in present if u not in keep]
    delete = session.prepare(f"DELETE FROM {table.qualified} WHERE {table.user_column} = ?")
    execute_concurrent(session, ((delete, (u,)) for u in stale), concurrency=concurrency, raise_on_first_error=True)
    return replace(written, users_removed=len(stale), seconds=written.seconds + time.monotonic() - started)


def read_top_n(session: Session, table: TopNTable, user) -> list[dict]:
    """A user's list in rank order (empty for an unknown user)."""
    select = session.prepare(f"SELECT * FROM {table.qualified} WHERE {table.user_column} = ?")
    return [dict(row._asdict()) for row in session.execute(select, (user,))]


def _plain(values: tuple) -> tuple:
    """numpy scalars → Python values, which the driver's serializers expect."""
    return tuple(v.item() if hasattr(v, "item") else v for v in values)
