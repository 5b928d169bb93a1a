"""The one way this project opens a cassandra-driver cluster (the Dagster resource and the HTTP API), and the
replication its keyspaces get."""

from __future__ import annotations

import ssl
from collections.abc import Callable

from cassandra import AuthenticationFailed, ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.policies import (DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, RetryPolicy, TokenAwarePolicy,
                                WriteType)
from cassandra.query import named_tuple_factory


# What one node needs; a cluster sets its own map (CASSANDRA_REPLICATION, for example `dc1:3`).
LOCAL_REPLICATION = "datacenter1:1"
# The levels a setting may name: on a cluster, (LOCAL_)QUORUM reads and writes see each other's rows.
CONSISTENCY_LEVELS = ("ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL")


def replication_map(text: str) -> dict[str, int]:
    """`dc1:3,dc2:2` as {data centre: replicas}; ValueError saying what is wrong."""
    replicas = {}
    for item in (part.strip() for part in text.split(",")):
        dc, _, count = item.partition(":")
        if not dc.strip() or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"{item!r} is not `data_centre:replicas` (e.g. datacenter1:1, or dc1:3,dc2:3)")
        replicas[dc.strip()] = int(count)
    return replicas


def replication_cql(text: str) -> str:
    """The keyspace's replication: NetworkTopologyStrategy with the map `text` (see `replication_map`)."""
    return "{" + ", ".join(["'class': 'NetworkTopologyStrategy'",
                            *(f"'{dc}': {n}" for dc, n in replication_map(text).items())]) + "}"


class RetryTimedOutWrites(RetryPolicy):
    """The driver's policy, except that a plain write (a statement or a batch) that timed out is sent again,
    through another coordinator, up to `WRITES` times before it fails: this project's writes are upserts and
    deletes of given keys, so repeating one changes nothing. A replica that is slow or has just died then costs a
    retry, not the run. Counter and lightweight-transaction writes, which a repeat could apply twice, keep the
    driver's answer (it retries only batch-log writes)."""

    WRITES = 2
    REPEATABLE = (WriteType.SIMPLE, WriteType.BATCH, WriteType.UNLOGGED_BATCH, WriteType.BATCH_LOG)

    def on_write_timeout(self, query, consistency, write_type, required_responses, received_responses, retry_num):
        if write_type not in self.REPEATABLE:
            return super().on_write_timeout(query, consistency, write_type, required_responses, received_responses,
                                            retry_num)
        if retry_num < self.WRITES:
            return self.RETRY_NEXT_HOST, consistency
        return self.RETHROW, None


def open_cluster(contact_points: str, port: int, username: str | None, password: str | None, local_dc: str,
                 request_timeout: float, connect_timeout: float = 10.0, row_factory: Callable = named_tuple_factory,
                 consistency: str = "LOCAL_ONE", ssl_ca_file: str | None = None) -> Cluster:
    """A protocol-v5 cluster that prefers `local_dc` and the replica owning each key, reading and writing at
    `consistency`; `contact_points` is a comma-separated host list. With `ssl_ca_file`, every connection is TLS
    and each node must present a certificate of that CA for its address."""
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               request_timeout=request_timeout, row_factory=row_factory,
                               consistency_level=ConsistencyLevel.name_to_value[consistency],
                               retry_policy=RetryTimedOutWrites())
    return Cluster([h.strip() for h in contact_points.split(",") if h.strip()], port=port,
                   auth_provider=PlainTextAuthProvider(username, password) if username else None,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                   connect_timeout=connect_timeout, ssl_context=tls_context(ssl_ca_file) if ssl_ca_file else None,
                   # A node that comes back is tried again within 10 s (the driver's default backs off to 10
                   # minutes): the long-running API recovers by itself soon after an outage.
                   reconnection_policy=ExponentialReconnectionPolicy(base_delay=1.0, max_delay=10.0))


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client TLS context that trusts `ca_file` only and checks each node's address (CASSANDRA_SSL_CA_FILE)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise CassandraUnavailable(f"CASSANDRA_SSL_CA_FILE={ca_file!r} is not a readable PEM CA bundle: {error}") \
            from None


class CassandraUnavailable(RuntimeError):
    """No contact point accepted a session."""


def connect(cluster: Cluster, keyspace: str | None = None) -> Session:
    """A session of `cluster`; if no node accepts one, CassandraUnavailable saying why for each node and which
    settings to look at (the cluster is shut down: nothing keeps reconnecting in the background)."""
    try:
        return cluster.connect(keyspace)
    except NoHostAvailable as error:
        cluster.shutdown()
        reasons = "; ".join(f"{host}: {reason}" for host, reason in error.errors.items()) or str(error)
        if any(isinstance(reason, AuthenticationFailed) for reason in error.errors.values()):
            hint = "it refused the credentials: check CASSANDRA_USERNAME and CASSANDRA_PASSWORD"
        elif any(isinstance(reason, ssl.SSLError) or "[SSL" in str(reason) for reason in error.errors.values()):
            hint = "TLS failed: check that CASSANDRA_SSL_CA_FILE is the CA that signed the nodes' certificates"
        else:
            hint = ("is it running, do CASSANDRA_CONTACT_POINTS and CASSANDRA_PORT name it, and if it requires TLS, "
                    "is CASSANDRA_SSL_CA_FILE set?")
        raise CassandraUnavailable(f"Cassandra did not accept a session ({hint}): {reasons}") from None
