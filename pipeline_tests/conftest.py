"""Shared fixtures: one SparkSession and one set of real services (Kafka, Cassandra) per test session."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.events.producer import topic_specs
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.settings import Settings, get_settings
from pipeline_tests.topics import recreate_topics
from resources import SparkResource

os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
ANALYTICS_TEST_KEYSPACE = "university_analytics_test"

# Fixtures that mark the tests using them, directly or through another fixture: `services` starts the real Kafka
# and Cassandra, `spark_cluster` the Spark standalone cluster and Connect server, `dagster_dev` (test_daemon.py)
# the real webserver and daemon, `browser` headless Chromium.
MARKING_FIXTURES = {"services": "services", "spark_cluster": "cluster", "dagster_dev": "daemon",
                    "dagster_on_postgres": "daemon", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from what a test uses, so `-m` selections cannot miss one: `services` and `daemon` for the tests
    that need those fixtures (`item.fixturenames` is transitive), `unit` for every other test (plain Python and
    local Spark: what `make test-fast` runs, with `not slow`)."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKING_FIXTURES.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
        if not any(item.get_closest_marker(marker) for marker in MARKING_FIXTURES.values()):
            item.add_marker("unit")


# A test counts in the first of these groups it is marked with (a cluster test also uses the services).
GROUPS = ("faults", "cluster", "browser", "daemon", "services", "unit")
_group_seconds: dict[str, list[float]] = {}


def group_of(item: pytest.Item) -> str:
    return next(group for group in GROUPS if item.get_closest_marker(group))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Wall time per test group, setup and teardown included (a module's services start in its first test)."""
    started = time.monotonic()
    try:
        return (yield)
    finally:
        seconds = _group_seconds.setdefault(group_of(item), [0.0, 0])
        seconds[0] += time.monotonic() - started
        seconds[1] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _group_seconds:
        return
    terminalreporter.section("time per test group")
    for group in GROUPS:
        if group in _group_seconds:
            seconds, count = _group_seconds[group]
            terminalreporter.write_line(f"{group:<9} {count:>4} tests  {seconds / 60:6.1f} min")


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local SparkSession for the whole run, configured like production (UTC) but small."""
    checkpoints = str(tmp_path_factory.mktemp("spark_checkpoints"))
    session = SparkResource(master="local[2]", shuffle_partitions=2, driver_memory="2g",
                            checkpoint_dir=checkpoints).get_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def services():
    """Real Kafka and Cassandra from `pipeline services up`, started once; stopped at the end unless
    PIPELINE_TEST_KEEP_SERVICES=1 (or they were already running before the session)."""
    from pipeline import services as local

    was_running = local.status().all_ready
    local.up(progress=lambda message: print(message, flush=True))
    yield get_settings()
    if not was_running and os.environ.get("PIPELINE_TEST_KEEP_SERVICES") != "1":
        local.down()


@pytest.fixture(scope="module")
def spark_cluster(services):
    """The Spark standalone master, two workers and the Connect server of `pipeline services up --spark`, and the
    S3 server of `--s3`, for one test module (test_services.py stops every service it finds, and they hold
    memory the other tests can use); stopped after it unless they ran before. The Connect server starts with the
    S3 server's settings, as its usage note says."""
    from pipeline import services as local
    from pipeline.services import s3

    was_running = "spark-connect" in {s.name for s in local.status().services if s.ready}
    with pytest.MonkeyPatch.context() as env:
        for name, value in s3.SETTINGS.items():
            env.setenv(name, value)
        local.up(progress=lambda message: print(message, flush=True), optional=["spark", "s3"])
    yield
    if not was_running and os.environ.get("PIPELINE_TEST_KEEP_SERVICES") != "1":
        local.down(optional=["spark", "s3"])


def local_s3_lake(root: str) -> Lake:
    """The lake at `root` (s3://lake/...) on the local S3 server of `pipeline services up --s3`."""
    from pipeline.services import s3

    return Lake(root, s3_endpoint_url=s3.ENDPOINT, aws_access_key_id=s3.SETTINGS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=s3.SETTINGS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def lake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: a fresh lake (and DAGSTER_HOME) in a temporary folder, and the serving tables in a
    test keyspace (never the demo's)."""
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("CASSANDRA_ANALYTICS_KEYSPACE", ANALYTICS_TEST_KEYSPACE)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return get_settings()


@pytest.fixture
def lake(lake_env: Settings) -> Lake:
    return Lake.from_settings(lake_env)


@pytest.fixture
def fresh_topics(services: Settings) -> dict[str, str]:
    """Delete and re-create the 6 learning-event topics, so a test sees only the records it produced."""
    config = client_config(services)
    recreate_topics(config, topic_specs())
    return config


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (`pipeline_tests.browser`), one for the session; failing, not skipping, when it is not
    installed."""
    from pipeline_tests.browser import headless_chromium

    try:
        with headless_chromium() as session:
            yield session
    except RuntimeError as missing:
        pytest.fail(str(missing))


@pytest.fixture
def browser(chromium):
    """The session's Chromium with its console log drained, so a test sees only what its own pages logged (a test
    that failed half-way must not leave its errors to the next)."""
    chromium.get_log("browser")
    return chromium
