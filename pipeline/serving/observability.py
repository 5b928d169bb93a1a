"""What the API did: request counts and latencies per route at `/metrics` (Prometheus text format, prometheus_client),
and one access-log line per request (logger `pipeline.access`) naming the calling key.

A pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request, see bench/survey.py). Routes are
labelled by their template (`/analytics/student/{student_id}`), so ids do not multiply the series; requests that
match no route are labelled `unmatched`. Each app has its own registry; with `pipeline serve --workers N`, each
worker answers `/metrics` for itself.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("pipeline.access")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestMetrics:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("api_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("api_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], route, str(status[0])).inc()
            self.latency.labels(scope["method"], route).observe(seconds)
            caller = scope.get("state", {}).get("caller", "-")
            access_log.info(f'{scope["method"]} {scope["path"]} {status[0]} {seconds * 1000:.1f}ms key={caller}')


def mount_observability(app: FastAPI) -> None:
    registry = CollectorRegistry()
    app.add_middleware(RequestMetrics, registry=registry)

    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # For Prometheus, not for the API's clients: left out of the OpenAPI schema.
    app.add_api_route("/metrics", metrics, methods=["GET"], response_class=PlainTextResponse, include_in_schema=False)
