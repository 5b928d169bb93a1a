"""The one description of a Cassandra table used by every writer here (analytics, top-N, purchase predictions):
its columns with their CQL types, its primary key and clustering order; the statements that create it, its
keyspace and the columns added after it first shipped; and the delete that ends every full rewrite."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent

from pipeline.cassandra import LOCAL_REPLICATION, replication_cql, replication_map


@dataclass(frozen=True)
class CassandraTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, CQL type), partition key first
    partition_key: tuple[str, ...]
    clustering: tuple[str, ...] = ()
    descending: bool = False  # clustering order
    added_columns: tuple[str, ...] = ()  # added after the table first shipped: tables created before lack them

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def key(self) -> tuple[str, ...]:
        return (*self.partition_key, *self.clustering)

    def create_cql(self, keyspace: str) -> str:
        columns = ", ".join(f"{c} {t}" for c, t in self.columns)
        key = f"(({', '.join(self.partition_key)}){''.join(f', {c}' for c in self.clustering)})"
        order = ""
        if self.clustering:
            direction = "DESC" if self.descending else "ASC"
            order = f" WITH CLUSTERING ORDER BY ({', '.join(f'{c} {direction}' for c in self.clustering)})"
        return f"CREATE TABLE IF NOT EXISTS {keyspace}.{self.name} ({columns}, PRIMARY KEY {key}){order}"


def ensure_keyspace(session: Session, keyspace: str, replication: str = LOCAL_REPLICATION) -> None:
    """Create the keyspace if absent, replicated by NetworkTopologyStrategy as `replication` (`dc:replicas,...`)
    says; a data centre the cluster does not have is refused by name (its writes could never succeed). An
    existing keyspace keeps its replication: changing it is an operator's ALTER KEYSPACE and repair."""
    known = {host.datacenter for host in session.cluster.metadata.all_hosts()}  # the driver's view of the ring
    if missing := sorted(set(replication_map(replication)) - known):
        raise ValueError(f"the keyspace replication {replication!r} (CASSANDRA_REPLICATION) names data centre(s) "
                         f"{missing} that the Cassandra cluster does not have; it has {sorted(known)}")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication_cql(replication)}")


def ensure_tables(session: Session, tables: Iterable[CassandraTable], keyspace: str,
                  replication: str = LOCAL_REPLICATION) -> None:
    """Create the keyspace and the tables if absent, and add the columns that tables created before them lack."""
    ensure_keyspace(session, keyspace, replication)
    for table in tables:
        session.execute(table.create_cql(keyspace))
        types = dict(table.columns)
        for column in table.added_columns:
            session.execute(f"ALTER TABLE {keyspace}.{table.name} ADD IF NOT EXISTS {column} {types[column]}")


def delete_keys_not_in(session: Session, qualified: str, key: tuple[str, ...], wanted: set[tuple],
                       partition_key: bool = False, concurrency: int = 64) -> int:
    """Delete every row (or, for a partition `key`, every partition) of the table whose key is not in `wanted`;
    return how many went. This is the end of every full rewrite here: upsert first, then remove what is gone,
    so a reader never finds the table empty."""
    distinct = "DISTINCT " if partition_key else ""
    present = session.execute(f"SELECT {distinct}{', '.join(key)} FROM {qualified}")
    stale = [tuple(row) for row in present if tuple(row) not in wanted]
    delete = session.prepare(f"DELETE FROM {qualified} WHERE " + " AND ".join(f"{k} = ?" for k in key))
    execute_concurrent(session, ((delete, k) for k in stale), concurrency=concurrency, raise_on_first_error=True)
    return len(stale)
