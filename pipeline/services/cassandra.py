"""Apache Cassandra 5.0 (one node) from Maven Central jars, on Java 17.

CQL on 127.0.0.1:<CASSANDRA_PORT> (9042), storage/gossip on 127.0.0.1:7000. Data, commit log, hints and
saved caches go under `-Dcassandra.storagedir`. Ready = `SELECT release_version FROM system.local` answers.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.services.jvm import HOST, JvmService
from pipeline.services.process import Progress, ServiceError, port_open

STORAGE_PORT = 7000


class Cassandra(JvmService):
    name = "cassandra"
    main_class = "org.apache.cassandra.service.CassandraDaemon"
    ready_timeout = 180.0
    download_size = "70 MB"

    @property
    def contact_points(self) -> list[str]:
        return [p.strip() for p in self.settings.cassandra_contact_points.split(",") if p.strip()]

    @property
    def endpoint(self) -> str:
        return ",".join(f"{p}:{self.settings.cassandra_port}" for p in self.contact_points)

    def ports(self) -> dict[int, str]:
        return {self.settings.cassandra_port: "Cassandra CQL", STORAGE_PORT: "Cassandra storage/gossip"}

    def prepare(self, java: str, classpath: list[str], progress: Progress) -> None:
        self.render("cassandra.yaml", "cassandra.yaml", host=HOST, storage_port=STORAGE_PORT,
                    native_port=self.settings.cassandra_port)
        self.render("cassandra-jvm17.args", "jvm17.args")
        self.render("cassandra-logback.xml", "logback.xml")
        (self.home / "triggers").mkdir(exist_ok=True)

    def jvm_args(self, classpath: list[str]) -> list[str]:
        jamm = next((jar for jar in classpath if Path(jar).name.startswith("jamm-")), None)
        if jamm is None:
            raise ServiceError("cassandra: no jamm jar on the classpath (the memory-meter agent Cassandra expects)")
        return [
            "-Xms1G", "-Xmx1G", "-Xss256k", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", f"-javaagent:{jamm}",
            f"@{self.conf_dir / 'jvm17.args'}",  # the --add-exports/--add-opens Cassandra needs on Java 17
            "-Dcassandra-foreground=yes",  # otherwise the daemon closes stdout/stderr
            f"-Dcassandra.config={(self.conf_dir / 'cassandra.yaml').as_uri()}",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dcassandra.triggers_dir={self.home / 'triggers'}",
            f"-Dcassandra.logdir={self.log_dir}",
            f"-Dlogback.configurationFile={self.conf_dir / 'logback.xml'}",
            # single-node test speed-ups: no gossip settling, no saved ring, no 10 s superuser set-up delay
            "-Dcassandra.skip_wait_for_gossip_to_settle=0", "-Dcassandra.load_ring_state=false",
            "-Dcassandra.superuser_setup_delay_ms=0",
            "-Djava.net.preferIPv4Stack=true",
        ]

    def probe(self, timeout: float) -> bool:
        if not any(port_open(p, self.settings.cassandra_port) for p in self.contact_points):
            return False
        try:
            return bool(release_version(self.contact_points, self.settings.cassandra_port, timeout))
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False


def release_version(contact_points: list[str], port: int, timeout: float) -> str:
    """`release_version` from system.local, via cassandra-driver with every timeout bounded."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout)
    cluster = Cluster(contact_points, port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=timeout, control_connection_timeout=timeout)
    try:
        session = cluster.connect()
        return session.execute("SELECT release_version FROM system.local", timeout=timeout).one().release_version
    finally:
        cluster.shutdown()
