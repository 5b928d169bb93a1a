"""What every write endpoint of the API shares: the app's Kafka publisher (`pipeline.serving.publisher`), the 503
answer when Kafka did not confirm, and the limit on request bodies (411 without a length, 413 over the limit),
checked before the body is read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.kafka import KafkaUnavailable, client_config
from pipeline.serving.problem import Problem
from pipeline.serving.publisher import KafkaPublisher, NotConfirmed
from pipeline.settings import Settings

MAX_BODY_BYTES = 16 * 1024  # a survey submission, a rating or an interaction is a few hundred bytes
logger = logging.getLogger(__name__)


def refusals(key: str, max_body_bytes: int = MAX_BODY_BYTES) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers of a write endpoint whose idempotency key is `key`."""
    return {
        411: {"model": Problem, "description": "The request has no Content-Length."},
        413: {"model": Problem, "description": f"The body is over {max_body_bytes:,} bytes."},
        503: {"model": Problem, "description": f"Kafka did not confirm: nothing was accepted; send the same request "
                                               f"again (the same {key} counts once)."}}


async def open_publisher(settings: Settings, topics: Sequence[tuple[str, int, dict[str, str]]]) -> KafkaPublisher:
    """The app's publisher, with `topics` created if Kafka answers (the read endpoints work without Kafka; writes
    then answer 503)."""
    publisher = KafkaPublisher(client_config(settings), replication_factor=settings.kafka_replication_factor)
    try:
        await asyncio.to_thread(publisher.ensure_topics, topics)
    except (KafkaException, KafkaUnavailable) as error:
        logger.warning(f"could not create the topics {', '.join(t for t, _, _ in topics)}: {error}")
    return publisher


async def _kafka_did_not_confirm(request: Request, error: NotConfirmed) -> JSONResponse:
    return JSONResponse(status_code=503, content={
        "detail": f"{error}; nothing was accepted: send the same request again (the same submission_id or event_id "
                  f"counts once)"})


class LimitBodySize:
    """Refuses a POST without a Content-Length (411) or over its path's limit (413) before the app reads it. Pure
    ASGI: Starlette's `@app.middleware("http")` (BaseHTTPMiddleware) runs every request through a task and memory
    streams of its own, which halved the API's requests/s (bench/survey.py)."""

    def __init__(self, app: ASGIApp, limits: dict[str, int]) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            limit = self.limits.get(scope["path"], MAX_BODY_BYTES)
            length = Headers(scope=scope).get("content-length")
            if length is None or not length.isdigit() or int(length) > limit:
                refused = JSONResponse(status_code=411 if length is None else 413, content={
                    "detail": f"a body of at most {limit:,} bytes, with its Content-Length, is required"})
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def mount_publishing(app: FastAPI, body_limits: dict[str, int]) -> None:
    """The 503 answer and the body limits (MAX_BODY_BYTES unless `body_limits` names the path) on `app`, whose
    lifespan sets app.state.publisher from `open_publisher`."""
    app.add_exception_handler(NotConfirmed, _kafka_did_not_confirm)
    app.add_middleware(LimitBodySize, limits=body_limits)
