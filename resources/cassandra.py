"""CassandraResource: a cassandra-driver session for the serving tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from cassandra.cluster import Cluster, Session
from pydantic import Field

from pipeline.cassandra import LOCAL_REPLICATION, connect, open_cluster
from resources.secrets import revealed


class CassandraResource(dg.ConfigurableResource):
    contact_points: str = Field(default="127.0.0.1", description="Comma-separated hosts.")
    port: int = Field(default=9042)
    username: str | None = Field(default=None)
    password: str | None = Field(default=None)
    ssl_ca_file: str | None = Field(default=None, description="CA bundle (PEM) of the nodes' certificates; set: "
                                    "TLS to every node.")
    local_dc: str = Field(default="datacenter1", description="Data centre the driver prefers.")
    reco_keyspace: str = Field(default="reco", description="Keyspace of the recommendation and prediction tables.")
    analytics_keyspace: str = Field(default="university_analytics",
                                    description="Keyspace of the speed, serving and dashboard tables.")
    replication: str = Field(default=LOCAL_REPLICATION, description="Replication of the keyspaces the pipeline "
                             "creates (NetworkTopologyStrategy): `data_centre:replicas`, comma-separated.")
    consistency: str = Field(default="LOCAL_ONE", description="Consistency level of every read and write "
                             "(LOCAL_QUORUM on a cluster).")
    connect_timeout_seconds: float = Field(default=10.0)
    request_timeout_seconds: float = Field(
        default=30.0, description="Per-request timeout: a full rewrite sends many batches, and a node flushing "
                                  "memtables under that load can take longer than the driver's 10 s default.")

    def cluster(self) -> Cluster:
        """The driver's cluster, configured and not yet connected."""
        return open_cluster(self.contact_points, self.port, self.username, revealed(self.password), self.local_dc,
                            self.request_timeout_seconds, self.connect_timeout_seconds, consistency=self.consistency,
                            ssl_ca_file=self.ssl_ca_file)

    @contextmanager
    def session(self, keyspace: str | None = None) -> Iterator[Session]:
        cluster = self.cluster()
        session = connect(cluster, keyspace)
        try:
            yield session
        finally:
            cluster.shutdown()
