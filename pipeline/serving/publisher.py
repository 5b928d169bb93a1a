"""Publishing what the HTTP API accepted (survey submissions, learning events, course interactions, ratings) to
Kafka, answered only once Kafka confirmed it.

One idempotent producer per process (acks from all in-sync replicas); a thread serves its delivery callbacks,
which resolve the waiting requests' futures, so a request never blocks the event loop and many can be in flight.
What Kafka did not confirm within `timeout` seconds fails with `NotConfirmed` (the HTTP answer is 503): the client
retries with the same idempotency key (submission id, event id, ...), which the cleaned tables count once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from confluent_kafka import KafkaException, Producer

from pipeline.kafka import ensure_topics

Record = tuple[str, bytes | None, bytes]  # topic, key, value


class NotConfirmed(RuntimeError):
    pass


class KafkaPublisher:
    def __init__(self, kafka_config: dict[str, str], timeout: float = 5.0, replication_factor: int = -1):
        self.timeout = timeout
        self.kafka_config, self.replication_factor = kafka_config, replication_factor
        self.producer = Producer({**kafka_config, "enable.idempotence": True, "acks": "all", "linger.ms": 2,
                                  "message.timeout.ms": int(timeout * 1000)})
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._serve_callbacks, name="kafka-publisher", daemon=True)
        self._poller.start()

    def _serve_callbacks(self) -> None:
        while not self._stopping.is_set():
            self.producer.poll(0.05)

    def ensure_topics(self, specs: Sequence[tuple[str, int, dict[str, str]]]) -> None:
        """Create the (topic, partitions, config) topics if needed; raises when Kafka does not answer."""
        ensure_topics(self.kafka_config, list(specs), self.replication_factor, timeout=self.timeout)

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> tuple[int, int]:
        """(partition, offset) of the record once Kafka confirmed it; NotConfirmed otherwise."""
        [position] = await self.publish_all([(topic, key, value)])
        return position

    async def publish_all(self, records: Sequence[Record]) -> list[tuple[int, int]]:
        """(partition, offset) of each record once Kafka confirmed all of them; NotConfirmed when it did not
        confirm one (the others may be in Kafka: a retry with the same keys is counted once downstream)."""
        loop = asyncio.get_running_loop()
        everything_settled: asyncio.Future = loop.create_future()
        results: list = [None] * len(records)
        pending = [len(records)]  # counted down on the poller thread: the event loop is woken once per request

        def settle() -> None:  # on the event loop; the request may have timed out meanwhile
            if not everything_settled.done():
                everything_settled.set_result(None)

        def delivered(index: int):
            def callback(error, message) -> None:  # on the poller thread, the only one that counts down
                results[index] = (error, message)
                pending[0] -= 1
                if pending[0] == 0:
                    loop.call_soon_threadsafe(settle)
            return callback

        try:
            for index, (topic, key, value) in enumerate(records):
                self.producer.produce(topic, key=key, value=value, on_delivery=delivered(index))
        except (BufferError, KafkaException) as error:
            raise NotConfirmed(f"Kafka did not take the records: {error}") from None
        if not records:
            return []
        try:
            await asyncio.wait_for(everything_settled, self.timeout + 1)
        except TimeoutError:
            raise NotConfirmed(f"Kafka did not confirm within {self.timeout:.0f} s") from None
        if errors := [error for error, _ in results if error]:
            raise NotConfirmed(f"Kafka did not confirm {len(errors)} of {len(records)} records: {errors[0]}")
        return [(message.partition(), message.offset()) for _, message in results]

    def close(self) -> None:
        self._stopping.set()
        self._poller.join(timeout=5)
        self.producer.flush(self.timeout)
        del self.producer  # librdkafka's threads (and their reconnect attempts) end with the last reference
