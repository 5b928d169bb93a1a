"""Small confluent-kafka helpers shared by the producer, the landing and the sensor.

Every call that talks to the broker has an explicit timeout: a sensor tick must never hang (Dagster's
sensor gRPC timeout is 60 s). The first call of each path (`watermarks`, `ensure_topics`) goes through
`connected`, so brokers that cannot be reached, refuse the credentials or fail TLS give `KafkaUnavailable` naming
the settings to check, within a second or two, instead of librdkafka's "Broker transport failure" at the timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.settings import Settings


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how to authenticate: the one home of the librdkafka connection settings."""

    bootstrap_servers: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> KafkaConnection:
        return cls(settings.kafka_bootstrap_servers, settings.kafka_security_protocol, settings.kafka_sasl_mechanism,
                   settings.kafka_sasl_username, settings.kafka_sasl_password, settings.kafka_ssl_ca_location)

    def client_config(self) -> dict[str, str]:
        """librdkafka settings common to producers, consumers and admin clients (SASL/SSL passed through)."""
        optional = {
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
            "ssl.ca.location": self.ssl_ca_location,
        }
        return {"bootstrap.servers": self.bootstrap_servers, **{k: v for k, v in optional.items() if v}}


def client_config(settings: Settings) -> dict[str, str]:
    return KafkaConnection.of(settings).client_config()


class KafkaUnavailable(RuntimeError):
    """The brokers did not answer: the message says why (from librdkafka's log) and which settings to check."""


# What librdkafka logs when it cannot get through, and what to tell (checked in this order).
_DIAGNOSES = (
    ("SASL authentication error", "it refused the credentials: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and "
                                  "KAFKA_SASL_MECHANISM"),
    ("SSL handshake failed", "TLS failed: check that KAFKA_SSL_CA_LOCATION is the CA that signed the brokers' "
                             "certificates"),
    ("APIVERSION_QUERY", "it closed the connection without an answer: does it require TLS or SASL "
                         "(KAFKA_SECURITY_PROTOCOL and the KAFKA_SASL_* settings)?"),
    ("Connection refused", "nothing listens there: is it running, and does KAFKA_BOOTSTRAP_SERVERS name it?"),
)
_NO_DIAGNOSIS = "is it running, and does KAFKA_BOOTSTRAP_SERVERS name it?"


class _Failures(logging.Handler):
    """Keeps the connection failures librdkafka logs (instead of printing them on stderr)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "FAIL" in record.getMessage() or record.levelno >= logging.ERROR:
            self.lines.append(record.getMessage())

    def diagnosis(self, servers: list[str]) -> str | None:
        """What every one of `servers` failed with (None while one of them has not failed: on a cluster, one
        broker down is no reason to give up; the others answer)."""
        for marker, advice in _DIAGNOSES:
            failed = [line for line in self.lines if marker in line]
            if failed and all(any(server in line for line in failed) for server in servers):
                return advice
        return None


Client = TypeVar("Client")


def connected(make: Callable[[dict], Client], config: dict[str, str], timeout: float) -> tuple[Client, object]:
    """A client made by `make` (Consumer, AdminClient) and the cluster's metadata, or KafkaUnavailable. Metadata
    is asked for a second at a time, so that a refusal that librdkafka logged ends the wait at once."""
    failures = _Failures()
    logger = logging.Logger("pipeline.kafka.client")  # unregistered: one per client, gone with it
    logger.parent = logging.getLogger(__name__)  # the records still reach the application's logging
    logger.setLevel(logging.INFO)  # librdkafka logs a closed connection at INFO
    logger.addHandler(failures)
    servers = config.get("bootstrap.servers")
    listed = [server.strip() for server in (servers or "").split(",") if server.strip()]
    try:
        client = make({**config, "logger": logger})
    except KafkaException as error:  # a setting librdkafka refuses at once, e.g. a CA file that does not exist
        raise KafkaUnavailable(f"Kafka client settings refused ({error.args[0].str()}): check the KAFKA_* "
                               f"settings (KAFKA_SSL_CA_LOCATION names a file?)") from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client, client.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as error:
            client.poll(0)  # hands librdkafka's queued log lines to `logger`
            diagnosis = failures.diagnosis(listed)
            if diagnosis is None and time.monotonic() < deadline:
                continue
            if hasattr(client, "close"):
                client.close()
            raise KafkaUnavailable(f"Kafka at {servers} cannot be used as configured ({diagnosis or _NO_DIAGNOSIS}): "
                                   f"{error.args[0].str()}") from None


def probe_consumer(config: dict[str, str]) -> Consumer:
    """A consumer that never joins its group and never commits: for watermarks and `assign()` reads."""
    return Consumer(
        {
            **config,
            "group.id": "pipeline-landing",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "socket.timeout.ms": 10000,
            # Large fetches: the landing reads whole ranges sequentially.
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            "fetch.wait.max.ms": 10,
        }
    )


def watermarks(config: dict[str, str], topics: Iterable[str], timeout: float = 10.0) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) offsets of every partition of the given topics that exist; missing topics are left out.

    A topic created moments ago is listed before its partitions have a leader, and the broker then answers
    NOT_LEADER_FOR_PARTITION: such leadership errors are retried until `timeout`, the others raised at once.
    """
    deadline = time.monotonic() + timeout
    consumer, metadata = connected(probe_consumer, config, timeout)
    try:
        result = {}
        for topic in topics:
            topic_metadata = metadata.topics.get(topic)
            if topic_metadata is None or topic_metadata.error is not None:
                continue
            for partition in topic_metadata.partitions:
                result[(topic, partition)] = _watermark(consumer, TopicPartition(topic, partition), deadline)
        return result
    finally:
        consumer.close()


# Errors a partition gives while its leader is being elected (librdkafka does not flag them retriable here).
_LEADERSHIP_ERRORS = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _watermark(consumer: Consumer, partition: TopicPartition, deadline: float) -> tuple[int, int]:
    while True:
        try:
            return consumer.get_watermark_offsets(
                partition, timeout=max(deadline - time.monotonic(), 0.1), cached=False
            )
        except KafkaException as exc:
            if exc.args[0].code() not in _LEADERSHIP_ERRORS or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ensure_topics(
    config: dict[str, str],
    specs: Iterable[tuple[str, int, dict[str, str]]],
    replication_factor: int = -1,
    timeout: float = 30.0,
) -> list[str]:
    """Create the (topic, partitions, config) topics that do not exist yet, `replication_factor` copies each (-1:
    the brokers' default.replication.factor); return the ones created. (Their
    partitions may still be electing a leader: `watermarks` waits that out, producers retry by themselves.)"""
    admin, metadata = connected(AdminClient, config, timeout)
    existing = set(metadata.topics)
    new = [
        NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor, config=topic_config)
        for topic, partitions, topic_config in specs
        if topic not in existing
    ]
    if not new:
        return []
    for topic, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:  # created concurrently by someone else: fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return [t.topic for t in new]
