"""Cassandra keyspace `university_analytics` (seed-facts §7.2): the speed, batch and dashboard tables the HTTP API
reads, and their writers.

Every table is keyed for the API's queries, so each request is one prepared, single-partition (or `IN` over a
few partitions) statement:

- the speed tables are partitioned by the UTC day of the window and clustered by window_start descending, so
  "the windows of the last N hours" reads one or two partitions (the seed keyed active_users by the window
  and course_popularity by course, which would need a scan of the whole table for the same question);
- the enrolment tables are partitioned by student (and the reverse table by course), so a drill-down is
  one partition.

Batch tables are replaced without an empty moment: the new rows are upserted first, then the rows whose key
is no longer in the view are deleted (the seed truncated, then inserted, so readers saw an empty table).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args

from pipeline.cassandra import LOCAL_REPLICATION
from pipeline.lake import Lake
from pipeline.serving.cassandra_tables import CassandraTable, ensure_tables
from pipeline.serving.key_ledger import KeyLedger, rewrite, rows_held

KEYSPACE = "university_analytics"


WINDOW_COLUMNS = (("date", "text"), ("window_start", "timestamp"), ("window_end", "timestamp"))

ACTIVE_USERS = CassandraTable("active_users", (*WINDOW_COLUMNS, ("active_users", "int"), ("source", "text")),
                              ("date",), ("window_start",), descending=True)
COURSE_POPULARITY = CassandraTable(
    "course_popularity", (*WINDOW_COLUMNS, ("course_id", "text"), ("interactions", "int"), ("views", "int")),
    ("date",), ("window_start", "course_id"), descending=True)
VIDEO_ENGAGEMENT = CassandraTable(
    "video_engagement", (*WINDOW_COLUMNS, ("video_id", "text"), ("views", "int"), ("unique_viewers", "int"),
                         ("total_watch_seconds", "bigint")),
    ("date",), ("window_start", "video_id"), descending=True)
SPEED_TABLES = {t.name: t for t in (ACTIVE_USERS, COURSE_POPULARITY, VIDEO_ENGAGEMENT)}

COURSE_OVERVIEW = CassandraTable(
    "course_overview", (("course_id", "text"), ("total_enrolled_students", "int"), ("total_videos_watched", "int"),
                        ("total_materials_downloaded", "int")), ("course_id",))
STUDENT_OVERVIEW = CassandraTable(
    "student_overview", (("student_id", "text"), ("total_courses_enrolled", "int"), ("total_videos_watched", "int"),
                         ("total_assignments_submitted", "int"), ("avg_assignment_score", "double"),
                         ("total_logins", "int")), ("student_id",))
STUDENT_COURSE_ENROLLMENT = CassandraTable(
    "student_course_enrollment", (("student_id", "text"), ("course_id", "text"), ("enrollment_date", "timestamp"),
                                  ("total_videos_watched", "int")),
    ("student_id",), ("course_id", "enrollment_date"))
COURSE_STUDENT_ENROLLMENT = CassandraTable(
    "course_student_enrollment", (("course_id", "text"), ("student_id", "text"), ("enrollment_date", "timestamp"),
                                  ("total_videos_watched", "int")),
    ("course_id",), ("student_id", "enrollment_date"))
STUDENT_COURSE_DETAILED = CassandraTable(
    "student_course_detailed", (("student_id", "text"), ("course_id", "text"), ("videos_watched", "int"),
                                ("materials_downloaded", "int"), ("last_activity_date", "timestamp"),
                                ("watch_time_minutes", "double")),
    ("student_id",), ("course_id",))
AUTH_DAILY_ACTIVE_USERS = CassandraTable(
    "auth_daily_active_users", (("date", "text"), ("daily_active_users", "int"), ("total_sessions", "int")),
    ("date",))
ENGAGEMENT_DISTRIBUTION = CassandraTable(
    "engagement_distribution", (("category", "text"), ("students", "int"), ("lower_bound", "int"),
                                ("upper_bound", "int")), ("category",))
SYSTEM_SUMMARY = CassandraTable(
    "system_summary", (("id", "text"), ("latest_active_users", "int"), ("latest_window_end", "timestamp"),
                       ("active_courses_last_hour", "int"), ("speed_refreshed_at", "timestamp"),
                       ("total_courses", "int"), ("total_students", "int"), ("batch_last_run", "timestamp")),
    ("id",), added_columns=("speed_refreshed_at",))
SUMMARY_ID = "main"  # the one row; the speed refresh writes the four columns after id, the batch sync the others

BATCH_TABLES = {t.name: t for t in (COURSE_OVERVIEW, STUDENT_OVERVIEW, STUDENT_COURSE_ENROLLMENT,
                                    COURSE_STUDENT_ENROLLMENT, STUDENT_COURSE_DETAILED, AUTH_DAILY_ACTIVE_USERS)}
ALL_TABLES = (*SPEED_TABLES.values(), *BATCH_TABLES.values(), ENGAGEMENT_DISTRIBUTION, SYSTEM_SUMMARY)


def ensure_analytics_schema(session: Session, keyspace: str = KEYSPACE, replication: str = LOCAL_REPLICATION) -> None:
    """Create the keyspace and tables if absent, and add the columns that tables created before them lack."""
    ensure_tables(session, ALL_TABLES, keyspace, replication)


@dataclass(frozen=True)
class TableWrite:
    table: str
    rows: int
    removed: int
    seconds: float
    held: int | None = None  # after a full rewrite: the rows the partitions it wrote or deleted from now hold


_CONVERT = {"int": int, "bigint": int, "double": float, "text": str}


def _python_rows(table: CassandraTable, frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    """The table's columns present in `frame`, and its rows as the driver wants them: Python values, None for
    missing, naive UTC datetimes truncated to Cassandra's milliseconds (so keys read back compare equal)."""
    missing = [c for c in table.key if c not in frame.columns]
    if missing:
        raise ValueError(f"{table.name}: rows lack key columns {missing}")
    names = [c for c in table.column_names if c in frame.columns]
    columns = []
    for name in names:
        cql_type, values = dict(table.columns)[name], frame[name]
        if cql_type == "timestamp":
            values = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.floor("ms")
            columns.append([None if pd.isna(v) else v.to_pydatetime() for v in values])
        else:
            convert = _CONVERT[cql_type]
            columns.append([None if pd.isna(v) else convert(v) for v in values.astype(object).tolist()])
        if name in table.key and any(v is None for v in columns[-1]):
            raise ValueError(f"{table.name}: null key column {name}")
    return names, list(zip(*columns, strict=True))


def _insert(session: Session, table: CassandraTable, names: list[str], rows: list[tuple], keyspace: str,
            concurrency: int, ttl_seconds: int | None = None) -> None:
    ttl = f" USING TTL {int(ttl_seconds)}" if ttl_seconds else ""
    insert = session.prepare(f"INSERT INTO {keyspace}.{table.name} ({', '.join(names)}) "
                             f"VALUES ({', '.join('?' for _ in names)}){ttl}")
    execute_concurrent_with_args(session, insert, rows, concurrency=concurrency, raise_on_first_error=True)


def upsert(session: Session, table: CassandraTable, frame: pd.DataFrame, keyspace: str = KEYSPACE,
           concurrency: int = 64, ttl_seconds: int | None = None) -> TableWrite:
    """Insert or overwrite the rows of `frame`: the table's columns that `frame` has (the key columns at least);
    the others keep their values. With `ttl_seconds` the rows expire (the speed tables)."""
    started = time.monotonic()
    names, rows = _python_rows(table, frame)
    _insert(session, table, names, rows, keyspace, concurrency, ttl_seconds)
    return TableWrite(table.name, len(rows), 0, time.monotonic() - started)


def replace(session: Session, table: CassandraTable, frame: pd.DataFrame, lake: Lake, keyspace: str = KEYSPACE,
            concurrency: int = 64, log: Callable[[str], object] = print) -> TableWrite:
    """Make the table hold exactly the rows of `frame`, never empty on the way: upsert, then delete the keys
    that are no longer there, known from the table's key ledger in `lake` (no scan). `held` counts the rows of
    every partition written or deleted from, one partition at a time: equal to `rows` when no stale row is left."""
    started = time.monotonic()
    names, rows = _python_rows(table, frame)
    positions = [names.index(k) for k in table.key]
    wanted = {tuple(row[i] for i in positions) for row in rows}
    ledger = KeyLedger(lake, f"{keyspace}.{table.name}", table.key)
    stale = rewrite(session, ledger, wanted,
                    lambda: _insert(session, table, names, rows, keyspace, concurrency), log, concurrency)
    held = rows_held(session, ledger.qualified, table.partition_key, wanted | stale, concurrency)
    return TableWrite(table.name, len(rows), len(stale), time.monotonic() - started, held)


# Engagement distribution (seed-facts §7.2): interactions = videos watched + assignments submitted + logins.
ENGAGEMENT_LEVELS = (("highly_active", 51, None), ("moderately_active", 10, 50), ("low_activity", 1, 9),
                     ("inactive", 0, 0))


def batch_summary(course_overview: pd.DataFrame, student_overview: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """The batch columns of the system_summary row."""
    return pd.DataFrame([{"id": SUMMARY_ID, "total_courses": course_overview["course_id"].nunique(),
                          "total_students": student_overview["student_id"].nunique(), "batch_last_run": now}])


def speed_summary(active_users: pd.DataFrame, course_popularity: pd.DataFrame,
                  refreshed_at: pd.Timestamp) -> pd.DataFrame:
    """The speed columns of the system_summary row: the newest active_users window, the courses with an
    interaction in the hour before its end, and when the speed layer processed a batch (`refreshed_at`), which
    tells an idle speed layer from a working one."""
    refreshed = {"id": SUMMARY_ID, "speed_refreshed_at": refreshed_at}
    if active_users.empty and course_popularity.empty:
        return pd.DataFrame([refreshed])
    newest = active_users.loc[active_users["window_start"].idxmax()] if len(active_users) else None
    end = newest["window_end"] if newest is not None else course_popularity["window_end"].max()
    recent = course_popularity[course_popularity["window_end"] > end - pd.Timedelta(hours=1)]
    return pd.DataFrame([{**refreshed, "latest_window_end": end,
                          "latest_active_users": None if newest is None else int(newest["active_users"]),
                          "active_courses_last_hour": recent["course_id"].nunique()}])


def engagement_distribution(student_overview: pd.DataFrame) -> pd.DataFrame:
    """Students per engagement level, every level present (0 when none)."""
    interactions = (student_overview["total_videos_watched"] + student_overview["total_assignments_submitted"]
                    + student_overview["total_logins"])
    rows = []
    for category, low, high in ENGAGEMENT_LEVELS:
        inside = (interactions >= low) & (interactions <= high if high is not None else True)
        rows.append({"category": category, "students": int(inside.sum()), "lower_bound": low, "upper_bound": high})
    return pd.DataFrame(rows)
