"""What a Cassandra table holds, kept beside it in the lake, so that full rewrites and their checks never scan it.

A full rewrite must delete the keys its new rows no longer have, and reading them from the table (`SELECT
DISTINCT key`) is a scan of every node's every partition: on a large cluster it times out. Instead, every writer
records the keys it is about to write in the table's ledger (`_serving/keys/<keyspace>.<table>/`) *before*
writing them, one Parquet object per write, never rewriting another's. The ledger is therefore always a
superset of the table's keys, whatever crashed where:

    full rewrite   previous = the ledger's keys (and the objects read); record the new keys; upsert the rows;
                   delete previous - new; then remove the objects read (an object a concurrent incremental
                   write added in between stays: its keys are not lost)
    incremental    record the keys (merging the ledger's objects into one once there are COMPACT_AFTER);
                   upsert them

A table that holds rows but has no ledger (written before ledgers existed, or its lake was replaced) is read
once, in full, to start one: the only scan, logged as such.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args

from pipeline.lake import Lake

ZONE = ("_serving", "keys")
COMPACT_AFTER = 32  # ledger objects before a write merges them


@dataclass(frozen=True)
class KeyLedger:
    lake: Lake
    qualified: str  # keyspace.table
    key: tuple[str, ...]  # the columns recorded: the primary key, or the partition key of per-partition writes
    per_partition: bool = False  # `key` is the partition key: a rewrite deletes whole partitions

    @property
    def parts(self) -> tuple[str, ...]:
        return (*ZONE, self.qualified)

    def objects(self) -> list[str]:
        return self.lake.list_files(*self.parts)

    def keys(self, objects: list[str]) -> set[tuple]:
        keys: set[tuple] = set()
        for path in objects:
            table = pq.read_table(path, filesystem=self.lake.filesystem)
            if table.num_rows:
                keys |= set(zip(*(table.column(c).to_pylist() for c in self.key), strict=True))
        return keys

    def record(self, keys: Iterable[tuple]) -> None:
        """Add keys (before they are written: the ledger must never miss a key the table has). A stream refresh
        every few seconds would pile up small objects until the next full rewrite: past COMPACT_AFTER of them,
        they are merged into one (a superset of the keys is harmless: it costs a delete of an absent key)."""
        rows = list(keys)
        objects = self.objects()
        if len(objects) >= COMPACT_AFTER:
            rows += self.keys(objects)
        columns = {c: [k[i] for k in rows] for i, c in enumerate(self.key)}
        self.lake.write_parquet(pa.table(columns), *self.parts, f"{uuid.uuid4().hex}.parquet")
        if len(objects) >= COMPACT_AFTER:
            self.remove(objects)

    def remove(self, objects: list[str]) -> None:
        """Delete ledger objects whose keys another object now holds (one a concurrent writer removed is fine)."""
        for path in objects:
            try:
                self.lake.filesystem.delete_file(path)
            except FileNotFoundError:
                pass

    def start(self, session: Session, log: Callable[[str], object]) -> set[tuple]:
        """The table's keys when it has no ledger: none if it is empty (one row read), else one full read."""
        if session.execute(f"SELECT {', '.join(self.key)} FROM {self.qualified} LIMIT 1").one() is None:
            return set()
        log(f"{self.qualified}: no key ledger in the lake for a table that holds rows; reading its keys once")
        distinct = "DISTINCT " if self.per_partition else ""
        return {tuple(row) for row in session.execute(f"SELECT {distinct}{', '.join(self.key)} FROM {self.qualified}")}


def rewrite(session: Session, ledger: KeyLedger, wanted: set[tuple], upsert: Callable[[], None],
            log: Callable[[str], object] = print, concurrency: int = 64) -> set[tuple]:
    """A full rewrite: `upsert()` writes the rows whose keys are `wanted`, then the keys the table held before
    and no longer wants are deleted (readers never find it empty). Returns the deleted keys."""
    objects = ledger.objects()
    previous = ledger.keys(objects) if objects else ledger.start(session, log)
    ledger.record(wanted)
    upsert()
    stale = previous - wanted
    delete = session.prepare(f"DELETE FROM {ledger.qualified} WHERE " + " AND ".join(f"{k} = ?" for k in ledger.key))
    execute_concurrent_with_args(session, delete, list(stale), concurrency=concurrency, raise_on_first_error=True)
    ledger.remove(objects)
    return stale


def rows_held(session: Session, qualified: str, partition_key: tuple[str, ...], keys: Iterable[tuple],
              concurrency: int = 64) -> int:
    """How many rows the partitions of `keys` (each key's partition key first) hold together: one
    single-partition count per partition, never a table scan."""
    partitions = list({key[:len(partition_key)] for key in keys})
    count = session.prepare(f"SELECT count(*) FROM {qualified} WHERE "
                            + " AND ".join(f"{k} = ?" for k in partition_key))
    results = execute_concurrent(session, ((count, p) for p in partitions), concurrency=concurrency,
                                 raise_on_first_error=True)
    return sum(result.result_or_exc.one()[0] for result in results)
