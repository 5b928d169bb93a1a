"""The batch side of `university_analytics`: one asset per Cassandra table, synced from its views after they
materialise (eager automation, and the jobs that build those views), replaced without an empty moment."""

import dagster as dg

from assets.keys import cassandra_table_key, view_key
from assets.metadata import cql_schema
from assets.partitions import AFTER_ALL_INPUTS_CHANGE, AFTER_INPUTS_CHANGE
from pipeline.serving import analytics_tables as tables
from pipeline.serving.analytics_sync import SYNCS, Sync, sync_table
from pipeline.views.registry import all_views
from resources import CassandraResource, LakeResource

GROUP = "serving"
DATE_KEYED_VIEWS = {v.name for v in all_views() if v.date_keyed}


def build_sync_asset(sync: Sync) -> dg.AssetsDefinition:
    table = sync.table
    # A table fed by a daily-partitioned view must not wait for its days without events.
    automation = AFTER_INPUTS_CHANGE if DATE_KEYED_VIEWS & set(sync.views) else AFTER_ALL_INPUTS_CHANGE
    how = ("Replaced on every sync: new rows are upserted, then keys no longer in the view are deleted, so "
           "readers never see the table empty." if sync.replace else "Upserted on every sync.")

    @dg.asset(
        key=cassandra_table_key(tables.KEYSPACE, table.name),
        deps=[view_key(v) for v in sync.views],
        group_name=GROUP,
        kinds={"cassandra"},
        automation_condition=automation,
        description=f"{sync.description}\n\n{how} Primary key: {', '.join(table.key)}.",
        metadata={"dagster/column_schema": cql_schema(table)},
        check_specs=[dg.AssetCheckSpec("rows_match_source", asset=cassandra_table_key(tables.KEYSPACE, table.name),
                                       description="After the sync, the partitions it wrote or deleted from hold "
                                                   "exactly the rows written from its views (no stale row left), "
                                                   "counted one partition at a time, never by a table scan.")]
        if sync.replace else None,
    )
    def _sync(context: dg.AssetExecutionContext, lake: LakeResource, cassandra: CassandraResource):
        keyspace = cassandra.analytics_keyspace
        with cassandra.session() as session:
            tables.ensure_analytics_schema(session, keyspace, cassandra.replication)
            write = sync_table(session, lake.get_lake(), sync, keyspace, log=context.log.warning)
        context.log.info(f"{keyspace}.{table.name}: {write.rows} rows, {write.removed} removed, {write.seconds:.1f}s")
        yield dg.MaterializeResult(metadata={
            "dagster/row_count": write.rows, "rows_removed": write.removed, "seconds": round(write.seconds, 2),
            "table": f"{keyspace}.{table.name}",
        })
        if sync.replace:
            yield dg.AssetCheckResult(check_name="rows_match_source", passed=write.held == write.rows,
                                      metadata={"written": write.rows, "in_written_partitions": write.held})

    return _sync


ASSETS = [build_sync_asset(s) for s in SYNCS]
SERVING_TABLE_KEYS = [cassandra_table_key(tables.KEYSPACE, s.table.name) for s in SYNCS]
DAILY_ACTIVE_USERS_TABLE = cassandra_table_key(tables.KEYSPACE, tables.AUTH_DAILY_ACTIVE_USERS.name)
