"""Authentication on: Kafka with SASL/SCRAM over TLS and Cassandra with passwords and TLS, as
`pipeline services up --auth` starts them (on 127.0.0.2, beside the session's own services on 127.0.0.1), with
the credentials loaded from the file it writes, as the README says.

This module's `services` fixture replaces the session's, so the tests imported below run here a second time
against the authenticated services: the end-to-end learning-events test, the HTTP API's tests, and the daemon
path (`dagster dev` with the credentials in its environment only, as `make ui` after `set -a; . env` has them:
published events reach every layer and `pipeline serve`'s API with nobody acting). The others
check that a wrong or missing credential fails at once naming the service and the setting, that the default
superuser is closed, and that no secret reaches the lake, the run records or the logs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.cassandra import CassandraUnavailable, connect, open_cluster
from pipeline.definitions import build_definitions
from pipeline.kafka import KafkaUnavailable, client_config, watermarks
from pipeline.services.dagster_dev import ROOT
from pipeline.settings import Settings, get_settings
from pipeline_tests.readme_services import PIPELINE, started_as_the_readme_says
from pipeline_tests.serving.test_analytics_api import (
    clock,
    client,
    session,
    test_analytics_endpoints_answer_for_known_ids,
    test_dau_returns_batch_rows_per_day_today_partial_and_speed_rows_for_today_each_once,
    test_recommendations_and_predictions_answer_for_known_ids,
    test_unknown_ids_get_a_404_that_says_what_was_missing,
)
from pipeline_tests.serving.test_ingest_api import (
    test_each_event_gets_its_verdict_and_only_the_accepted_ones_are_published,
)
from pipeline_tests.test_daemon import (
    api,
    cassandra,
    dagster_dev,
    instance,
    published,
    test_published_events_reach_every_layer_and_the_api_with_nobody_acting,
)
from pipeline_tests.test_learning_events_e2e import (
    produce_events,
    test_every_valid_event_is_cleaned_exactly_once_and_every_malformed_one_is_quarantined,
)
from sensors.tick import run_sensor_tick

# Imported to run here again, with this module's `services`.
__all__ = ["api", "cassandra", "clock", "client", "dagster_dev", "instance", "published", "session",
           "test_analytics_endpoints_answer_for_known_ids",
           "test_dau_returns_batch_rows_per_day_today_partial_and_speed_rows_for_today_each_once",
           "test_each_event_gets_its_verdict_and_only_the_accepted_ones_are_published",
           "test_every_valid_event_is_cleaned_exactly_once_and_every_malformed_one_is_quarantined",
           "test_published_events_reach_every_layer_and_the_api_with_nobody_acting",
           "test_recommendations_and_predictions_answer_for_known_ids",
           "test_unknown_ids_get_a_404_that_says_what_was_missing"]
pytestmark = [pytest.mark.services, pytest.mark.slow]
# Another loopback address than the session's services, so both run at once on the same ports.
WHERE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.2:9092", "CASSANDRA_CONTACT_POINTS": "127.0.0.2"}


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[Settings]:
    """The README's `pipeline services up --auth` and `set -a; . .services/auth/env; set +a`, run verbatim in a
    scratch folder (so `.services` is a scratch SERVICES_HOME); the environment they leave is this module's
    until the services are stopped after its tests."""
    with started_as_the_readme_says(tmp_path_factory.mktemp("auth_services"), "services up --auth", WHERE) \
            as (up, loaded, home):
        assert f"set -a; . {home / 'auth' / 'env'}; set +a" in up.stdout
        assert oct((home / "auth").stat().st_mode & 0o777) == "0o700"
        assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in (home / "auth").iterdir()
                   if path.name != "ca.pem")
        with pytest.MonkeyPatch.context() as patch:
            for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                         "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION", "CASSANDRA_USERNAME", "CASSANDRA_PASSWORD",
                         "CASSANDRA_SSL_CA_FILE"):
                patch.setenv(name, loaded[name])
            patch.setenv("SERVICES_HOME", str(home))
            for name, value in WHERE.items():
                patch.setenv(name, value)
            yield get_settings()


def test_kafka_refuses_a_wrong_or_missing_credential_at_once_and_says_which_setting(services):
    config = client_config(services)
    assert watermarks(config, ["no_such_topic"]) == {}  # the right credentials get through
    cases = {
        "KAFKA_SASL_PASSWORD": {**config, "sasl.password": "not-the-password"},
        "KAFKA_SECURITY_PROTOCOL": {"bootstrap.servers": config["bootstrap.servers"]},  # no TLS, no SASL
        "KAFKA_SSL_CA_LOCATION": {k: v for k, v in config.items() if k != "ssl.ca.location"},  # the system's CAs
    }
    for setting, wrong in cases.items():
        started = time.monotonic()
        with pytest.raises(KafkaUnavailable, match=setting):
            watermarks(wrong, ["no_such_topic"], timeout=20)
        assert time.monotonic() - started < 5, setting  # at once, not at the 20 s timeout


def test_the_command_line_names_the_kafka_setting_to_check(services):
    produced = subprocess.run([PIPELINE, "produce", "events", "--count", "10"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "KAFKA_SASL_PASSWORD": "not-the-password"})
    assert produced.returncode == 1
    assert "error: Kafka at 127.0.0.2:9092 cannot be used as configured (it refused the credentials: check " \
           "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD" in produced.stderr
    assert "Traceback" not in produced.stderr


def test_cassandra_refuses_a_wrong_or_missing_credential_and_the_default_superuser(services):
    def login(username, password, ca_file=services.cassandra_ssl_ca_file):
        cluster = open_cluster(services.cassandra_contact_points, services.cassandra_port, username, password,
                               "datacenter1", request_timeout=10, connect_timeout=10, ssl_ca_file=ca_file)
        try:
            return connect(cluster).execute("SELECT role, can_login FROM system_auth.roles").all()
        finally:
            cluster.shutdown()

    roles = {r.role: r.can_login for r in login(services.cassandra_username, services.cassandra_password)}
    assert roles == {"pipeline": True, "cassandra": False}  # the well-known default login is closed
    for (username, password, ca_file), setting in {
        ("pipeline", "not-the-password", services.cassandra_ssl_ca_file): "CASSANDRA_PASSWORD",
        ("cassandra", "cassandra", services.cassandra_ssl_ca_file): "CASSANDRA_PASSWORD",
        (None, None, services.cassandra_ssl_ca_file): "CASSANDRA_USERNAME",
        ("pipeline", services.cassandra_password, None): "CASSANDRA_SSL_CA_FILE",  # plain text to a TLS port
        ("pipeline", services.cassandra_password, "/etc/ssl/certs/ca-certificates.crt"): "CASSANDRA_SSL_CA_FILE",
    }.items():
        with pytest.raises(CassandraUnavailable, match=setting):
            login(username, password, ca_file)


def test_no_secret_reaches_the_lake_the_run_records_or_the_logs(services, fresh_topics, lake_env, tmp_path):
    produce_events(fresh_topics, seed=41, count=600)
    defs = build_definitions(lake_env)
    with dg.DagsterInstance.get() as instance:  # DAGSTER_HOME of lake_env: its runs and event logs stay on disk
        landing = run_sensor_tick(defs, instance, None)
        assert landing.success and landing.results
        cleaning = run_sensor_tick(defs, instance, landing.cursor)
        assert cleaning.success and cleaning.results
    secrets = [services.kafka_sasl_password, services.cassandra_password]
    home = Path(services.services_home)
    searched = [*tmp_path.rglob("*"), *(home / "kafka" / "logs").rglob("*"), *(home / "cassandra" / "logs").rglob("*")]
    files = [path for path in searched if path.is_file()]
    assert any(path.suffix == ".parquet" for path in files) and any(path.suffix == ".db" for path in files)
    leaked = [str(path) for path in files for secret in secrets if secret.encode() in path.read_bytes()]
    assert leaked == []
