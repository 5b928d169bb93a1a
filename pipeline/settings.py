"""Every setting of the project, in one declarative table: its environment variable, type, default and meaning.

Parsed by pydantic-settings. Defaults point at the local services that `pipeline services up` starts (Kafka on
127.0.0.1:9092, Cassandra on 127.0.0.1:9042) and at folders in the working directory. A bad value fails with
`SettingsError`, which names the variable, what it holds and the rule it broke.

Only the application layer reads settings (`get_settings()`): `pipeline.definitions` turns them into resources
(`resources.build_resources`), and the CLI, the HTTP API, the tests and the benchmarks take them from here.
Assets, checks and sensors never do: they get their values from resources, which the UI shows.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.cassandra import CONSISTENCY_LEVELS, LOCAL_REPLICATION, replication_map

_CQL_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone (e.g. Asia/Ho_Chi_Minh, UTC)") from None
    return name


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("not a date in the form YYYY-MM-DD") from None


def _keyspace(name: str) -> str:
    if not _CQL_IDENTIFIER.match(name):
        raise ValueError("a Cassandra keyspace name is a letter then up to 47 letters, digits or underscores")
    return name


def _replication(text: str) -> str:
    return ",".join(f"{dc}:{n}" for dc, n in replication_map(text).items())


def _postgres_url(url: str) -> str:
    if not url.startswith("postgresql+psycopg2://"):
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which dagster-postgres does not install.
        raise ValueError("Dagster's storage URL starts with postgresql+psycopg2:// (the driver dagster-postgres "
                         "installs)")
    return url


def _cron(text: str) -> str:
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError("a cron expression has 5 fields: minute hour day-of-month month day-of-week")
    return text


def _memory(text: str) -> str:
    if not re.fullmatch(r"[0-9]+[kKmMgGtT]?", text):
        raise ValueError("a JVM memory size such as 512m or 4g")
    return text


Zone = Annotated[str, AfterValidator(_zone)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
Keyspace = Annotated[str, AfterValidator(_keyspace)]
Replication = Annotated[str, AfterValidator(_replication)]
PostgresUrl = Annotated[str, AfterValidator(_postgres_url)]
Cron = Annotated[str, AfterValidator(_cron)]
JvmMemory = Annotated[str, AfterValidator(_memory)]
Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[int, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]

# Settings that only the local services use (`pipeline services up`): containers have neither.
LOCAL_ONLY = ("services_home", "java_home")
# Folders given relative to the working directory are made absolute when read.
_FOLDERS = ("lake_root", "services_home", "data_cache_dir", "dagster_home")


def _env(name: str) -> dict:
    """A field whose variable is not simply its upper-cased name."""
    return {"validation_alias": AliasChoices(name), "json_schema_extra": {"env": name}}


class SettingsError(ValueError):
    """A setting's value is invalid: the message names each variable, its value and the rule."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True,
                                      validate_default=True)

    # Lake
    lake_root: str = Field(".lake", description="lake root: a folder, or `s3://bucket/prefix` (MinIO or AWS)")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint for MinIO and other S3 stores "
                                                          "(MinIO: `http://127.0.0.1:9000`); unset: AWS")
    aws_region: str = Field("us-east-1", description="S3 region")
    aws_access_key_id: str | None = Field(None, description="S3 access key")
    aws_secret_access_key: str | None = Field(None, description="S3 secret key (passed to Dagster as an `EnvVar`)")
    data_cache_dir: str = Field(".cache", description="downloaded public data (the MovieLens 100k release that "
                                                      "`make movielens` fetches)")

    # Spark
    spark_master: str = Field("local[*]", description="Spark master URL")
    spark_remote: str | None = Field(None, description="a Spark Connect URL (`sc://host:15002`); wins over "
                                                       "SPARK_MASTER")
    spark_executor_python: str | None = Field(None, description="the Python a cluster's executors run (SPARK_MASTER "
                                              "`spark://…`): present on every worker with pyspark and the "
                                              "third-party packages (sessions ship the project's code); unset: "
                                              "`python3`. The local cluster's: `.services/spark/python/bin/python`")
    spark_driver_memory: JvmMemory = Field("4g", description="driver memory of local sessions")
    spark_shuffle_partitions: Positive = Field(8, description="`spark.sql.shuffle.partitions`: small machine, "
                                                              "small number")

    # Kafka
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="brokers, comma-separated host:port")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = Field(
        None, description="librdkafka `security.protocol`")
    kafka_sasl_mechanism: str | None = Field(None, description="librdkafka `sasl.mechanism` (PLAIN, SCRAM-SHA-512…)")
    kafka_sasl_username: str | None = Field(None, description="SASL user")
    kafka_sasl_password: str | None = Field(None, description="SASL password (passed to Dagster as an `EnvVar`)")
    kafka_ssl_ca_location: str | None = Field(None, description="CA bundle (PEM) that signed the brokers' "
                                              "certificates, for SSL and SASL_SSL")
    kafka_replication_factor: Positive = Field(1, description="replication of the topics the producers create")

    # Cassandra
    cassandra_contact_points: str = Field("127.0.0.1", description="Cassandra hosts, comma-separated")
    cassandra_port: Port = Field(9042, description="native protocol port")
    cassandra_username: str | None = Field(None, description="optional authentication")
    cassandra_password: str | None = Field(None, description="optional authentication (passed to Dagster as an "
                                                             "`EnvVar`)")
    cassandra_ssl_ca_file: str | None = Field(None, description="CA bundle (PEM) that signed the nodes' "
                                              "certificates: set, every connection uses TLS and checks the node's "
                                              "address against its certificate")
    cassandra_local_dc: str = Field("datacenter1", description="data centre the driver prefers")
    cassandra_reco_keyspace: Keyspace = Field("reco", description="keyspace of the recommendation and "
                                                                  "prediction tables")
    cassandra_analytics_keyspace: Keyspace = Field("university_analytics", description="keyspace of the speed, "
                                                   "serving and dashboard tables")
    cassandra_replication: Replication = Field(LOCAL_REPLICATION, description="replication of the keyspaces the "
                                               "pipeline creates (NetworkTopologyStrategy): `data_centre:replicas`, "
                                               "comma-separated; a cluster: `dc1:3`")
    cassandra_consistency: Literal[CONSISTENCY_LEVELS] = Field(
        "LOCAL_ONE", description="consistency level of every read and write; a cluster: `LOCAL_QUORUM`")

    # Local services (`pipeline services up`)
    services_home: str = Field(".services", description="configuration, data, logs and PID files of the local "
                                                        "services (with `up --auth`: their credentials, in `auth/`; "
                                                        "with `up --cluster`: the cluster's settings, in `cluster/`)")
    dagster_home: str = Field(".dagster_home", description="Dagster instance (runs, event log, schedules); the "
                                                           "project's `dagster.yaml` is copied there")
    dagster_postgres_url: PostgresUrl | None = Field(None, description="Dagster's storage in PostgreSQL "
                                                     "(`postgresql+psycopg2://user:password@host:port/db`); unset: "
                                                     "SQLite files in DAGSTER_HOME. The local server's: "
                                                     "`$(cat .services/postgres/url)`")
    java_home: str | None = Field(None, description="the JDK that runs the local services; unset: `java` on the "
                                                    "PATH")

    # Learning events
    events_source_timezone: Zone = Field("Asia/Ho_Chi_Minh", description="zone of event timestamps written "
                                                                         "without an offset")
    events_start_date: IsoDate = Field("2025-01-01", description="first daily partition; older events are "
                                                                 "quarantined")
    future_tolerance_seconds: Positive = Field(600, description="how far an event may be ahead of its Kafka "
                                               "timestamp", **_env("EVENTS_FUTURE_TOLERANCE_SECONDS"))
    quarantine_max_share: Share = Field(0.05, description="threshold of the quarantine-share checks")
    landing_max_events_per_run: Positive = Field(2_000_000, description="larger Kafka lags are split into "
                                                                        "several landing runs")
    landing_workers: Positive = Field(2, description="processes that land a batch's topic-partitions in parallel "
                                      "(disjoint partitions each) when it holds 500,000 events or more")
    # 15 s: an event reaches the speed windows (and the API) within one interval plus a landing run, < 30 s.
    landing_sensor_interval_seconds: Positive = Field(15, description="minimum time between ticks of the "
                                                      "learning-event sensor: an event reaches the speed windows "
                                                      "and the API within about this plus one landing run")
    # The rating and enrolment streams re-score users: a short interval keeps rating-to-Cassandra in seconds.
    stream_sensor_interval_seconds: Positive = Field(5, description="minimum time between ticks of the rating, "
                                                     "enrolment and feature-record sensors")
    daily_analytics_cron: Cron = Field("5 0 * * *", description="when (UTC) the daily schedule rebuilds yesterday, "
                                                                "the all-time views and the serving tables")
    landing_starting_offsets: Literal["earliest", "latest"] = Field(
        "earliest", description="where a sensor starts on a partition with nothing landed: `earliest` or `latest`")

    # Speed layer
    speed_late_tolerance_seconds: Positive = Field(120, description="how far behind the newest accepted event a "
                                                   "late event may be and still update its window")
    speed_retention_hours: Positive = Field(48, description="how far back the speed layer reaches: older events "
                                            "are left to the batch views, speed rows in Cassandra expire")

    # HTTP API (`pipeline serve`)
    api_host: str = Field("127.0.0.1", description="where `pipeline serve` listens")
    api_port: Port = Field(8000, description="port of `pipeline serve`")
    api_read_requires_key: bool = Field(False, description="whether the read endpoints also need an API key (writes "
                                                           "always do)")
    api_key_rate_per_second: Annotated[float, Field(gt=0)] = Field(
        100.0, description="requests a second one API key may make on average (429 beyond; bursts of twice this)")
    api_cors_origins: str = Field("", description="comma-separated origins allowed to call the API from a browser "
                                                  "(CORS); empty: none besides the API's own pages")

    # Recommenders and purchase prediction
    movielens_dir: str | None = Field(None, description="a MovieLens copy in the seed's layout: rating.csv or "
                                                        "ratings.csv (movie.csv, link.csv optional); unset: the 100k "
                                                        "release in DATA_CACHE_DIR")
    mooc_dir: str | None = Field(None, description="a real MOOC copy: user_course.csv (user.csv, course.csv, "
                                                   "course_map.csv optional); unset: the seeded generator")
    mooc_users: Positive = Field(10_000, description="learners the MOOC generator writes (the seed: 99,970)")
    orders_dir: str | None = Field(None, description="a real order history in the Instacart layout: orders.csv, "
                                                     "order_products__prior.csv, order_products__train.csv "
                                                     "(products.csv optional); unset: the seeded generator")
    orders_users: Positive = Field(5_000, description="users the order generator writes (Instacart: 206,209)")
    students_dir: str | None = Field(None, description="the school's student records (students.csv: grades, "
                                                       "absences, dropouts, hiring, competitors); unset: the seeded "
                                                       "generator")
    students_count: Positive = Field(3_000, description="student records the generator writes")
    model_tolerance: Annotated[float, Field(ge=0)] = Field(0.002, description="how much a new model may trail the "
                                                           "serving one on its primary metric and still be served")

    @field_validator(*_FOLDERS)
    @classmethod
    def _absolute(cls, value: str) -> str:
        return value if value.startswith(("s3://", "s3a://")) else str(Path(value).expanduser().resolve())

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_root.startswith(("s3://", "s3a://"))


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    extra = Settings.model_fields[field].json_schema_extra or {}
    return extra.get("env", field.upper())


SECRETS = ("aws_secret_access_key", "kafka_sasl_password", "cassandra_password", "dagster_postgres_url")


def shown_default(field: str) -> str:
    """A field's default as the README writes it: folders relative to the working directory, `unset` for None."""
    default = Settings.model_fields[field].default
    if default is None:
        return "unset"
    return f"./{default}" if field in _FOLDERS else str(default)


def markdown_table() -> str:
    """The README's configuration table, generated from the fields (a test keeps the README equal to it)."""
    def default(field: str) -> str:
        shown = shown_default(field)
        return shown if shown == "unset" else f"`{shown}`"

    rows = [f"| `{env_name(f)}` | {default(f)} | {info.description} |" for f, info in Settings.model_fields.items()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])


def effective_values(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value) of every setting as the project sees it now, secrets masked."""
    def shown(field: str) -> str:
        value = getattr(settings, field)
        return "unset" if value is None else "***" if field in SECRETS else str(value)

    return [(env_name(f), shown(f)) for f in Settings.model_fields]


def get_settings(**overrides) -> Settings:
    """The settings from the environment as it is now (and `overrides`, by field name); SettingsError names each
    bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        fields = {env_name(f): f for f in Settings.model_fields} | {f: f for f in Settings.model_fields}
        problems = []
        for item in error.errors():
            field = fields.get(str(item["loc"][0]), str(item["loc"][0]))
            problems.append(f"{env_name(field) if field in Settings.model_fields else field}={item['input']!r}: "
                            f"{item['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid setting" + ("s" if len(problems) > 1 else "") + ": " + "; ".join(problems)) \
            from None

