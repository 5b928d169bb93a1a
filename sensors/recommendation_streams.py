"""Kafka sensors of the interaction streams: each new batch of ratings or enrolments lands, and its users'
top-10 lists are re-scored and upserted in Cassandra, in one run.

Like the learning-event sensor: end offsets only, a cursor of next offsets, run keys from the ranges, ranges
in the run config (so a retried run reads the same records).
"""

from __future__ import annotations

import json

import dagster as dg

from assets.learning_events import LandingBatch
from assets.recommenders import RecommendationRefresh, stream_key, table_key
from pipeline.events.landing import batch_id, landed_ranges
from pipeline.ml.recommendations import COURSES, MOVIES, Recommender
from pipeline.ml.streams import RAW_ZONE
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS, TopNTable
from pipeline.settings import get_settings
from resources import KafkaResource, LakeResource
from sensors.offsets import ends_of, plan_landing


def _op_name(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def build_stream_job_and_sensor(rec: Recommender, table: TopNTable, job_name: str) -> tuple[dg.UnresolvedAssetJobDefinition,
                                                                             dg.SensorDefinition]:
    topic = rec.stream.topic
    job = dg.define_asset_job(
        job_name,
        selection=dg.AssetSelection.assets(stream_key(rec), table_key(table)),
        executor_def=dg.in_process_executor,
        description=f"Land a batch of `{topic}` and re-score its users' top 10 in {table.keyspace}.{table.name}.",
    )

    @dg.sensor(
        name=f"{topic}_sensor", job=job, default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=get_settings().stream_sensor_interval_seconds,
        description=f"Lands new offsets of `{topic}` and re-scores the users they mention.",
    )
    def sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource):
        offsets = json.loads(context.cursor) if context.cursor else {}
        batches = plan_landing(context, offsets, kafka.end_offsets([topic]),
                               lambda: ends_of(landed_ranges(lake.get_lake(), (*RAW_ZONE, topic))))
        requests = []
        for batch in batches:
            landing = LandingBatch.of(batch)
            requests.append(dg.RunRequest(
                job_name=job.name,
                run_key=f"{topic}-{batch_id(batch)}",
                run_config=dg.RunConfig(ops={
                    _op_name(stream_key(rec)): landing,
                    _op_name(table_key(table)): RecommendationRefresh(ranges=landing.ranges),
                }),
                tags={"kafka/records": str(sum(len(r) for r in batch))},
            ))
        cursor = json.dumps(offsets, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason=f"no new offsets in {topic}", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return job, sensor


refresh_movie_recommendations, movielens_ratings_sensor = build_stream_job_and_sensor(
    MOVIES, MOVIE_RECOMMENDATIONS, "refresh_movie_recommendations")
refresh_course_recommendations, user_course_interact_sensor = build_stream_job_and_sensor(
    COURSES, COURSE_RECOMMENDATIONS, "refresh_course_recommendations")
