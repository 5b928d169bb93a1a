"""The settings table: every variable parses, a bad value names its variable, the README lists the same table,
and the resources carry the values (nothing else reads the environment)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import Settings, SettingsError, env_name, get_settings, markdown_table
from resources import build_resources

ROOT = Path(__file__).resolve().parents[1]

# A valid value for every variable, different from its default, and how the project must read it back.
VALID = {
    "LAKE_ROOT": ("s3://bucket/lake", "s3://bucket/lake"),
    "S3_ENDPOINT_URL": ("http://minio:9000", "http://minio:9000"),
    "AWS_REGION": ("eu-west-3", "eu-west-3"),
    "AWS_ACCESS_KEY_ID": ("key", "key"),
    "AWS_SECRET_ACCESS_KEY": ("secret", "secret"),
    "DATA_CACHE_DIR": ("/data/cache", "/data/cache"),
    "SPARK_MASTER": ("spark://master:7077", "spark://master:7077"),
    "SPARK_REMOTE": ("sc://spark:15002", "sc://spark:15002"),
    "SPARK_EXECUTOR_PYTHON": ("/opt/venv/bin/python", "/opt/venv/bin/python"),
    "SPARK_DRIVER_MEMORY": ("512m", "512m"),
    "SPARK_SHUFFLE_PARTITIONS": ("16", 16),
    "KAFKA_BOOTSTRAP_SERVERS": ("a:9092,b:9092", "a:9092,b:9092"),
    "KAFKA_SECURITY_PROTOCOL": ("SASL_SSL", "SASL_SSL"),
    "KAFKA_SASL_MECHANISM": ("SCRAM-SHA-512", "SCRAM-SHA-512"),
    "KAFKA_SASL_USERNAME": ("user", "user"),
    "KAFKA_SASL_PASSWORD": ("pw", "pw"),
    "KAFKA_SSL_CA_LOCATION": ("/etc/ca.pem", "/etc/ca.pem"),
    "KAFKA_REPLICATION_FACTOR": ("3", 3),
    "CASSANDRA_CONTACT_POINTS": ("c1,c2", "c1,c2"),
    "CASSANDRA_PORT": ("19042", 19042),
    "CASSANDRA_USERNAME": ("cass", "cass"),
    "CASSANDRA_PASSWORD": ("word", "word"),
    "CASSANDRA_SSL_CA_FILE": ("/etc/cassandra-ca.pem", "/etc/cassandra-ca.pem"),
    "CASSANDRA_LOCAL_DC": ("dc2", "dc2"),
    "CASSANDRA_RECO_KEYSPACE": ("reco_staging", "reco_staging"),
    "CASSANDRA_ANALYTICS_KEYSPACE": ("analytics_2", "analytics_2"),
    "CASSANDRA_REPLICATION": ("dc1:3, dc2:2", "dc1:3,dc2:2"),
    "CASSANDRA_CONSISTENCY": ("LOCAL_QUORUM", "LOCAL_QUORUM"),
    "SERVICES_HOME": ("/srv/services", "/srv/services"),
    "DAGSTER_HOME": ("/srv/dagster", "/srv/dagster"),
    "JAVA_HOME": ("/opt/jdk", "/opt/jdk"),
    "DAGSTER_POSTGRES_URL": ("postgresql+psycopg2://u:p@db:5432/dagster",) * 2,
    "EVENTS_SOURCE_TIMEZONE": ("Europe/Paris", "Europe/Paris"),
    "EVENTS_START_DATE": ("2024-06-30", "2024-06-30"),
    "EVENTS_FUTURE_TOLERANCE_SECONDS": ("60", 60),
    "QUARANTINE_MAX_SHARE": ("0.2", 0.2),
    "LANDING_MAX_EVENTS_PER_RUN": ("1000", 1000),
    "LANDING_WORKERS": ("3", 3),
    "LANDING_SENSOR_INTERVAL_SECONDS": ("30", 30),
    "STREAM_SENSOR_INTERVAL_SECONDS": ("10", 10),
    "DAILY_ANALYTICS_CRON": ("30 2 * * 1-5", "30 2 * * 1-5"),
    "LANDING_STARTING_OFFSETS": ("latest", "latest"),
    "SPEED_LATE_TOLERANCE_SECONDS": ("30", 30),
    "SPEED_RETENTION_HOURS": ("24", 24),
    "API_HOST": ("0.0.0.0", "0.0.0.0"),
    "API_PORT": ("8080", 8080),
    "API_READ_REQUIRES_KEY": ("true", True),
    "API_KEY_RATE_PER_SECOND": ("25.5", 25.5),
    "API_CORS_ORIGINS": ("https://school.example,https://staff.example", "https://school.example,https://staff.example"),
    "MOVIELENS_DIR": ("/data/ml-25m", "/data/ml-25m"),
    "MOOC_DIR": ("/data/mooc", "/data/mooc"),
    "MOOC_USERS": ("500", 500),
    "ORDERS_DIR": ("/data/instacart", "/data/instacart"),
    "ORDERS_USERS": ("700", 700),
    "STUDENTS_DIR": ("/data/students", "/data/students"),
    "STUDENTS_COUNT": ("800", 800),
    "MODEL_TOLERANCE": ("0.01", 0.01),
}

# Values each typed variable must refuse, and a word of the rule the error must state.
INVALID = {
    "SPARK_SHUFFLE_PARTITIONS": ("0", "greater than 0"),
    "SPARK_DRIVER_MEMORY": ("lots", "memory size"),
    "KAFKA_SECURITY_PROTOCOL": ("TLS", "SASL_SSL"),
    "KAFKA_REPLICATION_FACTOR": ("one", "integer"),
    "CASSANDRA_PORT": ("70000", "less than or equal to 65535"),
    "CASSANDRA_RECO_KEYSPACE": ("reco; DROP KEYSPACE x", "keyspace name"),
    "CASSANDRA_ANALYTICS_KEYSPACE": ("1analytics", "keyspace name"),
    "EVENTS_SOURCE_TIMEZONE": ("Mars/Olympus", "time zone"),
    "EVENTS_START_DATE": ("01/02/2025", "YYYY-MM-DD"),
    "EVENTS_FUTURE_TOLERANCE_SECONDS": ("-5", "greater than 0"),
    "QUARANTINE_MAX_SHARE": ("5%", "number"),
    "LANDING_SENSOR_INTERVAL_SECONDS": ("15s", "integer"),
    "DAILY_ANALYTICS_CRON": ("every day", "5 fields"),
    "LANDING_STARTING_OFFSETS": ("newest", "earliest"),
    "API_PORT": ("0", "greater than or equal to 1"),
    "API_KEY_RATE_PER_SECOND": ("0", "greater than 0"),
    "API_READ_REQUIRES_KEY": ("sometimes", "valid boolean"),
    "MOOC_USERS": ("10k", "integer"),
    "MODEL_TOLERANCE": ("-0.1", "greater than or equal to 0"),
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for field in Settings.model_fields:
        monkeypatch.delenv(env_name(field), raising=False)
    return monkeypatch


def test_the_tables_of_this_test_cover_every_setting():
    assert set(VALID) == {env_name(f) for f in Settings.model_fields}


def test_every_variable_parses(clean_env):
    for name, (text, _) in VALID.items():
        clean_env.setenv(name, text)
    settings = get_settings()
    got = {env_name(f): getattr(settings, f) for f in Settings.model_fields}
    assert got == {name: value for name, (_, value) in VALID.items()}


def test_defaults_are_local_and_folders_absolute(clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    settings = get_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092" and settings.cassandra_contact_points == "127.0.0.1"
    assert settings.lake_root == str(tmp_path / ".lake") and not settings.lake_is_s3
    assert settings.dagster_home == str(tmp_path / ".dagster_home")


def test_an_empty_variable_means_its_default(clean_env):
    clean_env.setenv("API_PORT", "")
    assert get_settings().api_port == 8000


@pytest.mark.parametrize("name", sorted(INVALID))
def test_a_bad_value_names_its_variable_its_value_and_the_rule(clean_env, name):
    text, rule = INVALID[name]
    clean_env.setenv(name, text)
    with pytest.raises(SettingsError) as error:
        get_settings()
    message = str(error.value)
    assert f"{name}={text!r}" in message and rule in message, message


def test_every_bad_variable_is_named_at_once(clean_env):
    clean_env.setenv("API_PORT", "http")
    clean_env.setenv("MOOC_USERS", "many")
    with pytest.raises(SettingsError, match="API_PORT='http'.*MOOC_USERS='many'"):
        get_settings()


def test_the_command_line_names_a_bad_variable_instead_of_a_traceback(clean_env):
    clean_env.setenv("LANDING_STARTING_OFFSETS", "middle")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "settings"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert "LANDING_STARTING_OFFSETS='middle'" in done.stderr and "Traceback" not in done.stderr


def test_the_readme_table_is_the_settings_table():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", readme, re.S)
    assert block, "README.md lacks the <!-- settings-table --> block"
    assert block.group(1) == markdown_table(), "README.md's table differs: paste `pipeline settings --markdown`"


def test_resources_carry_the_values_assets_and_sensors_use(clean_env):
    for name, (text, _) in VALID.items():
        clean_env.setenv(name, text)
    resources = build_resources(get_settings())
    cassandra = resources["cassandra"]
    assert (cassandra.reco_keyspace, cassandra.analytics_keyspace, cassandra.replication, cassandra.consistency) == (
        "reco_staging", "analytics_2", "dc1:3,dc2:2", "LOCAL_QUORUM")
    events = resources["events"]
    assert (events.source_timezone, events.start_date, events.future_tolerance_seconds, events.max_events_per_run,
            events.starting_offsets, events.speed_late_tolerance_seconds, events.speed_retention_hours) == (
        "Europe/Paris", "2024-06-30", 60, 1000, "latest", 30, 24)
    assert (resources["quality"].quarantine_max_share, resources["quality"].model_tolerance) == (0.2, 0.01)
    sources = resources["sources"]
    assert (sources.movielens_dir, sources.data_cache_dir, sources.mooc_dir, sources.mooc_users, sources.orders_dir,
            sources.orders_users, sources.students_dir, sources.students_count) == (
        "/data/ml-25m", "/data/cache", "/data/mooc", 500, "/data/instacart", 700, "/data/students", 800)
    assert resources["kafka"].replication_factor == 3

