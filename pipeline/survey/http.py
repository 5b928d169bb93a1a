"""The survey's HTTP side, mounted on the serving API (`pipeline serve`): `POST /api/survey` takes a submission
(`pipeline.survey.form`), publishes it to `student_survey` and answers once Kafka confirmed it (503 when it did
not: nothing was accepted, and a retry with the same submission_id counts once)."""

from __future__ import annotations

import json

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from pipeline.serving.auth import AUTH_REFUSALS, caller
from pipeline.serving.publishing import refusals
from pipeline.survey.form import SurveyForm
from pipeline.survey.stream import SURVEY_TOPIC


class SurveyAccepted(BaseModel):
    submission_id: str  # send it again with a retry: the submission counts once
    partition: int
    offset: int


async def publish(request: Request, form: SurveyForm) -> SurveyAccepted:
    """Publish a checked submission to `student_survey` with the app's publisher; returns once Kafka confirmed it
    (NotConfirmed otherwise)."""
    record = form.record()
    partition, offset = await request.app.state.publisher.publish(SURVEY_TOPIC, record["submission_id"].encode(),
                                                                  json.dumps(record).encode())
    return SurveyAccepted(submission_id=record["submission_id"], partition=partition, offset=offset)


async def submit_survey(form: SurveyForm, request: Request) -> SurveyAccepted:
    """Validate a survey submission (422 names the field and the rule) and publish it to `student_survey`;
    answered once Kafka confirmed it."""
    return await publish(request, form)


def mount(app: FastAPI) -> None:
    """`POST /api/survey` for other clients than the form page, with a write key (the form at /survey is the
    public way in, for students)."""
    app.add_api_route("/api/survey", submit_survey, methods=["POST"], status_code=201, tags=["survey"],
                      response_model=SurveyAccepted, dependencies=[Depends(caller("write"))],
                      responses={**AUTH_REFUSALS, **refusals("submission_id")})
