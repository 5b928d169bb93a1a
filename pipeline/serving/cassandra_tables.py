"""The one description of a Cassandra table used by every writer here (analytics, top-N, purchase predictions):
its columns with their CQL types, its primary key and clustering order; the statements that create it, its
keyspace and the columns added after it first shipped. (Full rewrites: `key_ledger.py`.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cassandra.cluster import Session

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
