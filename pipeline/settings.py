"""Every setting of the project: its environment variable, its default, in one place.

Defaults point at the local services that `pipeline services up` starts (Kafka on 127.0.0.1:9092,
Cassandra on 127.0.0.1:9042) and at a lake folder in the working directory. Read through
`get_settings()`, which reads the environment on every call so tests and CLI flags can override it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@dataclass(frozen=True)
class Settings:
    # Lake: a local folder or s3://bucket/prefix (MinIO or AWS through S3_ENDPOINT_URL).
    lake_root: str = field(default_factory=lambda: _env("LAKE_ROOT", str(Path.cwd() / ".lake")))
    s3_endpoint_url: str | None = field(default_factory=lambda: _optional("S3_ENDPOINT_URL"))
    aws_region: str = field(default_factory=lambda: _env("AWS_REGION", "us-east-1"))
    aws_access_key_id: str | None = field(default_factory=lambda: _optional("AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: str | None = field(default_factory=lambda: _optional("AWS_SECRET_ACCESS_KEY"))

    # Spark: local[*] by default; a standalone master URL, or a Spark Connect URL (sc://host:15002).
    spark_master: str = field(default_factory=lambda: _env("SPARK_MASTER", "local[*]"))
    spark_remote: str | None = field(default_factory=lambda: _optional("SPARK_REMOTE"))
    spark_driver_memory: str = field(default_factory=lambda: _env("SPARK_DRIVER_MEMORY", "4g"))
    spark_shuffle_partitions: int = field(default_factory=lambda: int(_env("SPARK_SHUFFLE_PARTITIONS", "8")))

    # Kafka: bootstrap servers plus optional SASL/SSL settings passed through to librdkafka.
    kafka_bootstrap_servers: str = field(default_factory=lambda: _env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    kafka_security_protocol: str | None = field(default_factory=lambda: _optional("KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: str | None = field(default_factory=lambda: _optional("KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str | None = field(default_factory=lambda: _optional("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: str | None = field(default_factory=lambda: _optional("KAFKA_SASL_PASSWORD"))
    kafka_ssl_ca_location: str | None = field(default_factory=lambda: _optional("KAFKA_SSL_CA_LOCATION"))
    kafka_replication_factor: int = field(default_factory=lambda: int(_env("KAFKA_REPLICATION_FACTOR", "1")))

    # Cassandra.
    cassandra_contact_points: str = field(default_factory=lambda: _env("CASSANDRA_CONTACT_POINTS", "127.0.0.1"))
    cassandra_port: int = field(default_factory=lambda: int(_env("CASSANDRA_PORT", "9042")))
    cassandra_username: str | None = field(default_factory=lambda: _optional("CASSANDRA_USERNAME"))
    cassandra_password: str | None = field(default_factory=lambda: _optional("CASSANDRA_PASSWORD"))
    cassandra_local_dc: str = field(default_factory=lambda: _env("CASSANDRA_LOCAL_DC", "datacenter1"))
    cassandra_reco_keyspace: str = field(default_factory=lambda: _env("CASSANDRA_RECO_KEYSPACE", "reco"))
    cassandra_analytics_keyspace: str = field(
        default_factory=lambda: _env("CASSANDRA_ANALYTICS_KEYSPACE", "university_analytics")
    )
    cassandra_replication_factor: int = field(
        default_factory=lambda: int(_env("CASSANDRA_REPLICATION_FACTOR", "1"))
    )

    # Local services started by `pipeline services up` (logs, data and PID files live here; git-ignored).
    services_home: str = field(default_factory=lambda: _env("SERVICES_HOME", str(Path.cwd() / ".services")))
    java_home: str | None = field(default_factory=lambda: _optional("JAVA_HOME"))

    # Learning events.
    events_source_timezone: str = field(default_factory=lambda: _env("EVENTS_SOURCE_TIMEZONE", "Asia/Ho_Chi_Minh"))
    events_start_date: str = field(default_factory=lambda: _env("EVENTS_START_DATE", "2025-01-01"))
    future_tolerance_seconds: int = field(default_factory=lambda: int(_env("EVENTS_FUTURE_TOLERANCE_SECONDS", "600")))
    quarantine_max_share: float = field(default_factory=lambda: float(_env("QUARANTINE_MAX_SHARE", "0.05")))

    # Landing: how the Kafka sensor cuts batches.
    landing_max_events_per_run: int = field(
        default_factory=lambda: int(_env("LANDING_MAX_EVENTS_PER_RUN", "2000000"))
    )
    # 15 s: an event reaches the speed windows (and the API) within one interval plus a landing run, < 30 s.
    landing_sensor_interval_seconds: int = field(
        default_factory=lambda: int(_env("LANDING_SENSOR_INTERVAL_SECONDS", "15"))
    )
    # The rating and enrolment streams re-score users: a short interval keeps rating-to-Cassandra in seconds.
    stream_sensor_interval_seconds: int = field(
        default_factory=lambda: int(_env("STREAM_SENSOR_INTERVAL_SECONDS", "5"))
    )
    # The daily rebuild of yesterday (cleaned tables, date-keyed views, all-time views, serving tables), UTC.
    daily_analytics_cron: str = field(default_factory=lambda: _env("DAILY_ANALYTICS_CRON", "5 0 * * *"))
    landing_starting_offsets: str = field(default_factory=lambda: _env("LANDING_STARTING_OFFSETS", "earliest"))

    # Speed layer: events later than this behind the newest accepted one are left to the batch layer.
    speed_late_tolerance_seconds: int = field(
        default_factory=lambda: int(_env("SPEED_LATE_TOLERANCE_SECONDS", "120"))
    )
    # How far back the speed layer reaches (the API asks for at most 48 hours of windows); older days are the
    # batch layer's, and speed rows in Cassandra expire after it.
    speed_retention_hours: int = field(default_factory=lambda: int(_env("SPEED_RETENTION_HOURS", "48")))
    # The HTTP API (`pipeline serve`).
    api_host: str = field(default_factory=lambda: _env("API_HOST", "127.0.0.1"))
    api_port: int = field(default_factory=lambda: int(_env("API_PORT", "8000")))

    # Recommenders: MovieLens is read from a real copy (default: the 100k release bundled with recbole); the MOOC
    # data comes from the seeded generator, sized by MOOC_USERS, unless MOOC_DIR points at a real copy.
    movielens_dir: str | None = field(default_factory=lambda: _optional("MOVIELENS_DIR"))
    mooc_dir: str | None = field(default_factory=lambda: _optional("MOOC_DIR"))
    mooc_users: int = field(default_factory=lambda: int(_env("MOOC_USERS", "10000")))
    # Purchase prediction: the order history from the seeded generator (ORDERS_USERS users), unless ORDERS_DIR
    # points at a real copy in the Instacart / "imba" layout.
    orders_dir: str | None = field(default_factory=lambda: _optional("ORDERS_DIR"))
    orders_users: int = field(default_factory=lambda: int(_env("ORDERS_USERS", "5000")))
    # A new model may trail the one it replaces by this much on its primary metric and still pass.
    model_tolerance: float = field(default_factory=lambda: float(_env("MODEL_TOLERANCE", "0.002")))

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_root.startswith(("s3://", "s3a://"))


def get_settings() -> Settings:
    return Settings()
