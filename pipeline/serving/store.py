"""The serving API's access to Cassandra: every query it runs, prepared once at start-up and run asynchronously on
the driver's event loop (a request never blocks a worker thread), and the tables it reads, created at start-up if
absent (idempotent), so the API can start before the first sync and answer 404 until data arrives."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from cassandra.cluster import Cluster, Session
from cassandra.query import PreparedStatement, dict_factory

from pipeline.cassandra import connect as connect_session, open_cluster
from pipeline.serving import analytics_tables as tables
from pipeline.serving.api_keys import API_KEYS, ensure_keys_table
from pipeline.serving.predictions import ensure_predictions_table
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS, ensure_top_n_table
from pipeline.settings import Settings
from pipeline.survey.serving import SURVEY_RESULTS, ensure_results_table

QUERIES = {
    "summary": "SELECT * FROM {a}.system_summary WHERE id = ?",
    "engagement": "SELECT * FROM {a}.engagement_distribution",
    "dau_days": "SELECT * FROM {a}.auth_daily_active_users WHERE date IN ?",
    "active_users": "SELECT * FROM {a}.active_users WHERE date = ? AND window_start >= ?",
    "course_windows": "SELECT * FROM {a}.course_popularity WHERE date = ? AND window_start >= ?",
    "video_windows": "SELECT * FROM {a}.video_engagement WHERE date = ? AND window_start >= ?",
    "courses": "SELECT * FROM {a}.course_overview LIMIT ?",
    "course": "SELECT * FROM {a}.course_overview WHERE course_id = ?",
    "course_students": "SELECT * FROM {a}.course_student_enrollment WHERE course_id = ? LIMIT ?",
    "students": "SELECT * FROM {a}.student_overview LIMIT ?",
    "student": "SELECT * FROM {a}.student_overview WHERE student_id = ?",
    "student_courses": "SELECT * FROM {a}.student_course_enrollment WHERE student_id = ?",
    "student_course": "SELECT * FROM {a}.student_course_detailed WHERE student_id = ? AND course_id = ?",
    **{query: f"SELECT rank, {t.item_column}, score, {', '.join(t.label_columns)}, model_version, updated_at "
                f"FROM {{r}}.{t.name} WHERE {t.user_column} = ?"
       for query, t in (("movie_recs", MOVIE_RECOMMENDATIONS), ("course_recs", COURSE_RECOMMENDATIONS))},
    **{query: f"SELECT DISTINCT {t.user_column} FROM {{r}}.{t.name} LIMIT ?"  # a few users the pages can offer
       for query, t in (("movie_rec_users", MOVIE_RECOMMENDATIONS), ("course_rec_users", COURSE_RECOMMENDATIONS))},
    "prediction": "SELECT * FROM {r}.purchase_predictions WHERE user_id = ? AND product_id = ?",
    "survey_results": f"SELECT * FROM {{a}}.{SURVEY_RESULTS.name}",  # one row per question: a dozen rows
    "api_key": f"SELECT * FROM {{a}}.{API_KEYS.name} WHERE key_id = ?",
}


def connect(settings: Settings) -> tuple[Cluster, Session]:
    cluster = open_cluster(settings.cassandra_contact_points, settings.cassandra_port, settings.cassandra_username,
                           settings.cassandra_password, settings.cassandra_local_dc, request_timeout=10,
                           row_factory=dict_factory, consistency=settings.cassandra_consistency,
                           ssl_ca_file=settings.cassandra_ssl_ca_file)
    return cluster, connect_session(cluster)


class Store:
    """The prepared statements, run asynchronously."""

    def __init__(self, session: Session, analytics_keyspace: str, reco_keyspace: str):
        self.session = session
        self.statements: dict[str, PreparedStatement] = {
            name: session.prepare(cql.format(a=analytics_keyspace, r=reco_keyspace)) for name, cql in QUERIES.items()
        }

    async def rows(self, name: str, *params: Any) -> list[dict]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        collected: list[dict] = []

        def settle(method, value):
            if not done.done():
                method(value)

        def on_page(rows):  # the driver's thread, once per page
            collected.extend(rows)
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                loop.call_soon_threadsafe(settle, done.set_result, collected)

        future = self.session.execute_async(self.statements[name], params)
        future.add_callbacks(on_page, lambda error: loop.call_soon_threadsafe(settle, done.set_exception, error))
        return [_utc(row) for row in await done]

    async def windows(self, name: str, since: datetime, until: datetime) -> list[dict]:
        """Speed windows starting at or after `since`, from the day partitions up to `until`, newest first."""
        days = [(since + timedelta(days=i)).date() for i in range((until.date() - since.date()).days + 1)]
        parts = await asyncio.gather(*(self.rows(name, d.isoformat(), since) for d in reversed(days)))
        return [row for part in parts for row in part]


def _utc(row: dict) -> dict:
    """The driver returns naive UTC datetimes: say so in the JSON."""
    return {k: v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) else v for k, v in row.items()}


def ensure_serving_schema(session: Session, settings: Settings) -> None:
    """Every table the API reads, in the settings' keyspaces."""
    rf, analytics, reco = (settings.cassandra_replication, settings.cassandra_analytics_keyspace,
                           settings.cassandra_reco_keyspace)
    tables.ensure_analytics_schema(session, analytics, rf)
    for table in (MOVIE_RECOMMENDATIONS, COURSE_RECOMMENDATIONS):
        ensure_top_n_table(session, table.in_keyspace(reco), rf)
    ensure_predictions_table(session, reco, rf)
    ensure_results_table(session, analytics, rf)
    ensure_keys_table(session, analytics, rf)
