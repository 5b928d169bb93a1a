"""Data in over HTTP, each record checked by the rules its stream's landing applies, published, and answered once
Kafka confirmed it.

`POST /events` takes a batch of events in the producer's format, checks each with
the landing's own validator (`pipeline.events.validation.Validator`: the same catalogue, the same rules, the same
reasons), publishes the valid ones to their category's topic keyed by `user_id`, as the producer does, and
answers per event, accepted or rejected with the reason, once Kafka confirmed every accepted one.

The event id is the idempotency key: an event without one gets the id landing would derive from its content,
written into the published event, so a client that sends the same batch again (it did not see the answer) has
each event counted once by the cleaning (one row per event_id).

`POST /interactions` (the MOOC app's `/produce`) and `POST /ratings` publish one record each to the recommenders'
streams; their idempotency key is the natural pair downstream keeps one row for ((user, course): the first
enrolment; (user, movie): the newest rating), so a retry counts once.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from pipeline.events.catalogue import CATEGORIES, Reason
from pipeline.events.validation import ValidationRules, Validator
from pipeline.ml.mooc import ENROLMENT_TOPIC, parse_enrolment
from pipeline.ml.movielens import RATING_TOPIC, parse_rating
from pipeline.serving.auth import AUTH_REFUSALS, caller
from pipeline.serving.publishing import refusals

MAX_EVENTS_PER_REQUEST = 1_000
EVENTS_BODY_BYTES = 1024 * 1024  # a thousand events of the catalogue's size, with room


class EventBatch(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST,
                                         description="Events in the producer's format (seed-facts §1).")


class EventVerdict(BaseModel):
    index: int  # the event's place in the batch
    event_id: str | None  # the id it is counted under (given, or derived from its content); None if rejected early
    status: Literal["accepted", "rejected"]
    reason: str | None = None  # a quarantine reason of the landing (e.g. missing_field, future_timestamp)
    detail: str | None = None


class EventsAnswer(BaseModel):
    accepted: int
    rejected: int
    results: list[EventVerdict]


class EventIntake:
    """The landing's validators, one per category, and what a batch's events become."""

    def __init__(self, rules: ValidationRules):
        self.validators = {category.upper: Validator(category, rules) for category in CATEGORIES}
        self.topics = {category.upper: category.topic for category in CATEGORIES}

    def check(self, batch: list[dict[str, Any]], now: datetime) -> tuple[list[EventVerdict], list]:
        """Each event's verdict, and the (topic, key, value) records of the accepted ones."""
        verdicts, records = [], []
        for index, event in enumerate(batch):
            category = event.get("event_category")
            validator = self.validators.get(category) if isinstance(category, str) else None
            if validator is None:
                reason = Reason.MISSING_FIELD if category is None else Reason.INVALID_VALUE
                verdicts.append(EventVerdict(index=index, event_id=None, status="rejected", reason=reason.value,
                                             detail=f"event_category={category!r}, not one of "
                                                    f"{', '.join(self.validators)}"))
                continue
            # Without an id, the id landing derives from the content (canonical JSON, so a resend derives it again).
            content = None if event.get("event_id") is not None else json.dumps(event, sort_keys=True,
                                                                                 separators=(",", ":"))
            verdict = validator.judge(event, content.encode() if content else None, now)
            if verdict.reason is not None:
                verdicts.append(EventVerdict(index=index, event_id=event.get("event_id"), status="rejected",
                                             reason=verdict.reason.value, detail=verdict.detail))
                continue
            event_id = verdict.row["event_id"]
            value = json.dumps(event if content is None else {**event, "event_id": event_id}).encode()
            records.append((self.topics[category], str(event["user_id"]).encode(), value))
            verdicts.append(EventVerdict(index=index, event_id=event_id, status="accepted"))
        return verdicts, records


LEARNER_ID, COURSE_ID = r"^U_[0-9]{1,9}$", r"^C_[0-9]{1,9}$"  # as in the MOOC data


class Interaction(BaseModel):
    """A learner's course interaction, as the MOOC app's `POST /produce` took it."""
    user_id: str = Field(pattern=LEARNER_ID, examples=["U_1001"], description="U_<digits>, as in the MOOC data")
    course_id: str = Field(pattern=COURSE_ID, examples=["C_42"], description="C_<digits>")


class Rating(BaseModel):
    """A movie rating, as the MovieLens producer sends it."""
    user_id: int = Field(gt=0, le=2**31 - 1)
    movie_id: int = Field(gt=0, le=2**31 - 1)
    rating: float = Field(ge=0.5, le=5.0)
    timestamp: int | None = Field(None, ge=0, description="epoch seconds; now when absent")


class Published(BaseModel):
    topic: str
    partition: int
    offset: int
    counted_once_as: str  # the natural key downstream keeps one row for: a retry counts once


def _unprocessable(reason: str, detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=f"{reason}: {detail}")


async def post_interaction(interaction: Interaction, request: Request) -> Published:
    """Publish a learner's course interaction to `user_course_interact` (key user id, value course id, as the
    seed's topic holds them), checked by the stream landing's rules; answered once Kafka confirmed it."""
    key, value = interaction.user_id.encode(), interaction.course_id.encode()
    _, reason, detail = parse_enrolment(key, value, int(time.time() * 1000))
    if reason:
        raise _unprocessable(reason, detail)
    partition, offset = await request.app.state.publisher.publish(ENROLMENT_TOPIC, key, value)
    return Published(topic=ENROLMENT_TOPIC, partition=partition, offset=offset,
                     counted_once_as="(user_id, course_id): a course counts from its first enrolment")


async def post_rating(rating: Rating, request: Request) -> Published:
    """Publish a movie rating to `movielens_ratings` in the producer's JSON, checked by the stream landing's rules;
    answered once Kafka confirmed it."""
    record = {"userId": rating.user_id, "movieId": rating.movie_id, "rating": rating.rating,
              "timestamp": rating.timestamp if rating.timestamp is not None else int(time.time())}
    value = json.dumps(record).encode()
    _, reason, detail = parse_rating(None, value, None)
    if reason:
        raise _unprocessable(reason, detail)
    partition, offset = await request.app.state.publisher.publish(RATING_TOPIC, str(rating.user_id).encode(),
                                                                  value)
    return Published(topic=RATING_TOPIC, partition=partition, offset=offset,
                     counted_once_as="(user_id, movie_id): a re-rated movie counts with its newest rating")


async def post_events(batch: EventBatch, request: Request) -> EventsAnswer:
    """Validate a batch of learning events by the landing's rules and publish the valid ones; answered once Kafka
    confirmed them, with each event's verdict. Rejected events are not published."""
    verdicts, records = request.app.state.event_intake.check(batch.events, datetime.now(timezone.utc))
    await request.app.state.publisher.publish_all(records)
    return EventsAnswer(accepted=len(records), rejected=len(verdicts) - len(records), results=verdicts)


def mount(app: FastAPI) -> None:
    """`POST /events`, `/interactions` and `/ratings` on `app` (a write key required), whose lifespan sets
    app.state.event_intake and app.state.publisher."""
    writer = [Depends(caller("write"))]
    app.add_api_route("/events", post_events, methods=["POST"], tags=["ingest"], response_model=EventsAnswer,
                      dependencies=writer, responses={**AUTH_REFUSALS, **refusals("event_id", EVENTS_BODY_BYTES)})
    for path, endpoint, key in (("/interactions", post_interaction, "(user_id, course_id)"),
                                ("/ratings", post_rating, "(user_id, movie_id)")):
        app.add_api_route(path, endpoint, methods=["POST"], status_code=201, tags=["ingest"],
                          response_model=Published, dependencies=writer,
                          responses={**AUTH_REFUSALS, **refusals(key)})


BODY_LIMITS = {"/events": EVENTS_BODY_BYTES}
STREAM_TOPICS = [(ENROLMENT_TOPIC, 1, {}), (RATING_TOPIC, 1, {})]  # one partition, as `pipeline produce` makes them
