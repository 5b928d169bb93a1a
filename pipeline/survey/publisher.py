"""Publishing accepted survey submissions to Kafka, answered only once Kafka confirmed them.

One idempotent producer per process (acks from all in-sync replicas); a thread serves its delivery callbacks,
which resolve the waiting request's future, so a request never blocks the event loop and many can be in flight.
A submission Kafka did not confirm within `timeout` seconds fails with `NotConfirmed` (the HTTP answer is 503): the
client retries with the same submission id, which the cleaned table counts once.
"""

from __future__ import annotations

import asyncio
import threading

from confluent_kafka import KafkaException, Producer

from pipeline.kafka import ensure_topics


class NotConfirmed(RuntimeError):
    pass


class SurveyPublisher:
    def __init__(self, kafka_config: dict[str, str], topic: str, timeout: float = 5.0, replication_factor: int = 1):
        self.topic, self.timeout = topic, timeout
        self.kafka_config, self.replication_factor = kafka_config, replication_factor
        self.producer = Producer({**kafka_config, "enable.idempotence": True, "acks": "all", "linger.ms": 2,
                                  "message.timeout.ms": int(timeout * 1000)})
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._serve_callbacks, name="survey-publisher", daemon=True)
        self._poller.start()

    def _serve_callbacks(self) -> None:
        while not self._stopping.is_set():
            self.producer.poll(0.05)

    def ensure_topic(self) -> None:
        """Create the topic if needed (1 partition, like the other streams); raises when Kafka does not answer."""
        ensure_topics(self.kafka_config, [(self.topic, 1, {})], self.replication_factor, timeout=self.timeout)

    async def publish(self, key: bytes, value: bytes) -> tuple[int, int]:
        """(partition, offset) of the record once Kafka confirmed it; NotConfirmed otherwise."""
        loop = asyncio.get_running_loop()
        confirmed: asyncio.Future = loop.create_future()
        result: dict = {}

        def settle() -> None:  # on the event loop; the request may have timed out meanwhile
            if not confirmed.done():
                confirmed.set_result(None)

        def delivered(error, message) -> None:  # on the poller thread
            result["error"], result["message"] = error, message
            loop.call_soon_threadsafe(settle)

        try:
            self.producer.produce(self.topic, key=key, value=value, on_delivery=delivered)
        except (BufferError, KafkaException) as error:
            raise NotConfirmed(f"Kafka did not take the submission: {error}") from None
        try:
            await asyncio.wait_for(confirmed, self.timeout + 1)
        except TimeoutError:
            raise NotConfirmed(f"Kafka did not confirm the submission within {self.timeout:.0f} s") from None
        if result["error"]:
            raise NotConfirmed(f"Kafka did not confirm the submission: {result['error']}")
        return result["message"].partition(), result["message"].offset()

    def close(self) -> None:
        self._stopping.set()
        self._poller.join(timeout=5)
        self.producer.flush(self.timeout)
        del self.producer  # librdkafka's threads (and their reconnect attempts) end with the last reference
