"""API keys against the real Cassandra, created and revoked with the README's commands (`pipeline api-keys`):
stored hashed, 401/403/429 on the paths that give them, open or keyed reads by setting, the OpenAPI declaring them,
and the access log and /metrics naming what happened."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from pipeline.serving.api import create_app
from pipeline.serving.api_keys import RateLimit
from pipeline_tests.api_keys import new_key
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.serving.event_batch import LOGIN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def settings(services, lake_env):
    with scratch_keyspaces(lake_env, lake_env.cassandra_analytics_keyspace) as session:
        yield lake_env, session


def keys_command(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASSANDRA_ANALYTICS_KEYSPACE": settings.cassandra_analytics_keyspace}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "api-keys", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_keys_are_created_listed_and_revoked_by_the_command_and_stored_hashed(settings):
    lake_env, session = settings
    created = keys_command(lake_env, "create", "--name", "loader", "--scope", "write")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    key_id, secret = token.removeprefix("lp_").split("_", 1)
    row = session.execute(f"SELECT * FROM {lake_env.cassandra_analytics_keyspace}.api_keys WHERE key_id = %s",
                          (key_id,)).one()
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in " ".join(str(value) for value in row)
    listed = keys_command(lake_env, "list")
    assert key_id in listed.stdout and "loader" in listed.stdout and "active" in listed.stdout
    with TestClient(create_app(lake_env)) as api:
        assert api.post("/events", headers={"X-API-Key": token}, json={"events": [LOGIN]}).status_code != 401
    assert keys_command(lake_env, "revoke", key_id).returncode == 0
    assert "revoked" in keys_command(lake_env, "list").stdout
    with TestClient(create_app(lake_env)) as api:  # a new app: a running one sees it within 5 s
        refused = api.post("/events", headers={"X-API-Key": token}, json={"events": [LOGIN]})
    assert refused.status_code == 403 and "revoked" in refused.json()["detail"]
    assert keys_command(lake_env, "revoke", "000000000000").returncode == 1


def test_writes_need_a_write_key(settings):
    lake_env, _ = settings
    with TestClient(create_app(lake_env)) as api:
        read_only = new_key(lake_env, scope="read")
        for headers, status, words in (
                ({}, 401, "API key is required"),
                ({"X-API-Key": "lp_0123456789ab_" + "x" * 43}, 401, "unknown API key"),
                ({"X-API-Key": "not a key"}, 401, "unknown API key"),
                (read_only, 403, "may only read")):
            answer = api.post("/events", headers=headers, json={"events": [LOGIN]})
            assert (answer.status_code, words in answer.json()["detail"]) == (status, True), answer.text
        assert api.post("/api/survey", json={}).status_code == 401


def test_a_key_past_its_rate_gets_429(settings):
    lake_env, _ = settings
    slow = lake_env.model_copy(update={"api_key_rate_per_second": 1.0})  # bursts of 2
    with TestClient(create_app(slow)) as api:
        key = new_key(lake_env, scope="read")
        answers = [api.get("/analytics/courses", headers=key) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[2].status_code == 429 and answers[2].headers["Retry-After"] == "1"


def test_reads_are_open_unless_the_setting_asks_for_a_key(settings):
    lake_env, _ = settings
    with TestClient(create_app(lake_env)) as api:
        assert api.get("/analytics/courses").status_code == 200
    keyed = lake_env.model_copy(update={"api_read_requires_key": True})
    with TestClient(create_app(keyed)) as api:
        assert api.get("/analytics/courses").status_code == 401
        assert api.get("/analytics/courses", headers=new_key(lake_env, scope="read")).status_code == 200
        assert api.get("/survey").status_code == 200  # the survey's pages stay open to students


def test_the_openapi_schema_declares_the_key_and_its_refusals(settings):
    lake_env, _ = settings
    with TestClient(create_app(lake_env)) as api:
        schema = api.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "A key from `pipeline api-keys create`: lp_<key id>_<secret>."}
    for path, method, security in (("/events", "post", [{"api_key": []}]), ("/api/survey", "post", [{"api_key": []}]),
                                   ("/analytics/courses", "get", [{"api_key": []}, {}])):  # reads: key optional
        operation = schema["paths"][path][method]
        assert {"401", "403", "429"} <= set(operation["responses"]) and operation["security"] == security, path
    keyed = lake_env.model_copy(update={"api_read_requires_key": True})
    assert create_app(keyed).openapi()["paths"]["/analytics/courses"]["get"]["security"] == [{"api_key": []}]


def test_every_request_is_logged_with_its_key_and_counted_in_metrics(settings, caplog):
    lake_env, _ = settings
    with TestClient(create_app(lake_env)) as api, caplog.at_level(logging.INFO, logger="pipeline.access"):
        key = new_key(lake_env, scope="read")
        key_id = key["X-API-Key"].split("_")[1]
        for _ in range(3):
            api.get("/analytics/course/C1", headers=key)  # 404: no such course in an empty keyspace
        api.post("/events", json={"events": [LOGIN]})
        metrics = api.get("/metrics").text
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.access"]
    assert len(lines) == 5  # the four requests and /metrics
    for line in lines[:3]:
        assert re.fullmatch(rf"GET /analytics/course/C1 404 [0-9.]+ms key={key_id}", line), line
    assert re.fullmatch(r"POST /events 401 [0-9.]+ms key=-", lines[3]), lines[3]
    assert 'api_requests_total{method="GET",route="/analytics/course/{course_id}",status="404"} 3.0' in metrics
    assert 'api_requests_total{method="POST",route="/events",status="401"} 1.0' in metrics
    assert 'api_request_seconds_count{method="GET",route="/analytics/course/{course_id}"} 3.0' in metrics


def test_the_rate_limit_refills_at_its_rate_up_to_its_burst():
    limit = RateLimit(per_second=2.0, burst=3)
    assert [limit.allow("k", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("k", now=0.5) and not limit.allow("k", now=0.5)  # one token back after half a second
    assert [limit.allow("k", now=100.0) for _ in range(4)] == [True, True, True, False]  # never above the burst
    assert limit.allow("other", now=0.0)  # keys are counted apart
