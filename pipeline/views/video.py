"""Video views (#13-#19 of seed-facts §2): watch-time aggregates over VIDEO_WATCHED events.

Every view groups the same events by different keys and picks from one set of named measures
(`_MEASURES`), so a measure such as "hours" is defined once for all seven views.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame

from pipeline.views.aggregate import (Aggregate, Bands, Joined, Measure, Percent, count, distinct, greatest, least,
                                      mean, total)
from pipeline.views.common import event_date, is_type, of_type
from pipeline.views.view import View

SECONDS = "watch_duration_seconds"

# Measure name -> how VIDEO_WATCHED rows aggregate into it.
_MEASURES: dict[str, Callable[[], Measure]] = {
    "seconds": lambda: total(SECONDS),
    "minutes": lambda: total(SECONDS, per=60),
    "hours": lambda: total(SECONDS, per=3600),
    "events": count,
    "sessions": lambda: count(of="session_id"),
    "avg": lambda: mean(SECONDS),
    "max": lambda: greatest(SECONDS),
    "min": lambda: least(SECONDS),
    "videos": lambda: distinct("video_id"),
    "viewers": lambda: distinct("user_id"),
}


def _watched(keys: tuple[str, ...], finish: Bands | None = None, **columns: str) -> Aggregate:
    """VIDEO_WATCHED events grouped by `keys`, with each output column given as `name="measure"`."""
    return Aggregate(keys=keys, where=is_type("VIDEO_WATCHED"), finish=finish,
                     measures={name: _MEASURES[m]() for name, m in columns.items()})


def _watch_stats(video: DataFrame, keys: list, **columns: str) -> DataFrame:
    """Like `_watched`, grouped by columns (a day, say) rather than names."""
    return of_type(video, "VIDEO_WATCHED").groupBy(*keys).agg(
        *[_MEASURES[m]().full().alias(name) for name, m in columns.items()])


TOTAL_WATCH_TIME = _watched(
    ("user_id", "video_id", "course_id"),
    total_watch_seconds="seconds", total_watch_sessions="sessions", avg_watch_duration_seconds="avg",
    longest_session_seconds="max", shortest_session_seconds="min", total_watch_minutes="minutes",
    total_watch_hours="hours",
)
STUDENT_ENGAGEMENT = _watched(
    ("user_id", "course_id"),
    unique_videos_watched="videos", total_watch_seconds="seconds", total_video_events="events",
    avg_watch_duration_seconds="avg", total_watch_hours="hours",
)
POPULARITY = _watched(
    ("video_id", "course_id"),
    unique_viewers="viewers", total_views_seconds="seconds", total_view_events="events",
    avg_view_duration_seconds="avg", total_views_hours="hours",
)
COURSE_METRICS = _watched(
    ("course_id",),
    total_students_watching="viewers", total_videos_in_course="videos",
    total_course_watch_seconds="seconds", total_course_watch_hours="hours",
)


DROP_OFF_INDICATORS = _watched(
    ("video_id", "course_id"),
    finish=Bands("potential_drop_off", of="avg_watch_duration", bands=((60, "High Risk"), (180, "Medium Risk")),
                 otherwise="Good Engagement"),
    total_views="events", avg_watch_duration="avg", min_watch_duration="min", unique_viewers="viewers",
)


STUDENT_COURSE_SUMMARY = Joined(
    parts=(("video", _watched(("user_id", "course_id"), videos_watched_count="videos", total_watch_seconds="seconds",
                              total_sessions="sessions", total_watch_hours="hours")),
           ("video", _watched(("course_id",), total_videos_in_course="videos"))),
    finish=Percent("video_coverage_percentage", part="videos_watched_count", whole="total_videos_in_course"),
)


def video_total_watch_time(video: DataFrame) -> DataFrame:
    return TOTAL_WATCH_TIME.full(video)


def video_student_engagement(video: DataFrame) -> DataFrame:
    return STUDENT_ENGAGEMENT.full(video)


def video_popularity(video: DataFrame) -> DataFrame:
    return POPULARITY.full(video)


def video_daily_engagement(video: DataFrame) -> DataFrame:
    return _watch_stats(
        video, [event_date(), "course_id"],
        active_video_watchers="viewers", unique_videos_watched="videos", total_watch_seconds="seconds",
        total_watch_events="events", total_watch_hours="hours",
    )


def video_course_metrics(video: DataFrame) -> DataFrame:
    return COURSE_METRICS.full(video)


def video_student_course_summary(video: DataFrame) -> DataFrame:
    return STUDENT_COURSE_SUMMARY.full({"video": video})


def video_drop_off_indicators(video: DataFrame) -> DataFrame:
    return DROP_OFF_INDICATORS.full(video)


VIEWS: list[View] = [
    View(
        name="video_total_watch_time", group="video", function=video_total_watch_time,
        rollup=TOTAL_WATCH_TIME,
        columns=("user_id", "video_id", "course_id", "total_watch_seconds", "total_watch_sessions",
                 "avg_watch_duration_seconds", "longest_session_seconds", "shortest_session_seconds",
                 "total_watch_minutes", "total_watch_hours"),
        keys=("user_id", "video_id", "course_id"), date_keyed=False,
        description="One row per student, video and course over all history: the sum, count (non-null "
                    "session_id), mean, longest and shortest of watch_duration_seconds of VIDEO_WATCHED events, "
                    "and the sum in minutes (/60) and hours (/3600).",
    ),
    View(
        name="video_student_engagement", group="video", function=video_student_engagement,
        rollup=STUDENT_ENGAGEMENT,
        columns=("user_id", "course_id", "unique_videos_watched", "total_watch_seconds", "total_video_events",
                 "avg_watch_duration_seconds", "total_watch_hours"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and course over all history: distinct videos watched, summed watch "
                    "seconds, number of VIDEO_WATCHED events, mean seconds per event and summed hours.",
    ),
    View(
        name="video_popularity", group="video", function=video_popularity,
        rollup=POPULARITY,
        columns=("video_id", "course_id", "unique_viewers", "total_views_seconds", "total_view_events",
                 "avg_view_duration_seconds", "total_views_hours"),
        keys=("video_id", "course_id"), date_keyed=False,
        description="One row per video and course over all history: distinct viewers, summed watch seconds, "
                    "number of VIDEO_WATCHED events, mean seconds per event and summed hours.",
    ),
    View(
        name="video_daily_engagement", group="video", function=video_daily_engagement,
        columns=("date", "course_id", "active_video_watchers", "unique_videos_watched", "total_watch_seconds",
                 "total_watch_events", "total_watch_hours"),
        keys=("date", "course_id"), date_keyed=True,
        description="One row per UTC day and course: distinct students and distinct videos watched, summed "
                    "watch seconds, number of VIDEO_WATCHED events and summed hours.",
    ),
    View(
        name="video_course_metrics", group="video", function=video_course_metrics,
        rollup=COURSE_METRICS,
        columns=("course_id", "total_students_watching", "total_videos_in_course", "total_course_watch_seconds",
                 "total_course_watch_hours"),
        keys=("course_id",), date_keyed=False,
        description="One row per course over all history: distinct students watching, distinct videos watched "
                    "(the only video catalogue there is), summed watch seconds and hours. No completion rate: "
                    "video lengths are unknown.",
    ),
    View(
        name="video_student_course_summary", group="video", function=video_student_course_summary,
        rollup=STUDENT_COURSE_SUMMARY,
        columns=("course_id", "user_id", "videos_watched_count", "total_watch_seconds", "total_sessions",
                 "total_watch_hours", "total_videos_in_course", "video_coverage_percentage"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and course over all history: distinct videos, summed seconds, sessions "
                    "(non-null session_id) and hours; total_videos_in_course is the distinct videos anyone "
                    "watched in the course, and coverage = watched / total x 100, rounded half-up to "
                    "decimal(5,2).",
        rates=("video_coverage_percentage",),
    ),
    View(
        name="video_drop_off_indicators", group="video", function=video_drop_off_indicators,
        rollup=DROP_OFF_INDICATORS,
        columns=("video_id", "course_id", "total_views", "avg_watch_duration", "min_watch_duration",
                 "unique_viewers", "potential_drop_off"),
        keys=("video_id", "course_id"), date_keyed=False,
        description="One row per video and course over all history: VIDEO_WATCHED events, mean and shortest "
                    "watch seconds and distinct viewers, labelled `High Risk` when the mean is under 60 s, "
                    "`Medium Risk` under 180 s, else `Good Engagement`.",
    ),
]
