"""Kafka sensors of the interaction streams (movie ratings, course enrolments, purchase feature records, survey
submissions): each new batch lands, and what it feeds is refreshed in the same run (a serving table for just what
the batch touches; cleaned/students from every submission).

Like the learning-event sensor: end offsets only, a cursor of next offsets, run keys from the ranges, ranges
in the run config (so a retried run reads the same records).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import dagster as dg

from assets.keys import CLEANED_STUDENT_RECORDS, CLEANED_STUDENTS, RAW_STUDENT_RECORDS, cassandra_table_key, stream_key
from assets.purchase import PREDICTIONS_KEY
from assets.streams import ServingRefresh, StreamLanding
from pipeline.events.landing import batch_id, landed_ranges
from pipeline.ml.purchase.orders import FEATURE_STREAM
from pipeline.ml.recommendations import COURSES, MOVIES
from pipeline.ml.streams import RAW_ZONE, InteractionStream
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS
from pipeline.survey.stream import SURVEY_STREAM
from resources import KafkaResource, LakeResource, LearningEventsResource
from sensors.jobs import serial
from sensors.offsets import ends_of, plan_landing


@dataclass(frozen=True)
class StreamRefresh:
    """A Kafka stream, the serving table a batch of it refreshes, the job that does both, and what it changes."""

    stream: InteractionStream
    serving: dg.AssetKey
    job_name: str
    refreshes: str  # what a batch changes, for the descriptions
    serving_takes_ranges: bool = True  # False: the serving asset rebuilds from everything landed, without config
    selection: dg.AssetSelection | None = None  # what a batch's run materialises; unset: the stream and `serving`


def build_stream_job(refresh: StreamRefresh):  # an unresolved asset job (no public type)
    return dg.define_asset_job(
        refresh.job_name,
        selection=refresh.selection or dg.AssetSelection.assets(stream_key(refresh.stream), refresh.serving),
        tags=serial(refresh.stream.topic),
        description=f"Land a batch of `{refresh.stream.topic}` and {refresh.refreshes}.",
    )


STREAM_REFRESHES = [
    StreamRefresh(MOVIES.stream, cassandra_table_key(MOVIE_RECOMMENDATIONS.keyspace, MOVIE_RECOMMENDATIONS.name), "refresh_movie_recommendations",
                  "re-scores the top 10 of the users it mentions"),
    StreamRefresh(COURSES.stream, cassandra_table_key(COURSE_RECOMMENDATIONS.keyspace, COURSE_RECOMMENDATIONS.name), "refresh_course_recommendations",
                  "re-scores the top 10 of the users it mentions"),
    StreamRefresh(FEATURE_STREAM, PREDICTIONS_KEY, "score_purchase_features",
                  "scores its feature records with the serving model, upserting their purchase predictions"),
    # The survey's answers follow every submission: the run also cleans the student records (cheap, and the
    # questions need them) and re-answers every question down to the results page's table.
    StreamRefresh(SURVEY_STREAM, CLEANED_STUDENTS, "land_student_survey",
                  "rebuilds cleaned/students with its submissions, then the survey's answers and survey_results",
                  serving_takes_ranges=False,
                  selection=(dg.AssetSelection.assets(stream_key(SURVEY_STREAM)).downstream()
                             | dg.AssetSelection.assets(RAW_STUDENT_RECORDS, CLEANED_STUDENT_RECORDS))),
]
STREAM_JOBS = {refresh.job_name: build_stream_job(refresh) for refresh in STREAM_REFRESHES}


def build_stream_sensor(refresh: StreamRefresh, interval_seconds: int) -> dg.SensorDefinition:
    """The sensor that starts the refresh's job for every new batch of its stream."""
    stream, topic, serving = refresh.stream, refresh.stream.topic, refresh.serving

    @dg.sensor(
        name=f"{topic}_sensor", job=STREAM_JOBS[refresh.job_name], default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_seconds,
        description=f"Lands new offsets of `{topic}` and {refresh.refreshes}. Every {interval_seconds} s "
                    f"(STREAM_SENSOR_INTERVAL_SECONDS).",
    )
    def sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource,
               events: LearningEventsResource):
        offsets = json.loads(context.cursor) if context.cursor else {}
        batches = plan_landing(context, offsets, kafka.end_offsets([topic]),
                               lambda: ends_of(landed_ranges(lake.get_lake(), (*RAW_ZONE, topic))), events)
        # The landing day is the sensor's, kept by the run config: a retry after midnight lands the same folder.
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        requests = []
        for batch in batches:
            landing = StreamLanding.of(batch, today)
            requests.append(dg.RunRequest(
                job_name=refresh.job_name,
                run_key=f"{topic}-{batch_id(batch)}",
                run_config=dg.RunConfig(ops={
                    stream_key(stream).to_python_identifier(): landing,
                    **({serving.to_python_identifier(): ServingRefresh(ranges=landing.ranges)}
                       if refresh.serving_takes_ranges else {}),
                }),
                tags={"kafka/records": str(sum(len(r) for r in batch))},
            ))
        cursor = json.dumps(offsets, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason=f"no new offsets in {topic}", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return sensor
