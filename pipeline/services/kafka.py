"""Apache Kafka 4.3 (KRaft, combined broker+controller nodes) from Maven Central jars.

One node: the broker on the first host:port of KAFKA_BOOTSTRAP_SERVERS (127.0.0.1:9092), its controller on the
next port (9093). A loopback cluster (`cluster.py`): a node per address of the list, every one also a voter of
the controller quorum, topics replicated 3 times with min.insync.replicas 2. Storage is formatted once with
`kafka.tools.StorageTool` (the static voters). Ready = a message produced to the health topic through the node
is consumed back. With the home's credentials (`auth.py`) the broker's listener is SASL_SSL: SCRAM-SHA-512 users
`pipeline` and `broker` (its own, between brokers), created when the storage is formatted, and TLS with the local
CA's server certificate.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.kafka import KafkaConnection
from pipeline.services.auth import BROKER_USER, SCRAM, USER, LocalAuth, local_auth
from pipeline.services.jvm import JvmService, loopback_host
from pipeline.services.process import Progress, ServiceError, port_open, tail
from pipeline.settings import Settings

HEALTH_TOPIC = "_pipeline_services_health"

_quiet = logging.getLogger("pipeline.services.kafka.probe")  # librdkafka's "connection refused" while starting
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class Kafka(JvmService):
    name = "kafka"
    main_class = "kafka.Kafka"
    ready_timeout = 90.0
    download_size = "45 MB"

    def __init__(self, settings: Settings, node: int | None = None):
        """The single broker, or with `node` the broker at that index of KAFKA_BOOTSTRAP_SERVERS in a cluster."""
        self.node = node
        if node is not None:
            self.name = f"kafka-{node + 1}"
        super().__init__(settings)

    @property
    def brokers(self) -> list[tuple[str, int]]:
        """(host, port) of every broker of the cluster (of the first address, for the single broker)."""
        listed = [b.strip() for b in self.settings.kafka_bootstrap_servers.split(",") if b.strip()]
        pairs = [(b.rpartition(":")[0], int(b.rpartition(":")[2])) if ":" in b else (b, 9092) for b in listed]
        return pairs if self.node is not None else pairs[:1]

    @property
    def host(self) -> str:
        return loopback_host(self.brokers[self.node or 0][0], "KAFKA_BOOTSTRAP_SERVERS")

    @property
    def broker_port(self) -> int:
        return self.brokers[self.node or 0][1]

    @property
    def replicas(self) -> int:
        return len(self.brokers)

    @property
    def auth(self) -> LocalAuth | None:
        return local_auth(self.settings)

    @property
    def scram_marker(self) -> Path:
        """Written when the storage was formatted with the SCRAM users (an earlier one has none)."""
        return self.data_dir / "scram-users"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.broker_port}"

    def ports(self) -> dict[int, str]:
        return {self.broker_port: "Kafka broker", self.broker_port + 1: "Kafka KRaft controller"}

    def logging_args(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={(self.conf_dir / 'log4j2.properties').as_uri()}",
                f"-Dkafka.logs.dir={self.log_dir}"]

    def prepare(self, java: str, classpath: list[str], progress: Progress) -> None:
        auth = self.auth
        voters = ",".join(f"{n}@{host}:{port + 1}" for n, (host, port) in enumerate(self.brokers, start=1))
        properties = self.render("kafka-server.properties", "server.properties", node_id=(self.node or 0) + 1,
                                 voters=voters, host=self.host, broker_port=self.broker_port,
                                 controller_port=self.broker_port + 1, log_dirs=self.data_dir,
                                 replicas=self.replicas, min_insync=min(2, self.replicas),
                                 listener="SASL_SSL" if auth else "PLAINTEXT",
                                 security=broker_security(auth) if auth else "", secret=auth is not None)
        self.render("kafka-log4j2.properties", "log4j2.properties")
        if (self.data_dir / "meta.properties").exists():
            if auth and not self.scram_marker.exists():
                raise ServiceError(f"kafka: its storage under {self.data_dir} was made without authentication, so it "
                                   f"has no SCRAM users; remove that folder (its topics go with it) or use another "
                                   f"SERVICES_HOME for `pipeline services up --auth`")
            return
        progress("kafka: formatting the KRaft storage (first start only)")
        format_log = self.log_dir / "format.log"
        users = [arg for user in (USER, BROKER_USER) for arg in
                 ("--add-scram", f"{SCRAM}=[name={user},password={auth.password(user, 'kafka')}]")] if auth else []
        command = [java, "-Xmx256m", *self.logging_args(), "-cp", os.pathsep.join(classpath), "kafka.tools.StorageTool",
                   "format", "-t", self.cluster_id(), "-c", str(properties), "--ignore-formatted", *users]
        with open(format_log, "w") as out:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=self.home, timeout=120).returncode
        if code != 0:
            raise ServiceError(f"kafka: formatting the storage failed (exit code {code}); "
                               f"last lines of {format_log}:\n{tail(format_log)}")
        if auth:
            self.scram_marker.write_text(f"{USER}\n{BROKER_USER}\n")

    def cluster_id(self) -> str:
        """A random id for the single broker; for a cluster's, one id its nodes share: derived from the home."""
        if self.node is None:
            return new_cluster_id()
        return new_cluster_id(uuid.uuid5(uuid.NAMESPACE_URL, str(self.home.parent)))

    def jvm_args(self, classpath: list[str]) -> list[str]:
        tmp = self.home / "tmp"  # snappy/zstd unpack native libraries here, in case /tmp is noexec
        tmp.mkdir(exist_ok=True)
        # A fixed heap, touched at start (Kafka's advice: -Xms = -Xmx): the broker's memory does not creep up
        # over hours as G1 grows its heap, and running out shows as a dead broker, not as a slow one.
        return ["-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                "-Djava.net.preferIPv4Stack=true", f"-Dorg.xerial.snappy.tempdir={tmp}", f"-DZstdTempFolder={tmp}",
                *self.logging_args()]

    def main_args(self) -> list[str]:
        return [str(self.conf_dir / "server.properties")]

    def client_config(self) -> dict[str, str]:
        """How a client reaches this broker (and no other): with the home's credentials when it has them."""
        auth = self.auth
        update = {**(auth.fields() if auth else {}), "kafka_bootstrap_servers": self.endpoint}
        return KafkaConnection.of(self.settings.model_copy(update=update)).client_config()

    def probe(self, timeout: float) -> bool:
        if not port_open(self.host, self.broker_port):
            return False
        try:
            return round_trip(self.client_config(), timeout, self.replicas)
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False


def broker_security(auth: LocalAuth) -> str:
    """The broker's SASL_SSL settings: SCRAM for clients and for itself, TLS from the local CA's PEM files."""
    password = auth.password(BROKER_USER, "kafka")
    return "\n".join([
        f"sasl.enabled.mechanisms={SCRAM}",
        f"sasl.mechanism.inter.broker.protocol={SCRAM}",
        f"listener.name.sasl_ssl.{SCRAM.lower()}.sasl.jaas.config=org.apache.kafka.common.security.scram."
        f'ScramLoginModule required username="{BROKER_USER}" password="{password}";',
        "ssl.keystore.type=PEM", f"ssl.keystore.location={auth.server_pem}",
        "ssl.truststore.type=PEM", f"ssl.truststore.location={auth.ca_file}",
    ])


def new_cluster_id(seed: uuid.UUID | None = None) -> str:
    """A Kafka cluster id (base64url UUID, not starting with '-', like `kafka-storage random-uuid`): random, or
    derived from `seed`."""
    candidate = seed or uuid.uuid4()
    while True:
        cluster_id = base64.urlsafe_b64encode(candidate.bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
        candidate = uuid.uuid5(candidate, "next") if seed else uuid.uuid4()


def round_trip(client_config: dict[str, str], timeout: float, replicas: int = 1) -> bool:
    """Produce a unique message to the health topic (`replicas` copies) and read it back, within `timeout` s."""
    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(0.1, deadline - time.monotonic())

    config = {**client_config, "logger": _quiet, "socket.timeout.ms": int(timeout * 1000)}
    admin = AdminClient(config)
    if HEALTH_TOPIC not in admin.list_topics(timeout=left()).topics:
        future = admin.create_topics([NewTopic(HEALTH_TOPIC, 1, replicas, config={"retention.ms": "3600000"})],
                                     request_timeout=left())[HEALTH_TOPIC]
        try:
            future.result(timeout=left())
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    token = uuid.uuid4().hex.encode()
    delivered = []
    producer = Producer({**config, "message.timeout.ms": int(left() * 1000)})
    producer.produce(HEALTH_TOPIC, token, on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(left())
    if not delivered or delivered[0][0] is not None:
        return False
    message = delivered[0][1]
    consumer = Consumer({**config, "group.id": "pipeline-services-health", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(HEALTH_TOPIC, message.partition(), message.offset())])
        while time.monotonic() < deadline:
            record = consumer.poll(min(1.0, left()))
            if record is not None and record.error() is None and record.value() == token:
                return True
        return False
    finally:
        consumer.close()
