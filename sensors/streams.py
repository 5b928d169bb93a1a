"""Kafka sensors of the interaction streams (movie ratings, course enrolments, purchase feature records): each
new batch lands, and the serving table it feeds is refreshed for just what the batch touches, in one run.

Like the learning-event sensor: end offsets only, a cursor of next offsets, run keys from the ranges, ranges
in the run config (so a retried run reads the same records).
"""

from __future__ import annotations

import json

import dagster as dg

from assets.learning_events import LandingBatch
from assets.purchase import PREDICTIONS_KEY
from assets.recommenders import table_key
from assets.streams import ServingRefresh, stream_key
from pipeline.events.landing import batch_id, landed_ranges
from pipeline.ml.purchase.orders import FEATURE_STREAM
from pipeline.ml.recommendations import COURSES, MOVIES
from pipeline.ml.streams import RAW_ZONE, InteractionStream
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS
from pipeline.settings import get_settings
from resources import KafkaResource, LakeResource
from sensors.jobs import serial
from sensors.offsets import ends_of, plan_landing


def _op_name(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def build_stream_job_and_sensor(stream: InteractionStream, serving: dg.AssetKey, job_name: str,
                                refreshes: str) -> tuple[dg.UnresolvedAssetJobDefinition, dg.SensorDefinition]:
    """The job that lands a batch of `stream` and refreshes `serving` from it, and the sensor that starts it.
    `refreshes` says what a batch changes, for the descriptions."""
    topic = stream.topic
    job = dg.define_asset_job(
        job_name,
        selection=dg.AssetSelection.assets(stream_key(stream), serving),
        tags=serial(topic),
        description=f"Land a batch of `{topic}` and {refreshes}.",
    )

    @dg.sensor(
        name=f"{topic}_sensor", job=job, default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=get_settings().stream_sensor_interval_seconds,
        description=f"Lands new offsets of `{topic}` and {refreshes}.",
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
                    _op_name(stream_key(stream)): landing,
                    _op_name(serving): ServingRefresh(ranges=landing.ranges),
                }),
                tags={"kafka/records": str(sum(len(r) for r in batch))},
            ))
        cursor = json.dumps(offsets, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason=f"no new offsets in {topic}", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return job, sensor


refresh_movie_recommendations, movielens_ratings_sensor = build_stream_job_and_sensor(
    MOVIES.stream, table_key(MOVIE_RECOMMENDATIONS), "refresh_movie_recommendations",
    "re-scores the top 10 of the users it mentions")
refresh_course_recommendations, user_course_interact_sensor = build_stream_job_and_sensor(
    COURSES.stream, table_key(COURSE_RECOMMENDATIONS), "refresh_course_recommendations",
    "re-scores the top 10 of the users it mentions")
score_purchase_features, purchase_features_sensor = build_stream_job_and_sensor(
    FEATURE_STREAM, PREDICTIONS_KEY, "score_purchase_features",
    "scores its feature records with the serving model, upserting their purchase predictions")
