"""The survey's HTTP side, mounted on the serving API (`pipeline serve`): `POST /api/survey` takes a submission
(`pipeline.survey.form`), publishes it to `student_survey` and answers once Kafka confirmed it (503 when it did
not: nothing was accepted, and a retry with the same submission_id counts once). POST bodies are limited to
MAX_BODY_BYTES."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from confluent_kafka import KafkaException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.kafka import client_config
from pipeline.serving.problem import Problem
from pipeline.settings import Settings
from pipeline.survey.form import SurveyForm
from pipeline.survey.publisher import NotConfirmed, SurveyPublisher
from pipeline.survey.stream import SURVEY_TOPIC

MAX_BODY_BYTES = 16 * 1024  # a survey submission is a few hundred bytes
logger = logging.getLogger(__name__)

SUBMISSION_REFUSED: dict[int | str, dict[str, Any]] = {
    411: {"model": Problem, "description": "The request has no Content-Length."},
    413: {"model": Problem, "description": f"The body is over {MAX_BODY_BYTES:,} bytes."},
    503: {"model": Problem, "description": "Kafka did not confirm the submission: nothing was accepted; retry with "
                                           "the same submission_id, which counts once."}}


class SurveyAccepted(BaseModel):
    submission_id: str  # send it again with a retry: the submission counts once
    partition: int
    offset: int


async def publish(request: Request, form: SurveyForm) -> SurveyAccepted:
    """Publish a checked submission to `student_survey` with the app's publisher; returns once Kafka confirmed it
    (NotConfirmed otherwise)."""
    record = form.record()
    partition, offset = await request.app.state.publisher.publish(record["submission_id"].encode(),
                                                                  json.dumps(record).encode())
    return SurveyAccepted(submission_id=record["submission_id"], partition=partition, offset=offset)


async def submit_survey(form: SurveyForm, request: Request) -> SurveyAccepted:
    """Validate a survey submission (422 names the field and the rule) and publish it to `student_survey`;
    answered once Kafka confirmed it."""
    return await publish(request, form)


async def open_publisher(settings: Settings) -> SurveyPublisher:
    """The app's publisher, with the topic created if Kafka answers (the read endpoints work without Kafka;
    submissions then answer 503)."""
    publisher = SurveyPublisher(client_config(settings), SURVEY_TOPIC,
                                replication_factor=settings.kafka_replication_factor)
    try:
        await asyncio.to_thread(publisher.ensure_topic)
    except KafkaException as error:
        logger.warning(f"could not create the topic {SURVEY_TOPIC}: {error}")
    return publisher


async def _kafka_did_not_confirm(request: Request, error: NotConfirmed) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": f"{error}; nothing was accepted: send it again with "
                                                            f"the same submission_id"})


class LimitBodySize:
    """Refuses a POST without a Content-Length (411) or over MAX_BODY_BYTES (413) before the app reads it. Pure
    ASGI: Starlette's `@app.middleware("http")` (BaseHTTPMiddleware) runs every request through a task and memory
    streams of its own, which halved the API's requests/s (bench/survey.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            length = Headers(scope=scope).get("content-length")
            if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
                refused = JSONResponse(status_code=411 if length is None else 413,
                                       content={"detail": f"a body of at most {MAX_BODY_BYTES:,} bytes, with its "
                                                          f"Content-Length, is required"})
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def mount(app: FastAPI) -> None:
    """The survey's route, its 503 answer and the body limit on `app` (whose lifespan sets app.state.publisher
    from `open_publisher`)."""
    app.add_exception_handler(NotConfirmed, _kafka_did_not_confirm)
    app.add_middleware(LimitBodySize)
    app.add_api_route("/api/survey", submit_survey, methods=["POST"], status_code=201, tags=["survey"],
                      response_model=SurveyAccepted, responses=SUBMISSION_REFUSED)
