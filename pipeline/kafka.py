"""Small confluent-kafka helpers shared by the producer, the landing and the sensor.

Every call that talks to the broker has an explicit timeout: a sensor tick must never hang (Dagster's
sensor gRPC timeout is 60 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

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
    consumer = probe_consumer(config)
    try:
        metadata = consumer.list_topics(timeout=timeout)
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
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> list[str]:
    """Create the (topic, partitions, config) topics that do not exist yet; return the ones created. (Their
    partitions may still be electing a leader: `watermarks` waits that out, producers retry by themselves.)"""
    admin = AdminClient(config)
    existing = set(admin.list_topics(timeout=timeout).topics)
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
