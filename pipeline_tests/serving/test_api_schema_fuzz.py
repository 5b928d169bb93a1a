"""Schemathesis over the whole OpenAPI schema of `pipeline serve`, as a client sees it (a real server on a scratch
keyspace, a write key): for every operation, generated requests never get a 5xx, and every answer matches what
the schema declares for it (status, content type, body). Writes land in the local Kafka's topics, which the tests
that read them re-create."""

from __future__ import annotations

import os
import subprocess

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
# Some rules a JSON schema cannot state (a campus of the submission's country; an event valid for its category is
# judged per event inside a 200 answer), so schema-valid data may rightly get a 422: that check is left out.
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pipeline.services.dagster_dev import BIN, ROOT, free_port, get_json, wait_for
from pipeline_tests.api_keys import new_key
from pipeline_tests.keyspaces import scratch_keyspaces

pytestmark = pytest.mark.slow
ANALYTICS, RECO = "analytics_fuzz", "reco_fuzz"


@pytest.fixture(scope="module")
def served(services, tmp_path_factory):
    """`pipeline serve` on scratch keyspaces (empty tables: look-ups answer 404), the key rate lifted so that the
    fuzzer's pace gets answers rather than 429s; (base URL, headers with a write key)."""
    env = {"CASSANDRA_ANALYTICS_KEYSPACE": ANALYTICS, "CASSANDRA_RECO_KEYSPACE": RECO,
           "LAKE_ROOT": str(tmp_path_factory.mktemp("fuzz") / "lake"), "API_KEY_RATE_PER_SECOND": "100000"}
    scratch = services.model_copy(update={"cassandra_analytics_keyspace": ANALYTICS})
    with scratch_keyspaces(services, ANALYTICS, RECO):
        port = free_port()
        server = subprocess.Popen([str(BIN / "pipeline"), "serve", "--port", str(port), "--log-level", "warning"],
                                  cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: get_json(base + "/health") is not None, "pipeline serve did not answer", 60)
            yield base, new_key(scratch)
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_no_request_gets_a_5xx_and_every_answer_matches_the_schema(served):
    base, key = served
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every route of the API, reads and writes
    for operation in operations:
        # One Hypothesis run per operation (schemathesis' own pytest parametrisation does not load on pytest 9).
        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers_as_declared(case):
            case.call_and_validate(headers=key, excluded_checks=[positive_data_acceptance])

        answers_as_declared()
