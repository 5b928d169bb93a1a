"""A view whose keys are not unique never reaches Cassandra: its blocking check stops the serving sync in the run,
and the automation does not start it later.

The project's own view and sync assets (`build_views_asset`, `build_sync_asset`) on the real Cassandra; only the
view's function is replaced, by one returning rows written out here, so the test knows which rows are right.
"""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest
from pyspark.sql import DataFrame, SparkSession

from assets.keys import cassandra_table_key, view_key
from assets.serving_tables import build_sync_asset
from assets.views import build_views_asset
from pipeline.serving.analytics_sync import SYNCS
from pipeline.views.registry import all_views
from pipeline_tests.keyspaces import scratch_keyspaces
from resources import build_resources

pytestmark = pytest.mark.services

COURSE_OVERVIEW = next(v for v in all_views() if v.name == "course_overview")
SYNC = next(s for s in SYNCS if s.table.name == "course_overview")
GOOD = [("C1", 3, 10, 2), ("C2", 1, 4, 0)]
DUPLICATE_KEY = [("C1", 3, 10, 2), ("C1", 99, 99, 99), ("C2", 7, 7, 7)]


def view_returning(spark: SparkSession, rows: list[tuple]):
    def course_overview(course: DataFrame, video: DataFrame) -> DataFrame:  # reads nothing, returns `rows`
        return spark.createDataFrame(rows, "course_id string, total_enrolled_students int, "
                                           "total_videos_watched int, total_materials_downloaded int")

    # Without its roll-up declaration, the view is computed by its function, as every view without one is.
    return dataclasses.replace(COURSE_OVERVIEW, function=course_overview, rollup=None)


def stored(session, keyspace: str) -> set[tuple]:
    columns = ", ".join(SYNC.table.column_names)
    return {tuple(r) for r in session.execute(f"SELECT {columns} FROM {keyspace}.course_overview")}


def assets(spark, rows) -> list[dg.AssetsDefinition]:
    return [build_views_asset([view_returning(spark, rows)]), build_sync_asset(SYNC)]


def definitions(spark, settings) -> dg.Definitions:
    return dg.Definitions(assets=assets(spark, GOOD), resources=build_resources(settings))


def materialize(spark, settings, instance, rows, selection=None):
    return dg.materialize(assets(spark, rows), resources=build_resources(settings), instance=instance,
                          selection=selection, raise_on_error=False)


def test_a_view_with_duplicate_keys_does_not_reach_cassandra(services, lake_env, spark):
    keyspace = lake_env.cassandra_analytics_keyspace
    with scratch_keyspaces(lake_env, keyspace) as session, dg.instance_for_test() as instance:
        good = materialize(spark, lake_env, instance, GOOD)
        assert good.success
        assert stored(session, keyspace) == set(GOOD)  # the sync works when the keys are unique
        settled = dg.evaluate_automation_conditions(defs=definitions(spark, lake_env), instance=instance)

        bad = materialize(spark, lake_env, instance, DUPLICATE_KEY)
        assert not bad.success
        checks = {c.check_name: c.passed for c in bad.get_asset_check_evaluations()}
        assert checks["keys_unique"] is False
        materialized = {e.asset_key for e in bad.get_asset_materialization_events()}
        assert view_key(COURSE_OVERVIEW.name) in materialized and cassandra_table_key("university_analytics", SYNC.table.name) not in materialized
        started = {e.step_key for e in bad.all_events if e.event_type == dg.DagsterEventType.STEP_START}
        assert started == {"learning_views_all_time"}  # the sync step never started
        # Cassandra still holds the last good rows, not C1's second row nor C2's new numbers.
        assert stored(session, keyspace) == set(GOOD)

        # Nor does the automation sync it afterwards, until the view is fixed.
        sync = cassandra_table_key("university_analytics", SYNC.table.name)
        after_bad = dg.evaluate_automation_conditions(defs=definitions(spark, lake_env), instance=instance,
                                                      cursor=settled.cursor)
        assert after_bad.get_num_requested(sync) == 0
        assert materialize(spark, lake_env, instance, GOOD, selection=[view_key(COURSE_OVERVIEW.name)]).success
        after_fix = dg.evaluate_automation_conditions(defs=definitions(spark, lake_env), instance=instance,
                                                      cursor=after_bad.cursor)
        assert after_fix.get_num_requested(sync) == 1
