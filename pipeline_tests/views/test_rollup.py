"""All-time views rolled up from per-day partials equal the view computed over the whole history, on random
events, and a roll-up recomputes the partials of exactly the days whose cleaned objects changed."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyspark.sql import functions as F

from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.events.cleaning import clean_partition, cleaned_parts, read_cleaned
from pipeline.lake import Lake
from pipeline.views.aggregate import Joined, Paired
from pipeline.views.partials import (PARTIALS_ZONE, partial_parts, parts, plan_refresh, refresh_partials,
                                     refresh_queries, roll_up, rolled_up)
from pipeline.views.registry import VIEWS_BY_NAME, all_views
from pipeline.views.view import View
from pipeline_tests.views.fixtures import cleaned, generated_lake
from pipeline_tests.views.test_views import CASES, _rows

ROLLED_UP = [v for v in all_views() if v.rollup is not None]
END = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)


def random_history(tmp_path_factory, events: int) -> tuple[Lake, list[str]]:
    lake, days = generated_lake(tmp_path_factory.mktemp("rollup"), seed=23, events=events, end=END, days=3.5)
    assert len(days) == 4
    return lake, days


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """4,000 random events over four UTC days: every view has rows."""
    return random_history(tmp_path_factory, 4000)


@pytest.fixture(scope="module")
def sparse_history(tmp_path_factory):
    """400: gaps (a student enrolled who never watched a video, a day without some event type) that a joined
    view's roll-up must fill with 0 or leave null as the full query does."""
    return random_history(tmp_path_factory, 400)


def by_key(view: View, rows) -> dict[tuple, tuple]:
    """The rows by their key, the other columns in order (a row per key: the views' keys are unique)."""
    keyed = {tuple(r[k] for k in view.keys): tuple(r[c] for c in view.columns if c not in view.keys) for r in rows}
    assert len(keyed) == len(rows), f"{view.name}: duplicate keys"
    return keyed


def same(a, b) -> bool:
    """Equal, floats within summation-order error (the roll-up adds the days' sums, the full query every value)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b and type(a) is type(b) or (isinstance(a, Decimal) and a == b)


def full_recompute(spark, lake, view: View):
    """The view function over every cleaned day, in one Spark query: what the view was before partials."""
    return view.compute({c: read_cleaned(spark, lake, CATEGORY_BY_NAME[c]) for c in view.categories}).toArrow()


def assert_equal_views(view: View, rolled: pa.Table, full: pa.Table) -> None:
    rolled_rows, full_rows = by_key(view, rolled.to_pylist()), by_key(view, full.to_pylist())
    assert rolled_rows.keys() == full_rows.keys(), view.name
    for key, values in full_rows.items():
        assert all(same(a, b) for a, b in zip(rolled_rows[key], values)), (view.name, key, rolled_rows[key], values)


def test_every_all_time_view_rolls_up_and_the_pairings_are_paired_across_days():
    """None is left to a full recompute; the views that pair events (a login with its logout, a first view with
    the first submission after it, a send with its click) keep per-day states and pair across days."""
    assert [v.name for v in all_views() if not v.date_keyed and v.rollup is None] == []
    assert {v.name for v in ROLLED_UP if isinstance(v.rollup, Paired)} == {
        "auth_user_session_metrics", "assessment_engagement_timeline", "notification_click_through_rate",
        "notification_user_preferences", "notification_user_summary"}


def _local(value):
    """A collected UTC timestamp as the hand-computed cases write it (PySpark's collect(): naive, local)."""
    return value.astimezone().replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value


@pytest.mark.parametrize("view", ROLLED_UP, ids=lambda v: v.name)
def test_the_rolled_up_view_gives_its_hand_computed_rows(spark, tmp_path, view):
    """The view's hand-computed case (pipeline_tests/views/cases_*.py), its events filed under their UTC days as
    the cleaning files them, rolled up from the days' partials: a pair across midnight (a session, a click the
    next day, a submission days after the view) is found across the days' states."""
    case, lake = CASES[view.name], Lake(str(tmp_path))
    for category in view.categories:
        events = cleaned(spark, category, case.inputs.get(category, [])).toArrow()
        days = pc.cast(events["event_time"], pa.date32())
        for day in pc.unique(days).to_pylist():
            lake.write_parquet(events.filter(pc.equal(days, day)), *cleaned_parts(category, day), "part.parquet")
    rolled = roll_up(spark, lake, view).view
    assert rolled.column_names == list(view.columns)
    assert _rows([tuple(_local(r[c]) for c in view.columns) for r in rolled.to_pylist()]) == _rows(case.expected), \
        case.note


def assert_rolls_up_to_the_full_recompute(spark, lake, view: View) -> pa.Table:
    rolled = roll_up(spark, lake, view)
    cleaned_days = {f.removeprefix("date=") for c in view.categories for f in lake.folders("cleaned", c)}
    assert rolled.days_recomputed == sorted(cleaned_days)
    full = full_recompute(spark, lake, view)
    assert [(f.name, f.type) for f in rolled.view.schema] == [(f.name, f.type) for f in full.schema]
    assert_equal_views(view, rolled.view, full)
    return full


@pytest.mark.parametrize("view", ROLLED_UP, ids=lambda v: v.name)
def test_the_rolled_up_view_equals_the_full_recompute(spark, history, view):
    full = assert_rolls_up_to_the_full_recompute(spark, history[0], view)
    assert full.num_rows > 0, f"{view.name}: 4,000 random events give every view rows"


@pytest.mark.parametrize("view", [v for v in ROLLED_UP if isinstance(v.rollup, Joined)], ids=lambda v: v.name)
def test_a_joined_view_rolls_up_to_the_full_recompute_on_sparse_events(spark, sparse_history, view):
    assert_rolls_up_to_the_full_recompute(spark, sparse_history[0], view)


def test_a_roll_up_recomputes_the_changed_days_only_and_forgets_the_vanished_ones(spark, tmp_path):
    lake, days = generated_lake(tmp_path, seed=5, events=2000, end=END, days=3.5)
    view = VIEWS_BY_NAME["auth_user_activity_summary"]
    assert roll_up(spark, lake, view).days_recomputed == days  # the first time: every day
    assert roll_up(spark, lake, view).days_recomputed == []  # nothing changed

    clean_partition(lake, CATEGORY_BY_NAME["auth"], days[1])  # a day cleaned again (say, with late events)
    assert roll_up(spark, lake, view).days_recomputed == [days[1]]

    lake.delete_folder(*cleaned_parts("auth", days[2]))  # a day no longer in the cleaned zone
    rolled = roll_up(spark, lake, view)
    assert (rolled.days_recomputed, rolled.days_dropped) == ([], [days[2]])
    assert lake.folders(*partial_parts(view, parts(view)[0])) == [f"date={d}" for d in days if d != days[2]]
    assert_equal_views(view, rolled.view, full_recompute(spark, lake, view))


def test_every_all_time_view_refreshed_in_one_pass_equals_the_full_recompute(spark, history):
    """As a pass computes them: the partials of every view at once, a category's aggregates in one query."""
    lake, days = history
    lake.delete_folder(*PARTIALS_ZONE)  # the tests of one view at a time leave theirs, each in its own folder
    refreshed = refresh_partials(spark, lake, ROLLED_UP, concurrent=4)
    try:
        assert {name: r.days_recomputed for name, r in refreshed.items()} == {v.name: days for v in ROLLED_UP}
        for view in ROLLED_UP:
            assert_equal_views(view, rolled_up(spark, lake, view), full_recompute(spark, lake, view))
    finally:
        lake.delete_folder(*PARTIALS_ZONE)


def test_a_pass_computes_a_categorys_aggregates_in_one_query_and_a_shared_state_once(spark, tmp_path):
    lake, days = generated_lake(tmp_path, seed=8, events=1000, end=END, days=1.5)
    notifications = [VIEWS_BY_NAME[name] for name in ("notification_click_through_rate",
                                                      "notification_user_preferences", "notification_user_summary")]
    views = [*notifications, *(VIEWS_BY_NAME[name] for name in (
        "notification_delivery_stats", "course_material_access", "course_overall_metrics", "course_overview"))]
    queries = refresh_queries(plan_refresh(spark, lake, views))
    # The course aggregates (course_overview's two course parts among them) in one query, the notification
    # aggregate in another; the day's sends and the day's clicks, which the three notification views all pair, once.
    assert sorted((q[0].part.category, type(q[0].part.aggregate).__name__, len(q)) for q in queries) == [
        ("course", "Aggregate", 4), ("notification", "Aggregate", 1), ("notification", "DayState", 3),
        ("notification", "DayState", 3), ("video", "Aggregate", 1)]
    assert all(item.stale == tuple(days) for query in queries for item in query)

    refreshed = refresh_partials(spark, lake, views, concurrent=4)
    for view in views:
        assert refreshed[view.name].days_recomputed == days
        assert_equal_views(view, rolled_up(spark, lake, view), full_recompute(spark, lake, view))
    assert refresh_queries(plan_refresh(spark, lake, views)) == []


def test_a_changed_definition_recomputes_every_day_and_no_cleaned_day_gives_an_empty_view(spark, tmp_path):
    lake, days = generated_lake(tmp_path, seed=6, events=1000, end=END, days=1.5)
    view = VIEWS_BY_NAME["course_material_popularity"]
    assert roll_up(spark, lake, view).days_recomputed == days
    students_only = replace(view, rollup=replace(view.rollup, where=lambda: view.rollup.where() & (
        F.col("role") == "student")))
    assert roll_up(spark, lake, students_only).days_recomputed == days

    empty = Lake(str(tmp_path / "empty"))
    rolled = roll_up(spark, empty, view)
    assert rolled.view.num_rows == 0 and rolled.days_recomputed == []
    assert rolled.view.schema.names == list(view.columns)
    assert [f.type for f in rolled.view.schema] == [f.type for f in full_recompute(spark, empty, view).schema]
