"""Resources: configuration from settings, and real connections to the local services."""

import dagster as dg
import pytest

from pipeline.settings import Settings
from resources import SparkResource, build_resources


def test_resources_follow_the_settings_and_keep_secrets_as_env_vars(monkeypatch):
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    resources = build_resources(Settings(kafka_bootstrap_servers="broker:29092", kafka_security_protocol="SASL_SSL",
                                         kafka_sasl_mechanism="PLAIN", kafka_sasl_username="svc",
                                         kafka_sasl_password="s3cret", cassandra_contact_points="a,b",
                                         lake_root="s3://lake/prod", s3_endpoint_url="http://minio:9000"))
    # Secrets stay environment variables until run time: the definitions never hold the value.
    assert "s3cret" not in repr(resources["kafka"])
    with dg.build_resources({"kafka": resources["kafka"]}) as initialised:
        assert initialised.kafka.client_config() == {
            "bootstrap.servers": "broker:29092", "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
            "sasl.username": "svc", "sasl.password": "s3cret",
        }
    lake = resources["lake"].get_lake()
    assert lake.is_s3 and lake.uri("raw", "events") == "s3a://lake/prod/raw/events"
    conf = resources["spark"].session_conf()
    assert conf["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.5.0"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.sql.session.timeZone"] == "UTC"


def test_local_lake_uris_are_absolute_file_uris(tmp_path):
    lake = build_resources(Settings(lake_root=str(tmp_path / "lake")))["lake"].get_lake()
    assert lake.uri("cleaned", "auth") == f"file://{tmp_path}/lake/cleaned/auth"
    assert SparkResource().session_conf()["spark.sql.shuffle.partitions"] == "8"


@pytest.mark.services
def test_cassandra_resource_talks_to_the_local_cassandra(services):
    with build_resources(services)["cassandra"].session() as session:
        version = session.execute("SELECT release_version FROM system.local").one().release_version
    assert version.startswith("5.0.")


@pytest.mark.services
def test_kafka_resource_reads_end_offsets_of_the_local_broker(fresh_topics, services):
    offsets = build_resources(services)["kafka"].end_offsets(["auth_topic", "no_such_topic"])
    assert offsets == {("auth_topic", 0): (0, 0), ("auth_topic", 1): (0, 0), ("auth_topic", 2): (0, 0)}
