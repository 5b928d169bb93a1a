"""The HTTP API over the serving tables (FastAPI; `pipeline serve`, OpenAPI docs at /docs).

Analytics come from `university_analytics` (seed-facts §7.2): batch tables synced from the views, speed tables
from the landing runs (`pipeline.serving.analytics`, which the dashboard shares). The DAU endpoint merges both,
Lambda-style: batch rows per day (today's marked partial), speed windows of today, each row tagged with its
source. Recommendations and purchase predictions come from `reco`.

The queries and the tables they read are `pipeline.serving.store`'s. Bad input gets a 422 from the parameter
declarations; an id the tables do not hold gets a 404 that says what was looked up; Cassandra unreachable gets a
503. The OpenAPI document declares each of these answers on the routes that can give it.

Writes are published to Kafka and answered once Kafka confirmed them (`pipeline.serving.publishing`): learning
events at `POST /events` (`pipeline.serving.ingest`), survey submissions at `POST /api/survey`
(`pipeline.survey.http`). The pages for people come from `pipeline.survey.pages` (the form at /survey, the results
at /survey/results) and `pipeline.web.pages` (/dashboard, /learners, /movie-fans).
"""

from __future__ import annotations

import gc
import inspect
import json
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from cassandra import DriverException, RequestExecutionException
from cassandra.cluster import NoHostAvailable
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from pipeline.events.producer import topic_specs
from pipeline.events.validation import ValidationRules
from pipeline.lake import Lake
from pipeline.serving import analytics, ingest
from pipeline.serving import analytics_tables as tables
from pipeline.serving.analytics import (CoursePopularity, DauRow, EngagementLevel, RecentActivity, Summary,
                                        VideoActivity)
from pipeline.serving.api_keys import RateLimit
from pipeline.serving.auth import AUTH_REFUSALS, KeyRing, caller
from pipeline.serving.observability import mount_observability
from pipeline.serving.problem import Problem
from pipeline.serving.publishing import mount_publishing, open_publisher
from pipeline.serving.purchase_scoring import PurchaseScorer, Unscorable
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS
from pipeline.serving.store import Store, connect, ensure_serving_schema
from pipeline.settings import Settings, get_settings
from pipeline.survey import http as survey
from pipeline.survey import pages as survey_pages
from pipeline.survey.stream import SURVEY_TOPIC
from pipeline.web import pages as web_pages

TextId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="An id as the events carry it.")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Hours = Annotated[int, Query(ge=1, le=48, description="How far back the speed windows go.")]

def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=what)


async def _found(store: Store, query: str, *params: Any, missing: str) -> list[dict]:
    """The rows of a look-up by id, or a 404 saying what was not there."""
    rows = await store.rows(query, *params)
    if not rows:
        raise _not_found(missing)
    return rows


# -- response shapes (the OpenAPI docs show them) ---------------------------------------------------------------

# Declared once: the app declares CASSANDRA_DOWN on every route, the look-up routes NOT_FOUND.
CASSANDRA_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "Cassandra did not answer (unreachable, or the query failed)."}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "The tables hold no row for what was looked up; the detail names it."}}


class CourseOverview(BaseModel):
    course_id: str
    total_enrolled_students: int
    total_videos_watched: int
    total_materials_downloaded: int


class StudentOverview(BaseModel):
    student_id: str
    total_courses_enrolled: int
    total_videos_watched: int
    total_assignments_submitted: int
    avg_assignment_score: float | None
    total_logins: int


class Enrollment(BaseModel):
    student_id: str
    course_id: str
    enrollment_date: datetime
    total_videos_watched: int


class StudentCourse(BaseModel):
    student_id: str
    course_id: str
    videos_watched: int
    materials_downloaded: int
    last_activity_date: datetime | None
    watch_time_minutes: float


class Recommendation(BaseModel):
    rank: int
    item_id: int | str
    score: float
    title: str | None = None
    genres: str | None = None
    course_name: str | None = None
    model_version: str


class Recommendations(BaseModel):
    user_id: int | str
    items: list[Recommendation]


class PurchasePrediction(BaseModel):
    user_id: int
    product_id: int
    probability: float
    model_version: str
    scored_at: datetime | None
    scored: Literal["in_advance", "on_request"] = Field(
        "in_advance", description="`in_advance`: read from the predictions table (the test users' candidates and "
                                  "the stream's feature records); `on_request`: a pair that table does not hold, "
                                  "scored now by the serving model from the current feature tables.")


# -- the application ----------------------------------------------------------------------------------------------

def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        cluster, session = connect(settings)
        try:
            ensure_serving_schema(session, settings)
            app.state.store = queries = Store(session, settings.cassandra_analytics_keyspace,
                                              settings.cassandra_reco_keyspace)
            app.state.key_ring = KeyRing(lambda key_id: queries.rows("api_key", key_id), RateLimit(
                settings.api_key_rate_per_second, burst=max(1, int(2 * settings.api_key_rate_per_second))))
            app.state.publisher = await open_publisher(settings, [*topic_specs(), *ingest.STREAM_TOPICS,
                                                                  (SURVEY_TOPIC, 1, {})])
            app.state.event_intake = ingest.EventIntake(ValidationRules(
                settings.events_source_timezone, settings.future_tolerance_seconds, settings.events_start_date))
            app.state.purchase_scorer = PurchaseScorer(Lake.from_settings(settings))
            app.state.purchase_scorer.start()
            # What is loaded by now lives as long as the process: frozen out of the collector's sight, a full
            # collection no longer walks its ~120k objects (~40 ms of stalled event loop every few hundred ms
            # under load: the p99 of bench/survey.py).
            gc.collect()
            gc.freeze()
            yield
        finally:
            if getattr(app.state, "publisher", None):
                app.state.publisher.close()
            cluster.shutdown()

    app = FastAPI(title="Learning platform serving API", version="1.0",
                  description="Learning analytics (batch views merged with the speed layer), movie and course "
                              "recommendations, and purchase predictions, from Cassandra.", lifespan=lifespan,
                  responses=CASSANDRA_DOWN)

    def store() -> Store:
        return app.state.store

    read_key, read_paths = [Depends(caller("read", required=settings.api_read_requires_key))], set()

    def read(path: str, **options):
        """A read endpoint: open, or keyed when API_READ_REQUIRES_KEY; a key that is sent is checked either way,
        names the caller in the access log and counts against its rate."""
        read_paths.add(path)
        return app.get(path, dependencies=read_key, responses={**AUTH_REFUSALS, **options.pop("responses", {})},
                       **options)

    if not settings.api_read_requires_key:
        schema_with_required_keys = app.openapi

        def schema_with_open_reads() -> dict:
            """The reads' key is optional: `security` lists the key and no requirement ({}), as OpenAPI says it."""
            schema = schema_with_required_keys()
            for path in read_paths:
                schema["paths"][path]["get"]["security"] = [{"api_key": []}, {}]
            return schema

        app.openapi = schema_with_open_reads

    async def cassandra_unavailable(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"Cassandra did not answer: {error}"})

    for failure in (DriverException, RequestExecutionException, NoHostAvailable):
        app.add_exception_handler(failure, cassandra_unavailable)

    mount_observability(app)
    if origins := [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Content-Type"])
    mount_publishing(app, ingest.BODY_LIMITS)
    ingest.mount(app)
    survey.mount(app)
    survey_pages.mount_pages(app)
    web_pages.mount_pages(app)

    @app.get("/", tags=["service"])
    async def root() -> dict:
        return {"service": app.title, "docs": "/docs", "health": "/health", "dashboard": "/dashboard",
                "learners": "/learners", "movie_fans": "/movie-fans", "survey": "/survey",
                "survey_results": "/survey/results"}

    @app.get("/health", tags=["service"])
    async def health() -> dict:
        await store().rows("summary", tables.SUMMARY_ID)
        return {"status": "ok", "cassandra": "reachable"}

    # -- analytics ---------------------------------------------------------------------------------------------

    @read("/analytics/summary", tags=["analytics"], response_model=Summary, responses=NOT_FOUND,
          description=inspect.cleandoc(analytics.summary.__doc__))
    async def summary() -> Summary:
        if (answer := await analytics.summary(store())) is None:
            raise _not_found("no summary yet: the serving tables have not been synced and no events have landed")
        return answer

    @read("/analytics/recent_activity", tags=["analytics"], response_model=RecentActivity)
    async def recent_activity(hours: Hours = 1) -> RecentActivity:
        return await analytics.recent_activity(store(), hours)

    @read("/analytics/student_engagement_distribution", tags=["analytics"], response_model=list[EngagementLevel],
          responses=NOT_FOUND)
    async def engagement_distribution() -> list[dict]:
        if not (levels := await analytics.engagement_distribution(store())):
            raise _not_found("no engagement distribution yet: sync views/student_overview first")
        return levels

    @read("/analytics/dau", tags=["analytics"], response_model=list[DauRow],
          description=inspect.cleandoc(analytics.daily_active_users.__doc__))
    async def daily_active_users(
            days: Annotated[int, Query(ge=1, le=366, description="Closed days (batch), besides today.")] = 7,
            hours: Hours = 6) -> list[DauRow]:
        return await analytics.daily_active_users(store(), days, hours)

    @read("/analytics/course_popularity", tags=["analytics"], response_model=list[CoursePopularity])
    async def course_popularity(limit: Annotated[int, Query(ge=1, le=100)] = 10,
                                hours: Annotated[int, Query(ge=1, le=48)] = 24) -> list[dict]:
        return await analytics.course_popularity(store(), limit, hours)

    @read("/analytics/realtime/video", tags=["analytics"], response_model=list[VideoActivity])
    async def realtime_video(limit: Annotated[int, Query(ge=1, le=100)] = 20, hours: Hours = 1) -> list[dict]:
        return await analytics.realtime_video(store(), limit, hours)

    @read("/analytics/courses", tags=["analytics"], response_model=list[CourseOverview])
    async def courses(limit: Limit = 100) -> list[dict]:
        return await store().rows("courses", limit)

    @read("/analytics/course/{course_id}", tags=["analytics"], response_model=CourseOverview, responses=NOT_FOUND)
    async def course(course_id: TextId) -> dict:
        return (await _found(store(), "course", course_id, missing=f"no course {course_id!r} in course_overview"))[0]

    @read("/analytics/course/{course_id}/students", tags=["analytics"], response_model=list[Enrollment],
             responses=NOT_FOUND)
    async def course_students(course_id: TextId, limit: Limit = 100) -> list[dict]:
        return await _found(store(), "course_students", course_id, limit,
                            missing=f"no enrolments in course {course_id!r}")

    @read("/analytics/students", tags=["analytics"], response_model=list[StudentOverview])
    async def students(limit: Limit = 100) -> list[dict]:
        return await store().rows("students", limit)

    @read("/analytics/student/{student_id}", tags=["analytics"], response_model=StudentOverview,
             responses=NOT_FOUND)
    async def student(student_id: TextId) -> dict:
        return (await _found(store(), "student", student_id,
                             missing=f"no student {student_id!r} in student_overview"))[0]

    @read("/analytics/student/{student_id}/courses", tags=["analytics"], response_model=list[Enrollment],
             responses=NOT_FOUND)
    async def student_courses(student_id: TextId) -> list[dict]:
        return await _found(store(), "student_courses", student_id,
                            missing=f"no enrolments of student {student_id!r}")

    @read("/analytics/student/{student_id}/course/{course_id}", tags=["analytics"], response_model=StudentCourse,
             responses=NOT_FOUND)
    async def student_course(student_id: TextId, course_id: TextId) -> dict:
        return (await _found(store(), "student_course", student_id, course_id,
                             missing=f"no activity of student {student_id!r} in course {course_id!r}"))[0]

    # -- recommendations and predictions -----------------------------------------------------------------------

    async def top_n(query: str, table, user_id: int | str) -> Response:
        rows = await _found(store(), query, user_id, missing=f"no recommendations for user {user_id!r} in {table.name}")
        # The hot path: JSON straight from the rows (the response model above documents it; validating it
        # again would cost a third of the request).
        items = [{"rank": r["rank"], "item_id": r[table.item_column], "score": r["score"],
                  **{label: r[label] for label in table.label_columns}, "model_version": r["model_version"]}
                 for r in rows]
        return Response(json.dumps({"user_id": user_id, "items": items}), media_type="application/json")

    @read("/recommendations/movies/{user_id}", tags=["recommendations"], response_model=Recommendations,
             responses=NOT_FOUND)
    async def movie_recommendations(user_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
        return await top_n("movie_recs", MOVIE_RECOMMENDATIONS, user_id)

    @read("/recommendations/courses/{user_id}", tags=["recommendations"], response_model=Recommendations,
             responses=NOT_FOUND)
    async def course_recommendations(user_id: TextId) -> Response:
        return await top_n("course_recs", COURSE_RECOMMENDATIONS, user_id)

    @read("/predictions/purchase", tags=["predictions"], response_model=PurchasePrediction, responses=NOT_FOUND,
          description="The pair's reorder probability from the predictions table or, for a pair it does not hold, "
                      "scored on request by the serving model from the current feature tables. A pair without "
                      "history (the user never bought the product in a prior order) gets a 404 saying so.")
    async def purchase_prediction(user_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
                                  product_id: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> dict:
        if rows := await store().rows("prediction", user_id, product_id):
            return rows[0]
        try:
            scored = await app.state.purchase_scorer.score(user_id, product_id)
        except Unscorable as why:
            raise _not_found(f"no prediction for user {user_id} and product {product_id}: the pair was not scored "
                             f"in advance, and {why}") from None
        return {"user_id": user_id, "product_id": product_id, "probability": scored.probability,
                "model_version": scored.model_version, "scored_at": datetime.now(timezone.utc),
                "scored": "on_request"}

    return app
