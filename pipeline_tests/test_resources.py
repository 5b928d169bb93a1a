"""Resources: configuration from settings, and real connections to the local services."""

import zipfile
from functools import reduce
from pathlib import Path

import dagster as dg
import pytest
from cassandra import ConsistencyLevel
from cassandra.policies import RetryPolicy, WriteType
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from pipeline import kafka
from pipeline.cassandra import replication_cql
from pipeline.serving.cassandra_tables import ensure_keyspace
from pipeline.settings import Settings
from pipeline_tests.topics import delete_topics, recreate_topics
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
    # The S3A connector from ~/.m2 (matching the wheel's Hadoop client), shipped to executors by spark.jars.
    jars = [Path(jar) for jar in conf["spark.jars"].split(",")]
    assert {"hadoop-aws-3.5.0.jar", "s3-2.35.4.jar"} <= {jar.name for jar in jars} and all(j.is_file() for j in jars)
    # Not the SDK's 690 MB bundle, nor a second copy of what Spark's own jars hold (netty, slf4j).
    assert not [j for j in jars if any(f"/{group}/" in j.as_posix() for group in
                                       ("software/amazon/awssdk/bundle", "io/netty", "org/slf4j"))]
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.committer.name"] == "magic"
    assert conf["spark.sql.session.timeZone"] == "UTC"


def test_secrets_are_their_values_outside_a_run_too(monkeypatch):
    """`pipeline demo` and the CLI use the resources outside a run, where Dagster has not resolved the EnvVars."""
    for name, value in (("CASSANDRA_USERNAME", "app"), ("CASSANDRA_PASSWORD", "cassandra-pw"),
                        ("KAFKA_SASL_USERNAME", "app"), ("KAFKA_SASL_PASSWORD", "kafka-pw"),
                        ("AWS_ACCESS_KEY_ID", "key"), ("AWS_SECRET_ACCESS_KEY", "s3-pw"), ("LAKE_ROOT", "s3://b/l")):
        monkeypatch.setenv(name, value)
    resources = build_resources(Settings())
    cluster = resources["cassandra"].cluster()  # the driver's own object, as session() connects it
    assert (cluster.auth_provider.username, cluster.auth_provider.password) == ("app", "cassandra-pw")
    assert resources["kafka"].client_config()["sasl.password"] == "kafka-pw"
    assert resources["lake"].get_lake().aws_secret_access_key == "s3-pw"


def test_local_lake_uris_are_absolute_file_uris(tmp_path):
    lake = build_resources(Settings(lake_root=str(tmp_path / "lake")))["lake"].get_lake()
    assert lake.uri("cleaned", "auth") == f"file://{tmp_path}/lake/cleaned/auth"
    assert SparkResource().session_conf()["spark.sql.shuffle.partitions"] == "8"


def test_cluster_sessions_ship_the_projects_code_and_connect_sessions_get_only_sql_settings():
    assert "spark.submit.pyFiles" not in SparkResource(master="local[2]").session_conf()
    archive = Path(SparkResource(master="spark://cluster:7077").session_conf()["spark.submit.pyFiles"])
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    for module in ("pipeline/ml/als.py", "pipeline/views/registry.py", "assets/__init__.py", "resources/spark.py",
                   "sensors/tick.py"):
        assert module in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Named by content: the same code, the same archive.
    assert SparkResource(master="spark://other:7077").session_conf()["spark.submit.pyFiles"] == str(archive)
    remote = SparkResource(remote="sc://connect:15002", driver_memory="8g", checkpoint_dir="/tmp/checkpoints")
    assert set(remote.sql_conf()) == {"spark.sql.session.timeZone", "spark.sql.shuffle.partitions",
                                      "spark.sql.adaptive.enabled"}


def test_a_session_compiles_the_code_of_a_query_it_ran_before_only_once(spark):
    """Spark's default cache of generated classes (100) is smaller than what one views pass makes (about 330): a
    query of 150 branches makes 300 classes (two per branch), and running it again must find every one of them
    (with the default it compiles half of them again)."""
    compilations = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    branches = [spark.range(1).selectExpr(f"id * {i} + {i} AS x") for i in range(2, 152)]
    query = reduce(lambda left, right: left.unionByName(right), branches)
    before = compilations.getCount()
    assert sorted(row.x for row in query.collect()) == list(range(2, 152))
    assert compilations.getCount() - before >= 300  # new code (else this test proves nothing)
    before = compilations.getCount()
    query.collect()
    assert compilations.getCount() == before


def test_cassandra_sessions_read_and_write_at_the_configured_consistency():
    cluster = build_resources(Settings(cassandra_consistency="LOCAL_QUORUM"))["cassandra"].cluster()
    assert cluster.profile_manager.default.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert replication_cql("dc1:3, dc2:2") == "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"


def test_a_timed_out_write_is_sent_again_through_another_node_twice_then_fails():
    """The sessions' retry policy, asked as the driver asks it after a write timed out (retry_num 0, 1, 2):
    another coordinator twice at the same level, then the error; a counter or lightweight-transaction write, and
    a read, that timed out as the driver decides."""
    policy = build_resources(Settings())["cassandra"].cluster().profile_manager.default.retry_policy
    for plain in (WriteType.SIMPLE, WriteType.UNLOGGED_BATCH):
        answers = [policy.on_write_timeout(None, ConsistencyLevel.QUORUM, plain, 2, 1, n) for n in range(3)]
        assert answers == [(RetryPolicy.RETRY_NEXT_HOST, ConsistencyLevel.QUORUM)] * 2 + [(RetryPolicy.RETHROW, None)]
    for once_only in (WriteType.COUNTER, WriteType.CAS):
        assert policy.on_write_timeout(None, ConsistencyLevel.QUORUM, once_only, 2, 1, 0) == (RetryPolicy.RETHROW, None)
    assert policy.on_read_timeout(None, ConsistencyLevel.QUORUM, 2, 1, False, 0) == \
        RetryPolicy().on_read_timeout(None, ConsistencyLevel.QUORUM, 2, 1, False, 0)


@pytest.mark.services
def test_keyspaces_are_replicated_per_data_centre_and_an_unknown_one_is_refused_by_name(services):
    with build_resources(services)["cassandra"].session() as session:
        for keyspace in ("replication_test", "replication_test_2"):
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        ensure_keyspace(session, "replication_test", "datacenter1:1")
        replication = session.execute("SELECT replication FROM system_schema.keyspaces "
                                      "WHERE keyspace_name = 'replication_test'").one().replication
        assert replication == {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "datacenter1": "1"}
        with pytest.raises(ValueError, match=r"CASSANDRA_REPLICATION.*\['dc_elsewhere'\].*\['datacenter1'\]"):
            ensure_keyspace(session, "replication_test_2", "datacenter1:1,dc_elsewhere:3")
        assert session.execute("SELECT keyspace_name FROM system_schema.keyspaces "
                               "WHERE keyspace_name = 'replication_test_2'").one() is None
        session.execute("DROP KEYSPACE replication_test")


@pytest.mark.services
def test_cassandra_resource_talks_to_the_local_cassandra(services):
    with build_resources(services)["cassandra"].session() as session:
        version = session.execute("SELECT release_version FROM system.local").one().release_version
    assert version.startswith("5.0.")


@pytest.mark.services
def test_kafka_resource_reads_end_offsets_of_the_local_broker(fresh_topics, services):
    offsets = build_resources(services)["kafka"].end_offsets(["auth_topic", "no_such_topic"])
    assert offsets == {("auth_topic", 0): (0, 0), ("auth_topic", 1): (0, 0), ("auth_topic", 2): (0, 0)}


@pytest.mark.services
def test_the_offsets_of_a_re_created_topic_are_readable_at_once(services):
    # A re-created topic is listed before its partitions have a leader; reading offsets then failed with
    # NOT_LEADER_FOR_PARTITION in about 1 round in 10 here. Many rounds, because the window is short.
    config = kafka.client_config(services)
    try:
        for _ in range(15):
            assert recreate_topics(config, [("leader_probe", 3, {})]) == ["leader_probe"]
            assert kafka.watermarks(config, ["leader_probe"]) == {("leader_probe", p): (0, 0) for p in range(3)}
    finally:
        delete_topics(config, ["leader_probe"])


class _ElectingConsumer:
    """Answers like a partition whose leader is still being elected, `failures` times, then (3, 7)."""

    def __init__(self, failures: int, code: int = KafkaError.NOT_LEADER_FOR_PARTITION):
        self.failures, self.code, self.calls = failures, code, 0

    def get_watermark_offsets(self, partition, timeout, cached):
        self.calls += 1
        if self.calls <= self.failures:
            raise KafkaException(KafkaError(self.code))
        return 3, 7


def test_watermarks_wait_out_a_leader_election_but_not_other_errors():
    partition = TopicPartition("t", 0)
    electing = _ElectingConsumer(failures=2)
    assert kafka._watermark(electing, partition, deadline=float("inf")) == (3, 7)
    assert electing.calls == 3
    with pytest.raises(KafkaException):  # the election outlasts the deadline: the error is raised
        kafka._watermark(_ElectingConsumer(failures=1), partition, deadline=0.0)
    denied = _ElectingConsumer(failures=1, code=KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException):
        kafka._watermark(denied, partition, deadline=float("inf"))
    assert denied.calls == 1


def test_a_refusal_ends_the_wait_only_once_every_broker_has_refused():
    failures = kafka._Failures()
    failures.lines.append("FAIL|rdkafka#consumer-1| 127.0.0.4:9092/bootstrap: Connect to ipv4#127.0.0.4:9092 failed: "
                          "Connection refused (after 0ms in state CONNECT)")
    servers = ["127.0.0.4:9092", "127.0.0.5:9092"]
    assert failures.diagnosis(servers) is None  # one broker of a cluster down: the other may answer
    failures.lines.append(failures.lines[0].replace("127.0.0.4", "127.0.0.5"))
    assert "nothing listens there" in failures.diagnosis(servers)


def test_a_client_gets_through_when_one_of_its_brokers_refuses(services):
    config = {**kafka.client_config(services), "bootstrap.servers": f"127.0.0.1:1,{services.kafka_bootstrap_servers}"}
    assert kafka.watermarks(config, ["no_such_topic"], timeout=20) == {}
    with pytest.raises(kafka.KafkaUnavailable, match="nothing listens there"):
        kafka.watermarks({**config, "bootstrap.servers": "127.0.0.1:1,127.0.0.1:2"}, ["no_such_topic"], timeout=20)


def test_a_cassandra_that_does_not_answer_is_named_with_the_settings_to_check():
    from pipeline.cassandra import CassandraUnavailable, connect, open_cluster

    cluster = open_cluster("127.0.0.1", 1, None, None, "datacenter1", request_timeout=2, connect_timeout=2)
    with pytest.raises(CassandraUnavailable, match=r"is it running, do CASSANDRA_CONTACT_POINTS and "
                                                   r"CASSANDRA_PORT name it, and if it requires TLS, is "
                                                   r"CASSANDRA_SSL_CA_FILE set\?\): 127\.0\.0\.1:1: "):
        connect(cluster)
    assert cluster.is_shutdown  # nothing left reconnecting in the background
