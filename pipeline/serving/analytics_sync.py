"""Which view feeds which `university_analytics` batch table, and the sync itself (pyarrow, no Spark: the views
are small summaries and a sync must not wait for a Spark session)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from cassandra.cluster import Session

from pipeline.lake import Lake
from pipeline.serving import analytics_tables as t
from pipeline.serving.cassandra_tables import CassandraTable
from pipeline.views.materialize import VIEWS_ZONE


@dataclass(frozen=True)
class Sync:
    table: CassandraTable
    views: tuple[str, ...]  # the views it reads, in the order `rows` takes them
    rows: Callable[..., pd.DataFrame] = lambda view: view
    replace: bool = True  # False: upsert the columns `rows` gives, keep the rest (system_summary's speed columns)
    description: str = ""


def _dated(view: pd.DataFrame) -> pd.DataFrame:
    return view.assign(date=view["date"].astype(str))


SYNCS = [
    Sync(t.COURSE_OVERVIEW, ("course_overview",), description="One row per course (views/course_overview)."),
    Sync(t.STUDENT_OVERVIEW, ("student_overview",), description="One row per student (views/student_overview)."),
    Sync(t.STUDENT_COURSE_ENROLLMENT, ("student_course_enrollment",),
         description="A student's enrolments, one partition per student (views/student_course_enrollment)."),
    Sync(t.COURSE_STUDENT_ENROLLMENT, ("student_course_enrollment",),
         description="The same enrolments, one partition per course, for a course's student list."),
    Sync(t.STUDENT_COURSE_DETAILED, ("student_course_detailed",),
         description="Per student and course activity, one partition per student (views/student_course_detailed)."),
    Sync(t.AUTH_DAILY_ACTIVE_USERS, ("auth_daily_active_users",), _dated,
         description="Daily active users per UTC day (views/auth_daily_active_users, every day): the batch side of "
                     "the DAU endpoint."),
    Sync(t.ENGAGEMENT_DISTRIBUTION, ("student_overview",), t.engagement_distribution,
         description="Students per engagement level; interactions = videos watched + assignments submitted + "
                     "logins: >50 highly_active, 10-50 moderately_active, 1-9 low_activity, 0 inactive."),
    Sync(t.SYSTEM_SUMMARY, ("course_overview", "student_overview"),
         lambda courses, students: t.batch_summary(courses, students, pd.Timestamp.now(tz="UTC")), replace=False,
         description="The batch columns of the one `main` row: total courses and students, batch_last_run (the "
                     "speed refresh writes the latest active users and the active courses of the last hour)."),
]


def read_view_table(lake: Lake, view: str) -> pd.DataFrame:
    """A view as written by Spark (every day of a date-keyed one, `date` from its folder names)."""
    dataset = lake.dataset(*VIEWS_ZONE, view)
    if dataset is None:
        raise FileNotFoundError(f"views/{view} has not been materialised yet")
    return dataset.to_table().to_pandas()


def sync_table(session: Session, lake: Lake, sync: Sync, keyspace: str = t.KEYSPACE,
               log: Callable[[str], object] = print) -> t.TableWrite:
    rows = sync.rows(*(read_view_table(lake, v) for v in sync.views))
    if sync.replace:
        return t.replace(session, sync.table, rows, lake, keyspace, log=log)
    return t.upsert(session, sync.table, rows, keyspace)
