"""Auth views (seed-facts §2, #1-#5): logins, sessions and signups from the cleaned `auth` table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipeline.views.aggregate import Aggregate, DayState, Paired, count, distinct, greatest, least, micros, with_day
from pipeline.views.common import event_date, is_type, of_type
from pipeline.views.view import View

GROUP = "auth"


def _role() -> Column:
    """The event's role, or 'unknown' when the event carried none (role is optional), so the key is never null."""
    return F.coalesce(F.col("role"), F.lit("unknown")).alias("role")


def auth_daily_active_users(auth: DataFrame) -> DataFrame:
    return (
        of_type(auth, "LOGIN")
        .groupBy(event_date())
        .agg(F.countDistinct("user_id").alias("daily_active_users"),
             F.countDistinct("session_id").alias("total_sessions"))
    )


def auth_hourly_login_patterns(auth: DataFrame) -> DataFrame:
    return (
        of_type(auth, "LOGIN")
        .groupBy(event_date(), F.hour("event_time").alias("hour"))
        .agg(F.count("*").alias("login_count"))
    )


def _session_minutes(auth: DataFrame) -> DataFrame:
    """One row per LOGIN that has a LOGOUT with the same session_id at or after it: the login's user_id and
    `minutes`, the time from the login to the earliest such logout."""
    logins = of_type(auth, "LOGIN").select(
        "event_id", "user_id", "session_id", F.col("event_time").alias("login_time"))
    logouts = of_type(auth, "LOGOUT").select(
        F.col("session_id").alias("logout_session"), F.col("event_time").alias("logout_time"))
    paired = logins.join(
        logouts,
        (F.col("session_id") == F.col("logout_session")) & (F.col("logout_time") >= F.col("login_time")),
    )
    return (
        paired.groupBy("event_id", "user_id", "login_time")
        .agg(F.min("logout_time").alias("logout_time"))
        .select("user_id", ((F.unix_micros("logout_time") - F.unix_micros("login_time")) / 60e6).alias("minutes"))
    )


def auth_user_session_metrics(auth: DataFrame) -> DataFrame:
    return (
        _session_minutes(auth)
        .groupBy("user_id")
        .agg(F.count("*").alias("total_sessions"),
             F.avg("minutes").alias("avg_session_duration_minutes"),
             F.min("minutes").alias("min_session_duration_minutes"),
             F.max("minutes").alias("max_session_duration_minutes"),
             F.sum("minutes").alias("total_time_online_minutes"))
    )


# Rolled up: a login is closed by its session's earliest logout at or after it, on its own day (found there) or,
# failing that, on the first later day with a logout of the session (any logout then is later).
def _logins_of_day(auth: DataFrame) -> DataFrame:
    """Per day, each login, with the earliest logout of its session on the same day at or after it (or null)."""
    logins = of_type(auth, "LOGIN").select(event_date(), "event_id", "user_id", "session_id",
                                           F.col("event_time").alias("login_time"))
    logouts = of_type(auth, "LOGOUT").select(F.to_date("event_time").alias("logout_date"),
                                             F.col("session_id").alias("logout_session"),
                                             F.col("event_time").alias("logout_time"))
    paired = logins.join(logouts, (F.col("session_id") == F.col("logout_session"))
                         & (F.col("date") == F.col("logout_date")) & (F.col("logout_time") >= F.col("login_time")),
                         "left")
    return with_day(paired.groupBy("date", "event_id", "user_id", "session_id", "login_time")
                    .agg(F.min("logout_time").alias("logout_time")))


def _logouts_of_day(auth: DataFrame) -> DataFrame:
    """Per day and session, its first logout."""
    return with_day(of_type(auth, "LOGOUT").groupBy(event_date(), "session_id")
                    .agg(F.min("event_time").alias("first_logout")))


def _session_metrics_rolled(tables: list[pa.Table]) -> pa.Table:
    logins, logouts = tables
    same_day = logins.filter(pc.is_valid(logins["logout_time"]))
    waiting = logins.filter(pc.is_null(logins["logout_time"])).select(["event_id", "user_id", "session_id",
                                                                      "login_time", "day"])
    later = waiting.join(logouts.select(["session_id", "day", "first_logout"]).rename_columns(
        ["session_id", "logout_day", "first_logout"]), "session_id")
    later = later.filter(pc.greater(later["logout_day"], later["day"]))
    later = later.group_by(["event_id", "user_id", "login_time"]).aggregate([("first_logout", "min")])
    closed = pa.concat_tables([same_day.select(["user_id", "login_time", "logout_time"]),
                               later.select(["user_id", "login_time", "first_logout_min"]).rename_columns(
                                   ["user_id", "login_time", "logout_time"])])
    minutes = pc.divide(pc.cast(pc.subtract(micros(closed["logout_time"]), micros(closed["login_time"])),
                                pa.float64()), 60e6)
    per_user = pa.table({"user_id": closed["user_id"], "minutes": minutes}).group_by("user_id").aggregate(
        [([], "count_all"), ("minutes", "mean"), ("minutes", "min"), ("minutes", "max"), ("minutes", "sum")])
    return per_user.rename_columns(["user_id", "total_sessions", "avg_session_duration_minutes",
                                    "min_session_duration_minutes", "max_session_duration_minutes",
                                    "total_time_online_minutes"])


SESSION_METRICS = Paired(parts=(("auth", DayState(_logins_of_day)), ("auth", DayState(_logouts_of_day))),
                         rollup=_session_metrics_rolled)


USER_ACTIVITY = Aggregate(
    keys=("user_id", "role"),
    derive={"role": _role},
    measures={"total_logins": count(when=is_type("LOGIN")), "total_logouts": count(when=is_type("LOGOUT")),
              "first_activity": least("event_time"), "last_activity": greatest("event_time"),
              "unique_sessions": distinct("session_id")},
)


def auth_user_activity_summary(auth: DataFrame) -> DataFrame:
    return USER_ACTIVITY.full(auth)


def auth_registration_analytics(auth: DataFrame) -> DataFrame:
    return (
        of_type(auth, "SIGNUP")
        .groupBy(event_date(), "registration_source", _role())
        .agg(F.count("*").alias("new_signups"))
    )


VIEWS: list[View] = [
    View(
        name="auth_daily_active_users",
        group=GROUP,
        function=auth_daily_active_users,
        columns=("date", "daily_active_users", "total_sessions"),
        keys=("date",),
        date_keyed=True,
        description="One row per UTC day with logins: the number of distinct users who logged in and the "
                    "number of distinct session_ids among that day's LOGIN events.",
    ),
    View(
        name="auth_hourly_login_patterns",
        group=GROUP,
        function=auth_hourly_login_patterns,
        columns=("date", "hour", "login_count"),
        keys=("date", "hour"),
        date_keyed=True,
        description="One row per UTC day and hour of day (0-23) with logins: the number of LOGIN events in "
                    "that hour.",
    ),
    View(
        name="auth_user_session_metrics",
        group=GROUP,
        function=auth_user_session_metrics,
        rollup=SESSION_METRICS,
        columns=("user_id", "total_sessions", "avg_session_duration_minutes", "min_session_duration_minutes",
                 "max_session_duration_minutes", "total_time_online_minutes"),
        keys=("user_id",),
        date_keyed=False,
        description="One row per user with at least one completed session, over all history: the number of "
                    "their logins that were closed by a logout, and the average, shortest, longest and "
                    "total session length in minutes (logout time minus login time).",
        deviation="The original joined LOGIN to LOGOUT on session_id regardless of order, giving negative "
                  "durations and one pair per logout. Here each LOGIN is paired with the earliest LOGOUT of the "
                  "same session_id whose time is not earlier than the login's; logouts before the login, later "
                  "extra logouts, and logins never logged out are left out.",
    ),
    View(
        name="auth_user_activity_summary",
        group=GROUP,
        function=auth_user_activity_summary,
        columns=("user_id", "role", "total_logins", "total_logouts", "first_activity", "last_activity",
                 "unique_sessions"),
        keys=("user_id", "role"),
        date_keyed=False,
        rollup=USER_ACTIVITY,
        description="One row per user and role over all auth events: the number of LOGIN and LOGOUT events, "
                    "the first and last auth event time, and the number of distinct session_ids. Events "
                    "without a role are grouped under role 'unknown'.",
    ),
    View(
        name="auth_registration_analytics",
        group=GROUP,
        function=auth_registration_analytics,
        columns=("date", "registration_source", "role", "new_signups"),
        keys=("date", "registration_source", "role"),
        date_keyed=True,
        description="One row per UTC day, registration source and role: the number of SIGNUP events. Events "
                    "without a role are grouped under role 'unknown'.",
    ),
]
