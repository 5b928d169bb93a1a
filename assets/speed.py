"""The speed layer: three windowed views refreshed by every landing run from the events it staged, written to
the speed zone and upserted into Cassandra (`university_analytics`), with the system_summary's speed columns."""

import dagster as dg
import pandas as pd

from assets.keys import STAGED_EVENTS, speed_key
from assets.learning_events import LandingBatch
from assets.metadata import cql_schema
from pipeline.events.landing import batch_id
from pipeline.serving import analytics_tables as tables
from pipeline.speed.layer import read_windows, refresh_speed
from pipeline.speed.windows import SPEED_VIEWS, SpeedView
from resources import CassandraResource, LakeResource, LearningEventsResource

GROUP = "speed"


def _spec(view: SpeedView) -> dg.AssetSpec:
    table = tables.SPEED_TABLES[view.name]
    return dg.AssetSpec(
        speed_key(view.name), deps=[STAGED_EVENTS], group_name=GROUP, kinds={"pandas", "parquet", "cassandra"},
        description=(f"{view.description}\n\nRefreshed by every landing run from the events it staged; late events "
                     f"within SPEED_LATE_TOLERANCE_SECONDS (default 120) of the newest accepted event update their "
                     f"window, later ones (and any older than SPEED_RETENTION_HOURS, default 48) are counted in "
                     f"`too_late` and left to the batch views; rows expire after the retention. Written to "
                     f"`speed/{view.name}/date=<window day>/` and upserted into "
                     f"`university_analytics.{view.name}` (keyed by window day, then window_start descending)."),
        metadata={"dagster/column_schema": cql_schema(table)},
    )


@dg.multi_asset(specs=[_spec(v) for v in SPEED_VIEWS], name="refresh_speed_views")
def refresh_speed_views(context: dg.AssetExecutionContext, config: LandingBatch, lake: LakeResource,
                        cassandra: CassandraResource, events: LearningEventsResource):
    the_lake = lake.get_lake()
    tolerance = pd.Timedelta(seconds=events.speed_late_tolerance_seconds)
    retention = pd.Timedelta(hours=events.speed_retention_hours)
    refresh = refresh_speed(the_lake, batch_id(config.offset_ranges()), tolerance, retention)
    context.log.info(f"speed: {refresh.on_time} events on time, {refresh.too_late} too late, days {refresh.days}")
    keyspace = cassandra.analytics_keyspace
    written = {}
    with cassandra.session() as session:
        tables.ensure_analytics_schema(session, keyspace, cassandra.replication)
        for name, changed in refresh.changed.items():
            rows = changed.assign(date=changed["window_start"].dt.strftime("%Y-%m-%d"), source="speed")
            written[name] = tables.upsert(session, tables.SPEED_TABLES[name], rows, keyspace,
                                          ttl_seconds=int(retention.total_seconds())).rows
        # Every batch marks the speed layer as working, even one whose events were all too late.
        latest = refresh.days[-1] if refresh.days else None
        windows = [read_windows(the_lake, view, latest) if latest else pd.DataFrame()
                   for view in ("active_users", "course_popularity")]
        summary = tables.speed_summary(*windows, refreshed_at=pd.Timestamp.now(tz="UTC"))
        tables.upsert(session, tables.SYSTEM_SUMMARY, summary, keyspace)
    for view in SPEED_VIEWS:
        yield dg.MaterializeResult(asset_key=speed_key(view.name), metadata={
            "windows_upserted": written.get(view.name, 0),
            "days_recomputed": refresh.days,
            "days_pruned": refresh.pruned,
            "event_objects_compacted": refresh.compacted,
            "events_on_time": refresh.on_time,
            "too_late": refresh.too_late,
            "watermark": str(refresh.newest_before - tolerance) if refresh.newest_before is not None else "none yet",
            "batch_id": refresh.batch,
        })


ASSETS = [refresh_speed_views]
