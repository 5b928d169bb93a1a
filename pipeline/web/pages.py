"""The pages of the serving app for a learner, a movie fan and an analyst (the survey's are `pipeline.survey.pages`):

- `/learners/{user_id}`: the learner's course recommendations, each with an "Enrol" button;
- `/movie-fans/{user_id}`: the viewer's top 10 movies with titles, each with a rating to give;
- `/dashboard`: the live analytics (summary, daily active users with batch days and speed windows on one chart,
  course popularity, the engagement distribution, realtime video engagement).

An action is a plain form posted to the server, which publishes it exactly as `POST /interactions` and
`POST /ratings` do (same checks, same topic, answered once Kafka confirmed it): a page cannot hold an API key, so
the app posts on the person's behalf, and the write endpoints keep requiring one. Then a 303 back to the page
(a reload does not send it again), whose list is a live region: once the stream sensor has re-scored the user,
the new list appears by itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError

from pipeline.serving import analytics, ingest
from pipeline.serving.publisher import NotConfirmed
from pipeline.web import TEMPLATES, fragment
from pipeline.web.charts import Chart, ChartPoint, render_chart

LearnerId = Annotated[str, Path(pattern=ingest.LEARNER_ID)]
CourseId = Annotated[str, Query(pattern=ingest.COURSE_ID)]
ViewerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RATINGS = [x / 2 for x in range(10, 0, -1)]  # 5.0 down to 0.5, the MovieLens scale
USERS_OFFERED = 8  # ids the pick-a-user pages list, so that a visitor has somewhere to start
# Seconds between two refreshes of a live region. Right after an action the person waits for its effect: the list
# is fetched every second until it changed (a read of one Cassandra partition), then every LIST_EVERY.
LIST_EVERY, AFTER_ACTION_EVERY, DASHBOARD_EVERY = 5, 1, 10


def _page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, status_code=status_code, context=context)


# -- learners and movie fans ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ListPage:
    """What differs between the learner's page and the movie fan's: its path, the store's queries, the list's
    template (which holds the action), its heading, and how the pick page asks for an id."""

    path: str
    query: str
    users_query: str
    template: str
    heading: str  # with {user_id}
    title: str  # the pick page's
    prompt: str
    pattern: str  # an id, for the pick page's input

    async def region(self, request: Request, user_id: int | str) -> Markup:
        rows = await request.app.state.store.rows(self.query, user_id)
        return fragment(request, self.template, {
            "user_id": user_id, "rows": rows, "ratings": RATINGS, "action": f"{self.path}/{user_id}",
            "model_version": rows[0]["model_version"] if rows else None,
            "updated_at": max((r["updated_at"] for r in rows if r["updated_at"]), default=None)})

    async def page(self, request: Request, user_id: int | str, done: str | None = None,
                   problem: str | None = None, status_code: int = 200) -> HTMLResponse:
        """The user's page: `done` says an action was recorded (the list then refreshes every second until it
        changed), `problem` that it was not."""
        pace = {"every": AFTER_ACTION_EVERY, "settle": LIST_EVERY} if done else {"every": LIST_EVERY, "settle": None}
        return _page(request, "person.html", status_code=status_code, user_id=user_id, done=done, problem=problem,
                     heading=self.heading.format(user_id=user_id), live=f"{self.path}/{user_id}/recommendations",
                     **pace, region=await self.region(request, user_id))

    async def pick(self, request: Request, user_id: Annotated[str | None, Query()] = None) -> HTMLResponse:
        """Which user? A GET form; an id given goes to that user's page."""
        if user_id:
            return RedirectResponse(f"{self.path}/{quote(user_id.strip(), safe='')}", status_code=303)
        rows = await request.app.state.store.rows(self.users_query, USERS_OFFERED)
        return _page(request, "pick_user.html", title=self.title, prompt=self.prompt, pattern=self.pattern,
                     path=self.path, users=sorted(row[next(iter(row))] for row in rows))


LEARNERS = _ListPage("/learners", "course_recs", "course_rec_users", "learner_list.html",
                     "Courses recommended for learner {user_id}", "Courses for a learner",
                     "Learner id (U_ and digits)", ingest.LEARNER_ID.strip("^$"))
MOVIE_FANS = _ListPage("/movie-fans", "movie_recs", "movie_rec_users", "movie_list.html",
                       "Top 10 movies for viewer {user_id}", "Movies for a viewer", "Viewer id (a number)",
                       "[0-9]{1,10}")


async def learner_page(request: Request, user_id: LearnerId, enrolled: CourseId | None = None) -> HTMLResponse:
    """After an enrolment (`enrolled`), says it was recorded."""
    done = enrolled and f"Your enrolment in course {enrolled} was recorded."
    return await LEARNERS.page(request, user_id, done)


async def movie_fan_page(request: Request, user_id: ViewerId, rated: Annotated[int | None, Query(ge=1)] = None,
                         rating: Annotated[float | None, Query(ge=0.5, le=5)] = None) -> HTMLResponse:
    """After a rating (`rated`, `rating`), says it was recorded."""
    done = rated and rating and f"Your rating of movie {rated} ({rating:g} of 5) was recorded."
    return await MOVIE_FANS.page(request, user_id, done)


async def learner_list(request: Request, user_id: LearnerId) -> HTMLResponse:
    return HTMLResponse(await LEARNERS.region(request, user_id))


async def movie_fan_list(request: Request, user_id: ViewerId) -> HTMLResponse:
    return HTMLResponse(await MOVIE_FANS.region(request, user_id))


async def enrol(request: Request, user_id: LearnerId,
                course_id: Annotated[str, Form()]) -> HTMLResponse | RedirectResponse:
    """Publish the enrolment as `POST /interactions` does, then back to the learner's page."""
    try:
        await ingest.post_interaction(ingest.Interaction(user_id=user_id, course_id=course_id), request)
    except (ValidationError, HTTPException) as refused:
        raise HTTPException(422, f"not an enrolment: {refused}") from None
    except NotConfirmed as error:
        return await LEARNERS.page(request, user_id, problem=f"Your enrolment in course {course_id} was not recorded: "
                                                        f"{error}. Please try again in a moment.", status_code=503)
    return RedirectResponse(f"/learners/{user_id}?{urlencode({'enrolled': course_id})}", status_code=303)


async def rate(request: Request, user_id: ViewerId, movie_id: Annotated[int, Form()],
               rating: Annotated[float, Form()]) -> HTMLResponse | RedirectResponse:
    """Publish the rating as `POST /ratings` does, then back to the viewer's page."""
    try:
        await ingest.post_rating(ingest.Rating(user_id=user_id, movie_id=movie_id, rating=rating), request)
    except (ValidationError, HTTPException) as refused:
        raise HTTPException(422, f"not a rating: {refused}") from None
    except NotConfirmed as error:
        return await MOVIE_FANS.page(request, user_id, problem=f"Your rating of movie {movie_id} was not recorded: "
                                                          f"{error}. Please try again in a moment.", status_code=503)
    return RedirectResponse(f"/movie-fans/{user_id}?{urlencode({'rated': movie_id, 'rating': rating})}",
                            status_code=303)


# -- the dashboard --------------------------------------------------------------------------------------------------

async def _panels(request: Request) -> Markup:
    store = request.app.state.store
    summary, recent, dau, popular, engagement, videos = await asyncio.gather(
        analytics.summary(store), analytics.recent_activity(store, 1), analytics.daily_active_users(store, 7, 6),
        analytics.course_popularity(store, 10, 24), analytics.engagement_distribution(store),
        analytics.realtime_video(store, 10, 1))
    series = {"batch": "batch days", "speed": "speed windows"}
    when = {"batch": "the UTC day %b %d", "speed": "the minute from %H:%M"}
    charts = [
        Chart("chart-dau", "Daily active users: batch days and today's speed windows", "timeline",
              [ChartPoint(row.time.isoformat(), str(row.active_users), series[row.source],
                          f"{row.source}, {row.time.strftime(when[row.source])}: {row.active_users} users"
                          + (" (so far)" if row.partial else "")) for row in dau]),
        Chart("chart-courses", "Course popularity: interactions in the last 24 hours", "bar",
              [ChartPoint(row["course_id"], str(row["interactions"])) for row in popular]),
        Chart("chart-engagement", "Students by engagement", "bar",
              [ChartPoint(row["category"].replace("_", " "), str(row["students"])) for row in engagement]),
        Chart("chart-video", "Realtime video: views in the last hour", "bar",
              [ChartPoint(row["video_id"], str(row["views"])) for row in videos]),
    ]
    return fragment(request, "dashboard_panels.html", {
        "summary": summary, "recent": recent, "charts": [(chart, render_chart(chart)) for chart in charts]})


async def dashboard(request: Request) -> HTMLResponse:
    return _page(request, "dashboard.html", live="/dashboard/panels", every=DASHBOARD_EVERY,
                 region=await _panels(request))


async def dashboard_panels(request: Request) -> HTMLResponse:
    return HTMLResponse(await _panels(request))


def mount_pages(app: FastAPI) -> None:
    """The pages on `app` (kept out of the OpenAPI schema: they answer HTML to people, not JSON to programs)."""
    routes = [
        ("/learners", LEARNERS.pick, "GET"),
        ("/learners/{user_id}", learner_page, "GET"), ("/learners/{user_id}/recommendations", learner_list, "GET"),
        ("/learners/{user_id}", enrol, "POST"),
        ("/movie-fans", MOVIE_FANS.pick, "GET"),
        ("/movie-fans/{user_id}", movie_fan_page, "GET"),
        ("/movie-fans/{user_id}/recommendations", movie_fan_list, "GET"), ("/movie-fans/{user_id}", rate, "POST"),
        ("/dashboard", dashboard, "GET"), ("/dashboard/panels", dashboard_panels, "GET"),
    ]
    for path, endpoint, method in routes:
        app.add_api_route(path, endpoint, methods=[method], response_class=HTMLResponse, response_model=None,
                          include_in_schema=False)
