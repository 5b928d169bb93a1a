"""CassandraResource: a cassandra-driver session for the serving tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from pydantic import Field


class CassandraResource(dg.ConfigurableResource):
    contact_points: str = Field(default="127.0.0.1", description="Comma-separated hosts.")
    port: int = Field(default=9042)
    username: str | None = Field(default=None)
    password: str | None = Field(default=None)
    local_dc: str = Field(default="datacenter1", description="Data centre the driver prefers.")
    connect_timeout_seconds: float = Field(default=10.0)
    request_timeout_seconds: float = Field(
        default=30.0, description="Per-request timeout: a full rewrite sends many batches, and a node flushing "
                                  "memtables under that load can take longer than the driver's 10 s default.")

    @contextmanager
    def session(self, keyspace: str | None = None) -> Iterator[Session]:
        auth = PlainTextAuthProvider(self.username, self.password) if self.username else None
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_dc)),
            request_timeout=self.request_timeout_seconds,
        )
        cluster = Cluster(
            [h.strip() for h in self.contact_points.split(",") if h.strip()],
            port=self.port,
            auth_provider=auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            protocol_version=5,
            connect_timeout=self.connect_timeout_seconds,
        )
        try:
            yield cluster.connect(keyspace)
        finally:
            cluster.shutdown()
