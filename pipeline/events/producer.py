"""Publish generated learning events to their 6 Kafka topics, keyed by user_id, with progress output."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import Producer

from pipeline.events.catalogue import CATEGORIES
from pipeline.events.generator import EventGenerator, GeneratedRecord
from pipeline.kafka import client_config, ensure_topics
from pipeline.settings import Settings


@dataclass(frozen=True)
class Delivered:
    """Where a record landed in Kafka, and what the pipeline must make of it."""

    topic: str
    partition: int
    offset: int
    event_id: str
    expected_reason: str | None
    duplicate: bool


@dataclass
class ProduceReport:
    delivered: list[Delivered] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_topic(self) -> Counter:
        return Counter(d.topic for d in self.delivered)

    def summary(self) -> str:
        malformed = sum(1 for d in self.delivered if d.expected_reason)
        duplicates = sum(1 for d in self.delivered if d.duplicate)
        rate = len(self.delivered) / self.seconds if self.seconds else 0.0
        topics = ", ".join(f"{t}={n:,}" for t, n in sorted(self.per_topic.items()))
        return (
            f"produced {len(self.delivered):,} records in {self.seconds:.1f}s ({rate:,.0f}/s): "
            f"{malformed:,} malformed, {duplicates:,} duplicates; {topics}"
        )


def topic_specs() -> list[tuple[str, int, dict[str, str]]]:
    return [(c.topic, c.partitions, dict(c.topic_config)) for c in CATEGORIES]


def produce(
    kafka_config: dict[str, str],
    records: Iterable[GeneratedRecord],
    total: int,
    rate: float = 0.0,
    replication_factor: int = -1,
    progress: Callable[[str], None] | None = print,
    progress_every: float = 2.0,
) -> ProduceReport:
    """Send records (creating the topics if needed); `rate` > 0 caps events per second."""
    ensure_topics(kafka_config, topic_specs(), replication_factor=replication_factor)
    producer = Producer(
        {**kafka_config, "linger.ms": 20, "batch.size": 1_000_000, "compression.type": "lz4",
         "enable.idempotence": True, "queue.buffering.max.messages": 1_000_000}
    )
    report = ProduceReport()

    def on_delivery(record: GeneratedRecord):
        def callback(error, message):
            if error is not None:
                report.failed.append(f"{record.topic} {record.event_id}: {error}")
                return
            report.delivered.append(
                Delivered(message.topic(), message.partition(), message.offset(), record.event_id,
                          record.expected_reason.value if record.expected_reason else None, record.duplicate)
            )
        return callback

    started = last_report = time.monotonic()
    for sent, record in enumerate(records, start=1):
        while True:
            try:
                producer.produce(record.topic, value=record.value, key=record.key, on_delivery=on_delivery(record))
                break
            except BufferError:  # local queue full: let librdkafka drain it
                producer.poll(0.1)
        producer.poll(0)
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        now = time.monotonic()
        if progress and now - last_report >= progress_every:
            last_report = now
            progress(f"  {sent:,}/{total:,} ({sent / max(total, 1):.0%}), {sent / (now - started):,.0f} events/s")
    remaining = producer.flush(60)
    report.seconds = time.monotonic() - started
    if remaining:
        report.failed.append(f"{remaining} records still queued after a 60 s flush")
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} records were not delivered, first: {report.failed[0]}")
    return report


@dataclass(frozen=True)
class GeneratedEvents:
    """What `pipeline produce events` and the demo send: `count` generated events over the last `days` days."""

    count: int = 10_000
    days: float = 1.0
    rate: float = 0.0  # events per second, 0 = as fast as possible
    seed: int = 42
    malformed_fraction: float = 0.0
    duplicate_fraction: float = 0.0
    timestamp_format: str = "mixed"

    def produce(self, settings: Settings, progress: Callable[[str], None] = print) -> ProduceReport:
        generator = EventGenerator(seed=self.seed, days=self.days, source_timezone=settings.events_source_timezone,
                                   timestamp_format=self.timestamp_format,
                                   malformed_fraction=self.malformed_fraction,
                                   duplicate_fraction=self.duplicate_fraction)
        progress(f"producing {self.count:,} learning events over {self.days} day(s) to "
                 f"{settings.kafka_bootstrap_servers} (seed {self.seed}, {self.malformed_fraction:.1%} malformed, "
                 f"{self.duplicate_fraction:.1%} duplicates)")
        report = produce(client_config(settings), generator.generate(self.count), self.count, rate=self.rate,
                         replication_factor=settings.kafka_replication_factor, progress=progress)
        progress(report.summary())
        return report
