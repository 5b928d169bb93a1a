"""The live analytics the API answers and the dashboard draws: the summary, recent activity, the engagement
distribution, daily active users (batch days merged with speed windows), course popularity and realtime video
engagement, each read from the serving tables by one function over a `Store`. Where the tables hold nothing yet,
a function says so with None or an empty list; the API answers that with a 404, the dashboard with "no data yet"."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel

from pipeline.serving import analytics_tables as tables
from pipeline.serving.store import Store

SPEED_IDLE_AFTER = timedelta(minutes=10)  # no landing batch processed for this long: the speed layer is "idle"


class Summary(BaseModel):
    total_courses: int | None
    total_students: int | None
    batch_last_run: datetime | None
    latest_active_users: int | None
    latest_window_end: datetime | None  # event time: the end of the newest active_users window
    active_courses_last_hour: int | None
    speed_refreshed_at: datetime | None  # processing time: when the speed layer last processed a landing batch
    speed_layer_status: Literal["healthy", "idle", "no_data"]


class RecentActivity(BaseModel):
    hours: int
    since: datetime
    interactions: int
    video_views: int
    total_watch_seconds: int
    peak_active_users: int
    windows: int


class EngagementLevel(BaseModel):
    category: str
    students: int
    lower_bound: int
    upper_bound: int | None


class DauRow(BaseModel):
    source: str  # batch (a UTC day, from views/auth_daily_active_users) or speed (a 1-minute window of today)
    time: datetime  # the day's start, or the window's start
    date: date
    active_users: int
    partial: bool  # the day or window had not ended when answered: its count can still grow
    window_end: datetime | None = None
    total_sessions: int | None = None


class CoursePopularity(BaseModel):
    course_id: str
    interactions: int
    views: int


class VideoActivity(BaseModel):
    video_id: str
    views: int
    total_watch_seconds: int
    peak_unique_viewers: int


async def summary(store: Store) -> Summary | None:
    """Courses and students with an enrolment (batch sync), the latest speed window's active users and the
    courses active in the hour before it. `speed_layer_status` says whether the speed layer is working, from
    `speed_refreshed_at` (when it last processed a landing batch, processing time): `healthy` if that was
    within the last 10 minutes, `idle` if not (no new events have landed, or the landing sensor is stopped),
    `no_data` if it never has. Event times play no part: a batch of events a few minutes old is healthy."""
    rows = await store.rows("summary", tables.SUMMARY_ID)
    if not rows:
        return None
    row = rows[0]
    refreshed = row.get("speed_refreshed_at")
    status = ("no_data" if refreshed is None else
              "healthy" if datetime.now(timezone.utc) - refreshed <= SPEED_IDLE_AFTER else "idle")
    return Summary(**{k: row.get(k) for k in Summary.model_fields if k != "speed_layer_status"},
                   speed_layer_status=status)


async def recent_activity(store: Store, hours: int) -> RecentActivity:
    now = datetime.now(timezone.utc)
    since = now - timedelta(hours=hours)
    courses, videos, active = await asyncio.gather(store.windows("course_windows", since, now),
                                                   store.windows("video_windows", since, now),
                                                   store.windows("active_users", since, now))
    return RecentActivity(hours=hours, since=since, interactions=sum(r["interactions"] for r in courses),
                          video_views=sum(r["views"] for r in videos),
                          total_watch_seconds=sum(r["total_watch_seconds"] for r in videos),
                          peak_active_users=max((r["active_users"] for r in active), default=0),
                          windows=len({r["window_start"] for r in (*courses, *videos, *active)}))


async def engagement_distribution(store: Store) -> list[dict]:
    order = [level for level, _, _ in tables.ENGAGEMENT_LEVELS]
    rows = await store.rows("engagement")
    return sorted(rows, key=lambda r: order.index(r["category"]))


async def daily_active_users(store: Store, days: int, hours: int) -> list[DauRow]:
    """Daily active users, sorted by `time`, each row once:

    - `source: batch`: distinct users who logged in on a UTC day (views/auth_daily_active_users, with its
      sessions), for each of the last `days` closed days (`partial: false`) and for today (`partial: true`:
      the events landed so far, synced minutes after they land, late ones included). A day without logins,
      or not synced yet, has no row.
    - `source: speed`: distinct users who logged in during a 1-minute window of today (sliding every 30 s)
      that starts within the last `hours`, from the speed layer: seconds after events land, but without the
      events that came later than its tolerance. `partial: true` while the window has not ended.
    """
    now = datetime.now(timezone.utc)
    today = now.date()
    batch_days = [(today - timedelta(days=i)).isoformat() for i in range(days, -1, -1)]
    since = max(now - timedelta(hours=hours), datetime.combine(today, datetime.min.time(), timezone.utc))
    batch, speed = await asyncio.gather(store.rows("dau_days", batch_days), store.windows("active_users", since, now))
    rows = [DauRow(source="batch", time=datetime.fromisoformat(r["date"]).replace(tzinfo=timezone.utc),
                   date=date.fromisoformat(r["date"]), active_users=r["daily_active_users"],
                   partial=r["date"] == today.isoformat(), total_sessions=r["total_sessions"]) for r in batch]
    rows += [DauRow(source="speed", time=r["window_start"], date=r["window_start"].date(),
                    active_users=r["active_users"], partial=r["window_end"] > now, window_end=r["window_end"])
             for r in speed]
    return sorted(rows, key=lambda r: r.time)


async def course_popularity(store: Store, limit: int, hours: int) -> list[dict]:
    now = datetime.now(timezone.utc)
    windows = await store.windows("course_windows", now - timedelta(hours=hours), now)
    return _ranked_totals(windows, "course_id", limit, ("interactions", "views"))


async def realtime_video(store: Store, limit: int, hours: int) -> list[dict]:
    now = datetime.now(timezone.utc)
    windows = await store.windows("video_windows", now - timedelta(hours=hours), now)
    return _ranked_totals(windows, "video_id", limit, ("views", "total_watch_seconds"),
                          peaks={"peak_unique_viewers": "unique_viewers"})


def _ranked_totals(windows: list[dict], key: str, limit: int, sums: tuple[str, ...],
                   peaks: dict[str, str] | None = None) -> list[dict]:
    """Speed windows added up per `key` (`sums`; `peaks` maps an output name to the column whose maximum it
    takes), the first of `sums` descending, then the key."""
    peaks = peaks or {}
    totals: dict[str, dict] = {}
    for row in windows:
        total = totals.setdefault(row[key], {key: row[key], **dict.fromkeys((*sums, *peaks), 0)})
        for column in sums:
            total[column] += row[column]
        for name, column in peaks.items():
            total[name] = max(total[name], row[column])
    return sorted(totals.values(), key=lambda t: (-t[sums[0]], t[key]))[:limit]
