"""The HTTP API against a real Cassandra: hand-written rows in test keyspaces, then every endpoint for a known id
(values as written), an unknown id (404) and malformed input (422); the DAU merge of batch days and speed
windows; and the batch-table writers (a replace leaves exactly the new rows)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pipeline.serving import analytics_tables as t
from pipeline.serving.api import create_app
from pipeline.serving.cassandra_tables import CassandraTable
from pipeline.serving.predictions import write_predictions
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS, write_top_n
from pipeline_tests.keyspaces import scratch_keyspaces

pytestmark = pytest.mark.services
ANALYTICS, RECO = "analytics_api_test", "reco_api_test"



@dataclass(frozen=True)
class Clock:
    """The moment the rows are written, and the days and windows around it that the API's answers depend on."""
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    @property
    def two_days_ago(self) -> date:
        return self.today - timedelta(days=2)

    @property
    def recent(self) -> pd.Timestamp:
        """A speed window 10 minutes ago, or the day's second one if the day is younger: it and the window 30 s
        before it are inside "today" and the last hour."""
        midnight = pd.Timestamp(self.today, tz="UTC")
        return max(pd.Timestamp(self.now) - pd.Timedelta(minutes=10), midnight + pd.Timedelta(seconds=30)).floor("30s")

    @property
    def old_today(self) -> pd.Timestamp | None:
        """Today's first window, if it is more than two hours older than `recent` (outside the last hour)."""
        midnight = pd.Timestamp(self.today, tz="UTC")
        return midnight if self.recent - midnight > pd.Timedelta(hours=2) else None


def away_from_midnight() -> Clock:
    """Now, once the UTC day is at least a minute old and 10 minutes from its end: the API reads its own clock,
    and the rows written at `now` must be of the day it calls today when the tests ask, minutes later."""
    now = datetime.now(timezone.utc)
    midnight = datetime.combine(now.date(), datetime.min.time(), timezone.utc)
    if now - midnight < timedelta(minutes=1):
        time.sleep((midnight + timedelta(minutes=1) - now).total_seconds())
    elif midnight + timedelta(days=1) - now < timedelta(minutes=10):
        time.sleep((midnight + timedelta(days=1, minutes=1) - now).total_seconds())
    return Clock(datetime.now(timezone.utc))


def speed_rows(table: CassandraTable, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    starts = pd.to_datetime(frame["window_start"], utc=True)
    return frame.assign(date=starts.dt.strftime("%Y-%m-%d"), window_start=starts, window_end=starts + pd.Timedelta(minutes=1))


@pytest.fixture(scope="module")
def session(services):
    with scratch_keyspaces(services, ANALYTICS, RECO) as s:
        yield s


@pytest.fixture(scope="module")
def clock() -> Clock:
    return away_from_midnight()


@pytest.fixture(scope="module")
def client(services, session, clock, tmp_path_factory):
    # An empty lake: no purchase model to score a pair on request, so a pair the table lacks is a 404.
    settings = services.model_copy(update={"cassandra_analytics_keyspace": ANALYTICS, "cassandra_reco_keyspace": RECO,
                                           "lake_root": str(tmp_path_factory.mktemp("empty_lake"))})
    with TestClient(create_app(settings)) as api:  # start-up creates every table
        write = lambda table, rows: t.upsert(session, table, pd.DataFrame(rows), ANALYTICS)  # noqa: E731
        write(t.COURSE_OVERVIEW, [{"course_id": "CS101", "total_enrolled_students": 2, "total_videos_watched": 5,
                                   "total_materials_downloaded": 1}])
        write(t.STUDENT_OVERVIEW, [{"student_id": "S1", "total_courses_enrolled": 1, "total_videos_watched": 4,
                                    "total_assignments_submitted": 2, "avg_assignment_score": 7.5, "total_logins": 6}])
        enrolment = {"student_id": "S1", "course_id": "CS101", "enrollment_date": pd.Timestamp("2026-11-20 08:00Z"),
                     "total_videos_watched": 4}
        write(t.STUDENT_COURSE_ENROLLMENT, [enrolment])
        write(t.COURSE_STUDENT_ENROLLMENT, [enrolment])
        write(t.STUDENT_COURSE_DETAILED, [{"student_id": "S1", "course_id": "CS101", "videos_watched": 4,
                                           "materials_downloaded": 1, "watch_time_minutes": 12.5,
                                           "last_activity_date": pd.Timestamp("2026-11-21 09:30Z")}])
        write(t.AUTH_DAILY_ACTIVE_USERS, [
            {"date": str(clock.two_days_ago), "daily_active_users": 30, "total_sessions": 41},
            {"date": str(clock.yesterday), "daily_active_users": 20, "total_sessions": 25},
            {"date": str(clock.today), "daily_active_users": 5, "total_sessions": 5},  # today so far: partial
        ])
        write(t.ENGAGEMENT_DISTRIBUTION, t.engagement_distribution(pd.DataFrame(
            {"total_videos_watched": [0, 3, 40, 60], "total_assignments_submitted": [0, 2, 5, 0],
             "total_logins": [0, 1, 1, 1]})).to_dict("records"))
        write(t.SYSTEM_SUMMARY, [{"id": "main", "total_courses": 1, "total_students": 1,
                                  "batch_last_run": clock.now}])
        write(t.SYSTEM_SUMMARY, [{"id": "main", "latest_active_users": 3, "latest_window_end": clock.now,
                                  "active_courses_last_hour": 2}])  # the speed columns, written separately
        active = [{"window_start": clock.recent, "active_users": 3},
                  {"window_start": clock.recent - pd.Timedelta(seconds=30), "active_users": 4}]
        active += [{"window_start": pd.Timestamp(clock.yesterday, tz="UTC") + pd.Timedelta(hours=12),
                    "active_users": 9}]
        if clock.old_today is not None:  # today, but outside the last hours asked for
            active.append({"window_start": clock.old_today, "active_users": 8})
        t.upsert(session, t.ACTIVE_USERS, speed_rows(t.ACTIVE_USERS, active).assign(source="speed"), ANALYTICS)
        t.upsert(session, t.COURSE_POPULARITY, speed_rows(t.COURSE_POPULARITY, [
            {"window_start": clock.recent, "course_id": "CS101", "interactions": 4, "views": 2},
            {"window_start": clock.recent - pd.Timedelta(minutes=1), "course_id": "CS101", "interactions": 3,
             "views": 0},
            {"window_start": clock.recent, "course_id": "CS202", "interactions": 5, "views": 1},
        ]), ANALYTICS)
        t.upsert(session, t.VIDEO_ENGAGEMENT, speed_rows(t.VIDEO_ENGAGEMENT, [
            {"window_start": clock.recent, "video_id": "V1", "views": 3, "unique_viewers": 2,
             "total_watch_seconds": 300},
            {"window_start": clock.recent - pd.Timedelta(minutes=1), "video_id": "V1", "views": 1, "unique_viewers": 1,
             "total_watch_seconds": 60},
        ]), ANALYTICS)
        write_top_n(session, MOVIE_RECOMMENDATIONS.in_keyspace(RECO), pd.DataFrame(
            {"userid": [7, 7], "rank": [1, 2], "movieid": [50, 60], "score": [0.9, 0.5], "title": ["A", "B"],
             "genres": ["Drama", "Comedy"]}), "als-v1")
        write_top_n(session, COURSE_RECOMMENDATIONS.in_keyspace(RECO), pd.DataFrame(
            {"user_id": ["U9"], "rank": [1], "course_id": ["C3"], "score": [0.7], "course_name": ["Graphs"]}), "als-v2")
        write_predictions(session, RECO, pd.DataFrame({"user_id": [11], "product_id": [22], "probability": [0.375]}),
                          "xgb-v1")
        yield api


def test_dau_returns_batch_rows_per_day_today_partial_and_speed_rows_for_today_each_once(client, clock):
    asked_at = pd.Timestamp.now(tz="UTC")
    rows = client.get("/analytics/dau", params={"days": 2, "hours": 1}).json()
    # Today's batch row (written above) is there, marked partial; the closed days are not. The two speed windows
    # of the last hour come once each, and ended (a minute after their start) before the request.
    earlier = clock.recent - pd.Timedelta(seconds=30)
    assert [(r["source"], r["date"], r["active_users"], r["partial"]) for r in rows] == [
        ("batch", str(clock.two_days_ago), 30, False), ("batch", str(clock.yesterday), 20, False),
        ("batch", str(clock.today), 5, True),
        ("speed", str(earlier.date()), 4, earlier + pd.Timedelta(minutes=1) > asked_at),
        ("speed", str(clock.recent.date()), 3, clock.recent + pd.Timedelta(minutes=1) > asked_at)]
    assert (rows[0]["total_sessions"], rows[2]["total_sessions"]) == (41, 5)
    assert rows[2]["time"].startswith(f"{clock.today}T00:00:00") and rows[4]["window_end"] is not None
    # One closed day only: the day before yesterday is left out, today stays.
    assert [(r["date"], r["partial"]) for r in client.get("/analytics/dau?days=1").json() if r["source"] == "batch"] \
        == [(str(clock.yesterday), False), (str(clock.today), True)]


def test_analytics_endpoints_answer_for_known_ids(client):
    summary = client.get("/analytics/summary").json()
    assert (summary["total_courses"], summary["latest_active_users"], summary["active_courses_last_hour"]) == (1, 3, 2)
    assert client.get("/analytics/course/CS101").json()["total_videos_watched"] == 5
    assert [s["student_id"] for s in client.get("/analytics/course/CS101/students").json()] == ["S1"]
    assert client.get("/analytics/student/S1").json()["avg_assignment_score"] == 7.5
    assert client.get("/analytics/student/S1/courses").json()[0]["enrollment_date"].startswith("2026-11-20T08:00:00")
    assert client.get("/analytics/student/S1/course/CS101").json()["watch_time_minutes"] == 12.5
    assert [c["course_id"] for c in client.get("/analytics/courses").json()] == ["CS101"]
    assert [s["student_id"] for s in client.get("/analytics/students?limit=5").json()] == ["S1"]
    # Interactions 0, 6, 46, 61: one student in each level.
    assert [(lvl["category"], lvl["students"]) for lvl in client.get("/analytics/student_engagement_distribution").json()] == [
        ("highly_active", 1), ("moderately_active", 1), ("low_activity", 1), ("inactive", 1)]
    # CS101: 4 + 3 interactions, CS202: 5.
    assert client.get("/analytics/course_popularity?limit=1").json() == [
        {"course_id": "CS101", "interactions": 7, "views": 2}]
    assert client.get("/analytics/realtime/video").json() == [
        {"video_id": "V1", "views": 4, "total_watch_seconds": 360, "peak_unique_viewers": 2}]
    recent = client.get("/analytics/recent_activity?hours=1").json()
    assert (recent["interactions"], recent["video_views"], recent["total_watch_seconds"],
            recent["peak_active_users"]) == (12, 4, 360, 4)


@pytest.mark.parametrize("refreshed_ago,status", [(pd.Timedelta(0), "healthy"), (pd.Timedelta(minutes=11), "idle"),
                                                   (None, "no_data")])
def test_summary_status_says_whether_the_speed_layer_processed_a_batch_lately(client, session, clock,
                                                                              refreshed_ago, status):
    # A batch of old events processed just now is healthy: only the processing time counts, not the window's end.
    refreshed = None if refreshed_ago is None else pd.Timestamp.now(tz="UTC").floor("ms") - refreshed_ago
    an_hour_old_window = pd.Timestamp(clock.now) - pd.Timedelta(hours=1)
    t.upsert(session, t.SYSTEM_SUMMARY, pd.DataFrame([{"id": "main", "speed_refreshed_at": refreshed,
                                                       "latest_window_end": an_hour_old_window}]), ANALYTICS)
    summary = client.get("/analytics/summary").json()
    assert summary["speed_layer_status"] == status
    answered = summary["speed_refreshed_at"]
    assert (None if answered is None else pd.Timestamp(answered)) == refreshed


def test_recommendations_and_predictions_answer_for_known_ids(client):
    movies = client.get("/recommendations/movies/7").json()
    assert [(i["rank"], i["item_id"], i["title"], i["model_version"]) for i in movies["items"]] == [
        (1, 50, "A", "als-v1"), (2, 60, "B", "als-v1")]
    courses = client.get("/recommendations/courses/U9").json()
    assert [(i["item_id"], i["course_name"]) for i in courses["items"]] == [("C3", "Graphs")]
    prediction = client.get("/predictions/purchase", params={"user_id": 11, "product_id": 22}).json()
    assert (prediction["probability"], prediction["model_version"]) == (0.375, "xgb-v1")


@pytest.mark.parametrize("path", [
    "/analytics/course/NOPE", "/analytics/course/NOPE/students", "/analytics/student/NOPE",
    "/analytics/student/NOPE/courses", "/analytics/student/S1/course/NOPE", "/recommendations/movies/999999",
    "/recommendations/courses/NOPE", "/predictions/purchase?user_id=11&product_id=23",
])
def test_unknown_ids_get_a_404_that_says_what_was_missing(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "no " in response.json()["detail"]


@pytest.mark.parametrize("path", [
    "/recommendations/movies/abc", "/recommendations/movies/0", "/recommendations/courses/bad%20id!",
    "/predictions/purchase?user_id=11", "/predictions/purchase?user_id=x&product_id=1",
    "/analytics/dau?days=0", "/analytics/dau?hours=1000", "/analytics/course_popularity?limit=-1",
    "/analytics/recent_activity?hours=abc", "/analytics/courses?limit=100000", "/analytics/student/" + "x" * 65,
])
def test_malformed_input_gets_a_422_never_a_500(client, path):
    response = client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_openapi_lists_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/analytics/summary", "/analytics/recent_activity", "/analytics/student_engagement_distribution",
            "/analytics/dau", "/analytics/course_popularity", "/analytics/realtime/video", "/analytics/courses",
            "/analytics/course/{course_id}", "/analytics/course/{course_id}/students", "/analytics/students",
            "/analytics/student/{student_id}", "/analytics/student/{student_id}/courses",
            "/analytics/student/{student_id}/course/{course_id}", "/recommendations/movies/{user_id}",
            "/recommendations/courses/{user_id}", "/predictions/purchase"} <= paths


def test_replace_leaves_exactly_the_new_rows_and_upsert_keeps_other_columns(session, lake):
    keyspace, table = "analytics_writer_test", t.COURSE_STUDENT_ENROLLMENT
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    t.ensure_analytics_schema(session, keyspace)
    # Microseconds in a key: Cassandra keeps milliseconds, and the stale-key comparison must still match.
    old = pd.DataFrame({"course_id": ["K1", "K1", "K2"], "student_id": ["a", "b", "a"],
                        "enrollment_date": pd.to_datetime(["2026-01-01 10:00:00.123456Z"] * 3),
                        "total_videos_watched": [1, 2, 3]})
    assert (t.replace(session, table, old, lake, keyspace).removed) == 0
    write = t.replace(session, table, old.iloc[[1]].assign(total_videos_watched=9), lake, keyspace)
    assert (write.rows, write.removed) == (1, 2)
    held = [(r.course_id, r.student_id, r.total_videos_watched)
            for r in session.execute(f"SELECT * FROM {keyspace}.{table.name}")]
    assert held == [("K1", "b", 9)]

    t.upsert(session, t.SYSTEM_SUMMARY, pd.DataFrame([{"id": "main", "total_courses": 1, "latest_active_users": 3}]),
             keyspace)
    t.upsert(session, t.SYSTEM_SUMMARY, pd.DataFrame([{"id": "main", "total_courses": 4}]), keyspace)
    row = session.execute(f"SELECT * FROM {keyspace}.system_summary WHERE id = 'main'").one()
    assert (row.total_courses, row.latest_active_users) == (4, 3)
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


def test_ensure_schema_adds_the_speed_refresh_column_to_a_summary_table_created_without_it(session):
    keyspace = "analytics_schema_test"
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    session.execute(f"CREATE KEYSPACE {keyspace} "
                    f"WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    # system_summary as it was created before speed_refreshed_at existed, with a batch sync's row.
    session.execute(f"CREATE TABLE {keyspace}.system_summary (id text PRIMARY KEY, latest_active_users int, "
                    f"latest_window_end timestamp, active_courses_last_hour int, total_courses int, "
                    f"total_students int, batch_last_run timestamp)")
    session.execute(f"INSERT INTO {keyspace}.system_summary (id, total_courses) VALUES ('main', 4)")
    t.ensure_analytics_schema(session, keyspace)
    t.ensure_analytics_schema(session, keyspace)  # a second start-up finds the column there

    refreshed = pd.Timestamp("2026-11-24 12:00:05.250Z")
    active = speed_rows(t.ACTIVE_USERS, [{"window_start": "2026-11-24 11:58:30Z", "active_users": 6}])
    courses = speed_rows(t.COURSE_POPULARITY, [{"window_start": "2026-11-24 11:58:00Z", "course_id": "CS101",
                                                "interactions": 2, "views": 1}])
    t.upsert(session, t.SYSTEM_SUMMARY, t.speed_summary(active, courses, refreshed), keyspace)
    row = session.execute(f"SELECT * FROM {keyspace}.system_summary WHERE id = 'main'").one()
    # The newest active-users window ends at 11:59:30; the course window (11:58-11:59) is within the hour before.
    assert (row.total_courses, row.latest_active_users, row.active_courses_last_hour, row.latest_window_end,
            row.speed_refreshed_at) == (4, 6, 1, datetime(2026, 11, 24, 11, 59, 30),
                                        datetime(2026, 11, 24, 12, 0, 5, 250000))
    # A batch with no window to show still records that the speed layer processed it.
    assert t.speed_summary(pd.DataFrame(), pd.DataFrame(), refreshed).to_dict("records") == [
        {"id": "main", "speed_refreshed_at": refreshed}]
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
