"""KafkaResource: where the brokers are and how to authenticate; hands out confluent-kafka settings."""

from __future__ import annotations

from dataclasses import fields

import dagster as dg
from pydantic import Field

from pipeline import kafka
from resources.secrets import revealed


class KafkaResource(dg.ConfigurableResource):
    """The fields of `pipeline.kafka.KafkaConnection`, so the UI shows them (the password as an EnvVar name)."""

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: str | None = Field(default=None, description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
    sasl_mechanism: str | None = Field(default=None, description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...")
    sasl_username: str | None = Field(default=None)
    sasl_password: str | None = Field(default=None)
    ssl_ca_location: str | None = Field(default=None, description="CA bundle for SSL.")
    replication_factor: int = Field(default=1, description="Replication of the topics the producers create.")
    watermark_timeout_seconds: float = Field(default=10.0, description="Per-call timeout when reading offsets.")

    def connection(self) -> kafka.KafkaConnection:
        values = {f.name: getattr(self, f.name) for f in fields(kafka.KafkaConnection)}
        return kafka.KafkaConnection(**values | {"sasl_password": revealed(self.sasl_password)})

    def client_config(self) -> dict[str, str]:
        return self.connection().client_config()

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(low, high) watermark of every partition of the topics; never consumes, never commits."""
        return kafka.watermarks(self.client_config(), topics, timeout=self.watermark_timeout_seconds)
