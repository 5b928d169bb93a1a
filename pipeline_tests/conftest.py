"""Shared fixtures: one SparkSession and one set of real services (Kafka, Cassandra) per test session."""

from __future__ import annotations

import os
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
# and Cassandra, `dagster_dev` (test_daemon.py) the real webserver and daemon, `browser` headless Chromium.
MARKING_FIXTURES = {"services": "services", "dagster_dev": "daemon", "browser": "browser"}


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
def browser():
    """Headless Chromium driven by its chromedriver (Debian's packages, installed by `make tools`), with the
    page's console kept so that a test can assert that it logged no error."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("the browser tests need chromium and chromedriver: run `make tools` as root, or apt-get install "
                    "--no-install-recommends chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,2000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    yield session
    session.quit()
