"""Hand-written rows for the pages' tests: the dashboard's tables (batch days, speed windows of the last minutes,
the summary, a hostile course id) and two recommendation lists (learner U_1, viewer 7)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from cassandra.cluster import Session

from pipeline.serving import analytics_tables as t
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS, write_top_n

HOSTILE = "<script>alert(1)</script>"


def _windows(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    starts = pd.to_datetime(frame["window_start"], utc=True)
    return frame.assign(date=starts.dt.strftime("%Y-%m-%d"), window_start=starts,
                        window_end=starts + pd.Timedelta(minutes=1))


def seed_dashboard(session: Session, keyspace: str) -> None:
    """3 batch days (30, 20, 5 users), 2 speed windows (3 and 4 users), course popularity CS101 4 and HOSTILE 9,
    video V1 3 views over 300 s, 3 students (inactive, low, moderate), a summary of 12 courses and 345 students."""
    now = datetime.now(timezone.utc)
    today = now.date()
    recent = max(pd.Timestamp(now) - pd.Timedelta(minutes=5), pd.Timestamp(today, tz="UTC")).floor("30s")

    def write(table, rows):
        t.upsert(session, table, rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows), keyspace)

    write(t.SYSTEM_SUMMARY, [{"id": "main", "total_courses": 12, "total_students": 345, "batch_last_run": now,
                              "latest_active_users": 6, "active_courses_last_hour": 4, "speed_refreshed_at": now}])
    write(t.AUTH_DAILY_ACTIVE_USERS, [
        {"date": str(today - timedelta(days=2)), "daily_active_users": 30, "total_sessions": 41},
        {"date": str(today - timedelta(days=1)), "daily_active_users": 20, "total_sessions": 25},
        {"date": str(today), "daily_active_users": 5, "total_sessions": 5}])
    write(t.ACTIVE_USERS, _windows([{"window_start": recent, "active_users": 3},
                                    {"window_start": recent - pd.Timedelta(seconds=30), "active_users": 4}])
          .assign(source="speed"))
    write(t.COURSE_POPULARITY, _windows([
        {"window_start": recent, "course_id": HOSTILE, "interactions": 9, "views": 1},
        {"window_start": recent, "course_id": "CS101", "interactions": 4, "views": 2}]))
    write(t.VIDEO_ENGAGEMENT, _windows([{"window_start": recent, "video_id": "V1", "views": 3, "unique_viewers": 2,
                                         "total_watch_seconds": 300}]))
    write(t.ENGAGEMENT_DISTRIBUTION, t.engagement_distribution(pd.DataFrame(
        {"total_videos_watched": [0, 3, 40], "total_assignments_submitted": [0, 2, 5], "total_logins": [0, 1, 1]})))


def seed_recommendations(session: Session, keyspace: str) -> None:
    """Learner U_1: C_2 (a hostile name), C_3; viewer 7: Star Wars (1977), Fargo (1996)."""
    write_top_n(session, COURSE_RECOMMENDATIONS.in_keyspace(keyspace), pd.DataFrame(
        {"user_id": ["U_1", "U_1"], "rank": [1, 2], "course_id": ["C_2", "C_3"], "score": [0.9, 0.4],
         "course_name": [f"Graphs {HOSTILE}", "Algebra"]}), "als-courses-v1")
    write_top_n(session, MOVIE_RECOMMENDATIONS.in_keyspace(keyspace), pd.DataFrame(
        {"userid": [7, 7], "rank": [1, 2], "movieid": [50, 100], "score": [0.8, 0.7],
         "title": ["Star Wars (1977)", "Fargo (1996)"], "genres": ["Action|Sci-Fi", "Crime|Drama"]}),
                "als-movies-v1")
