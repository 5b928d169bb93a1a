"""The one way this project opens a cassandra-driver cluster (the Dagster resource and the HTTP API)."""

from __future__ import annotations

from collections.abc import Callable

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import named_tuple_factory


def open_cluster(contact_points: str, port: int, username: str | None, password: str | None, local_dc: str,
            request_timeout: float, connect_timeout: float = 10.0,
            row_factory: Callable = named_tuple_factory) -> Cluster:
    """A protocol-v5 cluster that prefers `local_dc` and the replica owning each key; `contact_points` is a
    comma-separated host list."""
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               request_timeout=request_timeout, row_factory=row_factory)
    return Cluster([h.strip() for h in contact_points.split(",") if h.strip()], port=port,
                   auth_provider=PlainTextAuthProvider(username, password) if username else None,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                   connect_timeout=connect_timeout)
