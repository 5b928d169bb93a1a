"""Apache Cassandra 5.0 from Maven Central jars, on Java 17: one node, or the nodes of a loopback cluster.

One node: CQL on the first of CASSANDRA_CONTACT_POINTS (127.0.0.1) at CASSANDRA_PORT (9042), storage/gossip on
port 7000 of the same address. A loopback cluster (`cluster.py`): a node per contact point, every one a seed (a
new, empty cluster: nothing to stream, so they start together). Data, commit log, hints and saved caches go under
`-Dcassandra.storagedir`. Ready = `SELECT release_version FROM system.local` answers through the node. With the
home's credentials (`auth.py`) the node requires a password (PasswordAuthenticator, CassandraAuthorizer) and TLS
from every client; the role `pipeline` is created on the first start, as the default superuser `cassandra`,
whose login is then disabled.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable

from pipeline.cassandra import open_cluster
from pipeline.services.auth import USER, LocalAuth, local_auth
from pipeline.services.jvm import JvmService, loopback_host
from pipeline.services.process import Progress, ServiceError, port_open
from pipeline.settings import Settings

STORAGE_PORT = 7000
DEFAULT_SUPERUSER = ("cassandra", "cassandra")  # what PasswordAuthenticator creates on a node without roles


class Cassandra(JvmService):
    name = "cassandra"
    main_class = "org.apache.cassandra.service.CassandraDaemon"
    ready_timeout = 180.0
    download_size = "70 MB"

    def __init__(self, settings: Settings, node: int | None = None):
        """The single node, or with `node` the node at that index of CASSANDRA_CONTACT_POINTS in a cluster."""
        self.node = node
        if node is not None:
            self.name = f"cassandra-{node + 1}"
        super().__init__(settings)

    @property
    def contact_points(self) -> list[str]:
        listed = [p.strip() for p in self.settings.cassandra_contact_points.split(",") if p.strip()]
        return listed if self.node is not None else listed[:1]

    @property
    def host(self) -> str:
        return loopback_host(self.contact_points[self.node or 0], "CASSANDRA_CONTACT_POINTS")

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.settings.cassandra_port}"

    @property
    def auth(self) -> LocalAuth | None:
        return local_auth(self.settings)

    def ports(self) -> dict[int, str]:
        return {self.settings.cassandra_port: "Cassandra CQL", STORAGE_PORT: "Cassandra storage/gossip"}

    def prepare(self, java: str, classpath: list[str], progress: Progress) -> None:
        auth = self.auth
        seeds = ",".join(f"{host}:{STORAGE_PORT}" for host in self.contact_points)
        self.render("cassandra.yaml", "cassandra.yaml", host=self.host, seeds=seeds, storage_port=STORAGE_PORT,
                    native_port=self.settings.cassandra_port, security=node_security(auth) if auth else "")
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
            # local speed-ups: no gossip settling, no saved ring (the seeds tell it), no 10 s superuser set-up delay
            "-Dcassandra.skip_wait_for_gossip_to_settle=0", "-Dcassandra.load_ring_state=false",
            "-Dcassandra.superuser_setup_delay_ms=0",
            "-Djava.net.preferIPv4Stack=true",
        ]

    def probe(self, timeout: float) -> bool:
        if not port_open(self.host, self.settings.cassandra_port):
            return False
        auth = self.auth
        try:
            if auth is None:
                return bool(release_version(self.host, self.settings.cassandra_port, timeout))
            try:
                return bool(release_version(self.host, self.settings.cassandra_port, timeout, auth,
                                            (USER, auth.password(USER, "cassandra"))))
            except NoHostAvailable as error:
                if not any(isinstance(e, AuthenticationFailed) for e in error.errors.values()):
                    raise
                create_role(self.host, self.settings.cassandra_port, timeout, auth)  # the first start
                return True
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False


def node_security(auth: LocalAuth) -> str:
    """cassandra.yaml's part for a node that requires a password and TLS (the local CA's PEM key and chain)."""
    return "\n".join([
        "authenticator:", "  class_name: org.apache.cassandra.auth.PasswordAuthenticator",
        "authorizer:", "  class_name: org.apache.cassandra.auth.CassandraAuthorizer",
        "role_manager:", "  class_name: org.apache.cassandra.auth.CassandraRoleManager",
        "client_encryption_options:", "  enabled: true", "  optional: false",
        "  ssl_context_factory:", "    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory",
        f"  keystore: {auth.server_pem}",
    ])


def release_version(host: str, port: int, timeout: float, auth: LocalAuth | None = None,
                    login: tuple[str, str] | None = None) -> str:
    """`release_version` from system.local, with every timeout bounded (and the login and TLS of `auth`)."""
    cluster = _cluster(host, port, timeout, auth, login)
    try:
        session = cluster.connect()
        return session.execute("SELECT release_version FROM system.local", timeout=timeout).one().release_version
    finally:
        cluster.shutdown()


def create_role(host: str, port: int, timeout: float, auth: LocalAuth) -> None:
    """As the default superuser: the superuser role `pipeline` with the home's password; then, as `pipeline`, the
    default superuser loses its login (its well-known password must not open the node)."""
    password = auth.password(USER, "cassandra")
    for login, statement, value in (
            (DEFAULT_SUPERUSER, f"CREATE ROLE IF NOT EXISTS {USER} WITH PASSWORD = %s AND LOGIN = true "
                                f"AND SUPERUSER = true", password),
            ((USER, password), f"ALTER ROLE {DEFAULT_SUPERUSER[0]} WITH PASSWORD = %s AND LOGIN = false",
             secrets.token_urlsafe(24))):
        cluster = _cluster(host, port, timeout, auth, login)
        try:
            cluster.connect().execute(statement, (value,), timeout=timeout)
        finally:
            cluster.shutdown()


def _cluster(host: str, port: int, timeout: float, auth: LocalAuth | None, login: tuple[str, str] | None):
    """The project's driver cluster for one local node, every timeout bounded by `timeout`."""
    return open_cluster(host, port, *(login or (None, None)), local_dc="datacenter1", request_timeout=timeout,
                        connect_timeout=timeout, ssl_ca_file=str(auth.ca_file) if auth else None)
