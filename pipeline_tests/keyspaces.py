"""Scratch Cassandra keyspaces for the tests and the benchmarks (bench/ imports it too): dropped before and
after, so a test or a benchmark run never sees or leaves other rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cassandra.cluster import Session

from pipeline.settings import Settings
from resources import build_resources


@contextmanager
def scratch_keyspaces(settings: Settings, *keyspaces: str) -> Iterator[Session]:
    """A session on the settings' Cassandra (as the pipeline logs in), with `keyspaces` dropped on entry and on
    exit."""
    with build_resources(settings)["cassandra"].session() as session:
        for keyspace in keyspaces:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        yield session
        for keyspace in keyspaces:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
