"""The API's error answers: every route declares in its OpenAPI document the errors it can give (404 where its code
looks rows up, 422 where it takes parameters, 503 everywhere), and the 404 and 503 bodies it sends match the
declared schema. Against a real Cassandra, reached through a TCP relay the test cuts to take Cassandra away."""

from __future__ import annotations

import contextlib
import inspect
import socket
import threading

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pipeline.serving.api import create_app
from pipeline.settings import get_settings
from pipeline_tests.keyspaces import scratch_keyspaces

ANALYTICS, RECO = "api_errors_test", "reco_api_errors_test"
# One request per route (a test checks none is missing); on empty tables every look-up finds nothing.
EXAMPLES = {
    "/": "/",
    "/health": "/health",
    "/analytics/summary": "/analytics/summary",
    "/analytics/recent_activity": "/analytics/recent_activity",
    "/analytics/student_engagement_distribution": "/analytics/student_engagement_distribution",
    "/analytics/dau": "/analytics/dau",
    "/analytics/course_popularity": "/analytics/course_popularity",
    "/analytics/realtime/video": "/analytics/realtime/video",
    "/analytics/courses": "/analytics/courses",
    "/analytics/course/{course_id}": "/analytics/course/CS101",
    "/analytics/course/{course_id}/students": "/analytics/course/CS101/students",
    "/analytics/students": "/analytics/students",
    "/analytics/student/{student_id}": "/analytics/student/S1",
    "/analytics/student/{student_id}/courses": "/analytics/student/S1/courses",
    "/analytics/student/{student_id}/course/{course_id}": "/analytics/student/S1/course/CS101",
    "/recommendations/movies/{user_id}": "/recommendations/movies/7",
    "/recommendations/courses/{user_id}": "/recommendations/courses/U9",
    "/predictions/purchase": "/predictions/purchase?user_id=11&product_id=22",
    "/api/survey": "/api/survey",  # a POST: its 422 and 503 are tested in pipeline_tests/survey
    "/events": "/events",  # POSTs: tested in pipeline_tests/serving/test_ingest_api.py
    "/interactions": "/interactions",
    "/ratings": "/ratings",
}
JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def routes(app) -> list[APIRoute]:
    """The routes of the OpenAPI schema (the survey's HTML pages are not in it)."""
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


def calls(route: APIRoute, *functions: str) -> bool:
    """Whether the route's code calls one of `functions` (read from its source, not from the schema under test)."""
    source = inspect.getsource(route.endpoint)
    return any(f"{function}(" in source for function in functions)


def can_answer_404(route: APIRoute) -> bool:
    return calls(route, "_found", "_not_found", "top_n")


def declared_schema(spec: dict, path: str, status: int, method: str = "get") -> dict:
    response = spec["paths"][path][method]["responses"][str(status)]
    return spec["components"]["schemas"][response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]


def matches(body: object, schema: dict) -> bool:
    """Whether a JSON body is an object with the schema's required properties, no others, each of its declared
    type (flat schemas such as Problem's)."""
    properties = schema["properties"]
    return (isinstance(body, dict) and set(schema.get("required", ())) <= set(body) <= set(properties)
            and all(isinstance(value, JSON_TYPES[properties[name]["type"]]) for name, value in body.items()))


class Relay:
    """A TCP relay to Cassandra that can be cut: the app then sees what it sees when Cassandra goes away."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # the listener was closed: cut
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def cut(self) -> None:
        self.listener.close()
        for connection in self.sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture(scope="module")
def keyspaces(services):
    with scratch_keyspaces(services, ANALYTICS, RECO):
        yield


@pytest.fixture
def relayed(services, keyspaces):
    """The app on empty test tables, connected to Cassandra through a relay; yields the client and the relay."""
    relay = Relay(services.cassandra_contact_points.split(",")[0].strip(), services.cassandra_port)
    settings = services.model_copy(update={"cassandra_port": relay.port, "cassandra_analytics_keyspace": ANALYTICS,
                                           "cassandra_reco_keyspace": RECO})
    try:
        with TestClient(create_app(settings)) as client:
            yield client, relay
    finally:
        relay.cut()


def test_every_route_declares_the_errors_its_code_can_give():
    app = create_app(get_settings())
    spec = app.openapi()
    assert set(EXAMPLES) == {r.path for r in routes(app)}
    lookups = {r.path for r in routes(app) if can_answer_404(r)}
    assert {"/analytics/summary", "/analytics/course/{course_id}", "/recommendations/movies/{user_id}",
            "/predictions/purchase"} <= lookups  # the derivation from the code finds the look-ups
    for route in routes(app):
        takes_parameters = bool(route.dependant.path_params or route.dependant.query_params
                                or route.dependant.body_params)
        for method in (m.lower() for m in route.methods):
            declared = spec["paths"][route.path][method]["responses"]
            assert ("404" in declared, "422" in declared) == (route.path in lookups, takes_parameters), route.path
            assert declared_schema(spec, route.path, 503, method)["title"] == "Problem", route.path
            if route.path in lookups:
                assert declared_schema(spec, route.path, 404, method)["title"] == "Problem", route.path


@pytest.mark.services
def test_404_bodies_match_the_declared_schema(relayed):
    client, _ = relayed
    spec = client.app.openapi()
    lookups = [r.path for r in routes(client.app) if can_answer_404(r)]
    for path in lookups:
        response = client.get(EXAMPLES[path])
        assert response.status_code == 404, (path, response.text)
        assert matches(response.json(), declared_schema(spec, path, 404)), (path, response.text)


@pytest.mark.services
def test_503_bodies_match_the_declared_schema_when_cassandra_is_gone(relayed):
    client, relay = relayed
    spec = client.app.openapi()
    assert client.get("/health").status_code == 200
    relay.cut()
    for path in [r.path for r in routes(client.app) if calls(r, "store", "top_n")]:
        response = client.get(EXAMPLES[path])
        assert response.status_code == 503, (path, response.text)
        assert matches(response.json(), declared_schema(spec, path, 503)), (path, response.text)
        assert response.json()["detail"].startswith("Cassandra did not answer")
