"""KafkaResource: where the brokers are and how to authenticate; hands out confluent-kafka settings."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from pipeline import kafka
from pipeline.settings import Settings


class KafkaResource(dg.ConfigurableResource):
    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: str | None = Field(default=None, description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
    sasl_mechanism: str | None = Field(default=None, description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...")
    sasl_username: str | None = Field(default=None)
    sasl_password: str | None = Field(default=None)
    ssl_ca_location: str | None = Field(default=None, description="CA bundle for SSL.")
    watermark_timeout_seconds: float = Field(default=10.0, description="Per-call timeout when reading offsets.")

    def client_config(self) -> dict[str, str]:
        return kafka.client_config(
            Settings(
                kafka_bootstrap_servers=self.bootstrap_servers,
                kafka_security_protocol=self.security_protocol,
                kafka_sasl_mechanism=self.sasl_mechanism,
                kafka_sasl_username=self.sasl_username,
                kafka_sasl_password=self.sasl_password,
                kafka_ssl_ca_location=self.ssl_ca_location,
            )
        )

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(low, high) watermark of every partition of the topics; never consumes, never commits."""
        return kafka.watermarks(self.client_config(), topics, timeout=self.watermark_timeout_seconds)
