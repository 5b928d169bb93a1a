"""Cassandra tables of the recommenders, and their writers.

Top-N tables keep one partition per user with the list clustered by rank (the seed's later design), so a
reader gets a user's list in rank order with one single-partition query, and re-scoring a user overwrites
the same rank slots instead of piling up rows. Every row names the model version that produced it.

Writes are prepared statements in unlogged batches, sent with bounded concurrency. Each user's rows, and for a
list shorter than MAX_RANK the delete of the ranks after it (so a shorter list leaves no stale rows; a full list
overwrites every slot, and skipping the delete spares the server a range tombstone per user and the readers
from skipping it: about 1.3 times the rows per second), go in one batch, and
Cassandra applies a batch's changes to one partition atomically: a reader sees a user's old list or the new
one. A batch carries up to USERS_PER_BATCH users whose partitions live on the same replicas (what the Spark
Cassandra connector does): one batch per user spends most of the client's time on per-message overhead, and
grouping by replica keeps each batch on one node, as a single-partition batch would be (measured on 2 cores:
about 1.6 times the rows per second of one batch per user). A full rewrite then removes the users the new model
no longer scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from cassandra import cqltypes
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from pipeline.cassandra import LOCAL_REPLICATION
from pipeline.lake import Lake
from pipeline.serving.cassandra_tables import CassandraTable, ensure_tables
from pipeline.serving.key_ledger import KeyLedger, rewrite


USERS_PER_BATCH = 10  # Cassandra warns about unlogged batches over more than 10 partitions
MAX_RANK = 10  # a list holds at most this many ranks (the top 10), so a full list overwrites every slot
_KEY_TYPES = {"int": cqltypes.Int32Type, "text": cqltypes.UTF8Type}  # serializers of the user column, for routing


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

    @property
    def spec(self) -> CassandraTable:
        """The table: a partition per user, its list clustered by rank; the writer's columns, then the model
        version and the write time."""
        return CassandraTable(
            self.name, ((self.user_column, self.user_type), ("rank", "int"), (self.item_column, self.item_type),
                        ("score", "float"), *((c, "text") for c in self.label_columns), ("model_version", "text"),
                        ("updated_at", "timestamp")),
            (self.user_column,), ("rank",))


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


def ensure_top_n_table(session: Session, table: TopNTable, replication: str = LOCAL_REPLICATION) -> None:
    ensure_tables(session, [table.spec], table.keyspace, replication)


def _validate(table: TopNTable, rows: pd.DataFrame) -> None:
    missing = [c for c in table.columns if c not in rows.columns]
    if missing:
        raise ValueError(f"{table.qualified}: rows lack columns {missing}")
    for column in (table.user_column, table.item_column, "rank", "score"):
        if rows[column].isna().any():
            raise ValueError(f"{table.qualified}: null {column} in {int(rows[column].isna().sum())} rows")
    ranks = rows.groupby(table.user_column)["rank"].agg(["min", "max", "count", "nunique"])
    bad = ranks[(ranks["min"] != 1) | (ranks["max"] != ranks["count"]) | (ranks["nunique"] != ranks["count"])
                | (ranks["max"] > MAX_RANK)]
    if len(bad):
        raise ValueError(f"{table.qualified}: ranks must be 1..n per user with n <= {MAX_RANK}; not so for "
                         f"{len(bad)} users, e.g. {bad.index[0]!r}")


def _statements(session: Session, table: TopNTable) -> tuple[PreparedStatement, PreparedStatement]:
    columns = (*table.columns, "model_version")
    # updated_at is the coordinator's clock: one value less for the client to serialize per row.
    insert = session.prepare(f"INSERT INTO {table.qualified} ({', '.join(columns)}, updated_at) "
                             f"VALUES ({', '.join('?' for _ in columns)}, toTimestamp(now()))")
    trim = session.prepare(f"DELETE FROM {table.qualified} WHERE {table.user_column} = ? AND rank > ?")
    return insert, trim


def _replica_groups(session: Session, table: TopNTable, users: list) -> list[list[int]]:
    """Positions in `users` grouped by the replicas that own each user's partition, at most USERS_PER_BATCH
    to a group, in first-seen order."""
    serialize = _KEY_TYPES[table.user_type].serialize
    protocol = session.cluster.protocol_version
    metadata = session.cluster.metadata
    groups: dict[tuple, list[int]] = {}
    for position, user in enumerate(users):
        replicas = metadata.get_replicas(table.keyspace, serialize(user, protocol))
        groups.setdefault(tuple(sorted(str(h.host_id) for h in replicas)), []).append(position)
    return [positions[i:i + USERS_PER_BATCH] for positions in groups.values()
            for i in range(0, len(positions), USERS_PER_BATCH)]


def write_top_n(session: Session, table: TopNTable, rows: pd.DataFrame, model_version: str,
                ledger: KeyLedger | None = None, concurrency: int = 64) -> WriteReport:
    """Upsert the lists of the users in `rows` (columns `table.columns`): each user's partition ends up holding
    exactly their new ranks 1..n. The users go into `ledger` (`user_ledger`) first, for the next full rewrite."""
    _validate(table, rows)
    started = time.monotonic()
    if ledger is not None:
        ledger.record((u,) for u in rows[table.user_column].unique().tolist())
    insert, trim = _statements(session, table)
    ordered = rows.sort_values([table.user_column, "rank"], kind="stable")
    # tolist() gives Python values, which the driver's serializers expect (not numpy scalars).
    values = list(zip(*(ordered[c].tolist() for c in table.columns), strict=True))
    user_column = ordered[table.user_column].to_numpy()
    bounds = np.flatnonzero(np.r_[True, user_column[1:] != user_column[:-1], True]) if len(values) else np.r_[0]
    users = user_column[bounds[:-1]].tolist()

    def batches():
        for group in _replica_groups(session, table, users):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for position in group:
                start, end = bounds[position], bounds[position + 1]
                for row in values[start:end]:
                    batch.add(insert, (*row, model_version))
                if end - start < MAX_RANK:  # a full list leaves no slot to clear (and no range tombstone)
                    batch.add(trim, (users[position], int(end - start)))
            yield batch, None

    execute_concurrent(session, batches(), concurrency=concurrency, raise_on_first_error=True)
    return WriteReport(len(users), len(values), 0, time.monotonic() - started)


def replace_top_n(session: Session, table: TopNTable, rows: pd.DataFrame, model_version: str, lake: Lake,
                  concurrency: int = 64, log: Callable[[str], object] = print) -> WriteReport:
    """A full rewrite: every user's new list, then the partitions of users absent from `rows` are deleted (known
    from the table's key ledger in `lake`, no scan), so no row of an older model remains."""
    return replace_users(session, user_ledger(lake, table.qualified, table.user_column), rows[table.user_column],
                         lambda: write_top_n(session, table, rows, model_version, concurrency=concurrency), log)


def user_ledger(lake: Lake, qualified: str, user_column: str) -> KeyLedger:
    """The key ledger of a table with one partition per user."""
    return KeyLedger(lake, qualified, (user_column,), per_partition=True)


def replace_users(session: Session, ledger: KeyLedger, keep: pd.Series, write: Callable[[], WriteReport],
                  log: Callable[[str], object] = print, concurrency: int = 64) -> WriteReport:
    """A full rewrite of a per-user table: `write()` upserts the users in `keep`, then the partitions of every
    other user the ledger knows are deleted; `write`'s report, with the removals counted and timed in."""
    started = time.monotonic()
    reports: list[WriteReport] = []
    removed = rewrite(session, ledger, {(u,) for u in keep.unique().tolist()}, lambda: reports.append(write()), log,
                      concurrency)
    return replace(reports[0], users_removed=len(removed), seconds=time.monotonic() - started)


def read_top_n(session: Session, table: TopNTable, user) -> list[dict]:
    """A user's list in rank order (empty for an unknown user)."""
    select = session.prepare(f"SELECT * FROM {table.qualified} WHERE {table.user_column} = ?")
    return [dict(row._asdict()) for row in session.execute(select, (user,))]
