"""Deleting and re-creating Kafka topics in tests, so a test sees only the records it produced."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from pipeline.kafka import client_config, ensure_topics, watermarks
from pipeline.settings import Settings


def delete_topics(config: dict[str, str], names: list[str], timeout: float = 60.0) -> float:
    """Delete the topics among `names` that exist and wait until the broker no longer lists them; returns the
    deadline (time.monotonic()) for whatever the caller does next."""
    admin = AdminClient(config)
    existing = [n for n in names if n in admin.list_topics(timeout=10).topics]
    if existing:
        for future in admin.delete_topics(existing, operation_timeout=30).values():
            future.result(timeout=30)
    deadline = time.monotonic() + timeout
    while set(names) & set(admin.list_topics(timeout=10).topics):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {sorted(set(names))} were not deleted within {timeout:.0f} s")
        time.sleep(0.5)
    return deadline


def recreate_topics(config: dict[str, str], specs: Iterable[tuple[str, int, dict[str, str]]]) -> list[str]:
    """Delete the (topic, partitions, config) topics and create them empty; returns the topics created."""
    specs = list(specs)
    deadline = delete_topics(config, [name for name, _, _ in specs])
    while True:
        try:
            return ensure_topics(config, specs)
        except Exception as exc:  # the broker may still be finishing the deletion
            if time.monotonic() > deadline:
                raise
            print(f"re-creating topics: {exc}")
            time.sleep(1)


def records_of(settings: Settings, topics: list[str]) -> list[tuple[str, bytes, bytes]]:
    """Every record of `topics`: (topic, key, value)."""
    config = client_config(settings)
    ends = {tp: high for tp, (_, high) in watermarks(config, topics).items() if high}
    consumer = Consumer({**config, "group.id": "ingest-test", "enable.auto.commit": False})
    records = []
    try:
        consumer.assign([TopicPartition(topic, partition, 0) for topic, partition in ends])
        while len(records) < sum(ends.values()):
            message = consumer.poll(10)
            assert message is not None and message.error() is None
            records.append((message.topic(), message.key(), message.value()))
    finally:
        consumer.close()
    return records
