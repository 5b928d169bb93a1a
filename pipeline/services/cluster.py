"""Loopback clusters for failure tests: 3 Kafka brokers and 3 Cassandra nodes (`pipeline services up --cluster`).

A SERVICES_HOME runs single nodes or a cluster, chosen at its first `up` (as with `--auth`): `up --cluster` writes
`<SERVICES_HOME>/cluster/env` once, the settings that make every command a client of the cluster and that every
later `up`, `status` and `down` of the home keeps to:

    KAFKA_BOOTSTRAP_SERVERS     a broker on each of 3 loopback addresses (127.0.0.1-3 unless the settings
                                already name 3), each also a KRaft controller: any 2 of them make a quorum
    KAFKA_REPLICATION_FACTOR=3  the topics the project creates; the brokers require min.insync.replicas=2
    CASSANDRA_CONTACT_POINTS    a node on each of the same addresses (storage port 7000 on each), all seeds
    CASSANDRA_REPLICATION=datacenter1:3, CASSANDRA_CONSISTENCY=QUORUM
                                every keyspace on the 3 nodes; every read and write waits for 2 of them

So one broker or one node can die while producers, the landing, the rewrites and the API go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.services.process import ServiceError
from pipeline.settings import Settings, env_name

SIZE = 3
REPLICATION = "datacenter1:3"  # the data centre of Cassandra's SimpleSnitch
CONSISTENCY = "QUORUM"


@dataclass(frozen=True)
class LocalCluster:
    """The cluster settings of one SERVICES_HOME."""

    folder: Path

    @property
    def env_file(self) -> Path:
        return self.folder / "env"

    def settings(self) -> dict[str, str]:
        """The environment variables `env` holds."""
        pairs = (line.partition("=") for line in self.env_file.read_text().splitlines() if "=" in line)
        return {name: value for name, _, value in pairs}

    def fields(self) -> dict[str, str]:
        """The same as settings fields (what the services apply to the environment's settings)."""
        names = {env_name(field): field for field in FIELDS}
        return {names[name]: value for name, value in self.settings().items()}

    def apply(self, settings: Settings) -> Settings:
        return Settings.model_validate({**settings.model_dump(), **self.fields()})


FIELDS = ("kafka_bootstrap_servers", "kafka_replication_factor", "cassandra_contact_points", "cassandra_replication",
          "cassandra_consistency")


def folder(settings: Settings) -> Path:
    return Path(settings.services_home).resolve() / "cluster"


def local_cluster(settings: Settings) -> LocalCluster | None:
    """The home's cluster, if its services run as one."""
    cluster = LocalCluster(folder(settings))
    return cluster if cluster.env_file.exists() else None


def create(settings: Settings) -> LocalCluster:
    """Write `env` (once: an existing one is kept): the addresses the settings name when they name 3 brokers and
    3 nodes, else 127.0.0.1-3 with the settings' ports."""
    if (existing := local_cluster(settings)) is not None:
        return existing
    brokers = [b.strip() for b in settings.kafka_bootstrap_servers.split(",") if b.strip()]
    nodes = [n.strip() for n in settings.cassandra_contact_points.split(",") if n.strip()]
    if len(brokers) != SIZE or len(nodes) != SIZE:
        if len(brokers) > 1 or len(nodes) > 1:
            raise ServiceError(f"--cluster starts {SIZE} brokers and {SIZE} nodes: KAFKA_BOOTSTRAP_SERVERS names "
                               f"{len(brokers)} and CASSANDRA_CONTACT_POINTS {len(nodes)}; name {SIZE} of each, or one "
                               f"(then the cluster is on 127.0.0.1-{SIZE})")
        port = brokers[0].rpartition(":")[2] if ":" in brokers[0] else "9092"
        brokers = [f"127.0.0.{n}:{port}" for n in range(1, SIZE + 1)]
        nodes = [f"127.0.0.{n}" for n in range(1, SIZE + 1)]
    values = {"kafka_bootstrap_servers": ",".join(brokers), "kafka_replication_factor": str(SIZE),
              "cassandra_contact_points": ",".join(nodes), "cassandra_replication": REPLICATION,
              "cassandra_consistency": CONSISTENCY}
    cluster = LocalCluster(folder(settings))
    cluster.folder.mkdir(parents=True, exist_ok=True)
    cluster.env_file.write_text("".join(f"{env_name(field)}={values[field]}\n" for field in FIELDS))
    return cluster
