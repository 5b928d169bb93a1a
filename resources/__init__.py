"""The project's resources, built from `pipeline.settings.Settings` by `build_resources`, their only reader."""

from __future__ import annotations

from dataclasses import asdict

import dagster as dg
from dagster_aws.s3 import S3Resource

from pipeline.kafka import KafkaConnection
from pipeline.lake import Lake
from pipeline.settings import Settings, env_name
from resources.cassandra import CassandraResource
from resources.kafka import KafkaResource
from resources.lake import LakeResource
from resources.spark import SPARK_POOL, SparkResource
from resources.thresholds import LearningEventsResource, QualityResource, SourcesResource

__all__ = ["SPARK_POOL", "CassandraResource", "KafkaResource", "LakeResource", "LearningEventsResource",
           "QualityResource", "SourcesResource", "SparkResource", "build_resources"]


def _secret(settings: Settings, field: str) -> dg.EnvVar | None:
    """Secrets stay environment variables, so the UI shows their names, never their values."""
    return dg.EnvVar(env_name(field)) if getattr(settings, field) else None


def build_resources(s: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "spark": SparkResource(
            master=s.spark_master,
            remote=s.spark_remote,
            executor_python=s.spark_executor_python,
            driver_memory=s.spark_driver_memory,
            shuffle_partitions=s.spark_shuffle_partitions,
            lake_is_s3=s.lake_is_s3,
            s3_endpoint_url=s.s3_endpoint_url,
            s3_region=s.aws_region,
            s3_access_key_id=s.aws_access_key_id,
            s3_secret_access_key=_secret(s, "aws_secret_access_key"),
            checkpoint_dir=Lake.from_settings(s).uri("_spark", "checkpoints"),
        ),
        "kafka": KafkaResource(**asdict(KafkaConnection.of(s)) | {"sasl_password": _secret(s, "kafka_sasl_password")},
                               replication_factor=s.kafka_replication_factor),
        "cassandra": CassandraResource(
            contact_points=s.cassandra_contact_points,
            port=s.cassandra_port,
            username=s.cassandra_username,
            password=_secret(s, "cassandra_password"),
            ssl_ca_file=s.cassandra_ssl_ca_file,
            local_dc=s.cassandra_local_dc,
            reco_keyspace=s.cassandra_reco_keyspace,
            analytics_keyspace=s.cassandra_analytics_keyspace,
            replication=s.cassandra_replication,
            consistency=s.cassandra_consistency,
        ),
        "lake": LakeResource(
            root=s.lake_root,
            s3=S3Resource(
                endpoint_url=s.s3_endpoint_url,
                region_name=s.aws_region,
                aws_access_key_id=s.aws_access_key_id,
                aws_secret_access_key=_secret(s, "aws_secret_access_key"),
            ),
        ),
        "events": LearningEventsResource(
            source_timezone=s.events_source_timezone,
            start_date=s.events_start_date,
            future_tolerance_seconds=s.future_tolerance_seconds,
            max_events_per_run=s.landing_max_events_per_run,
            landing_workers=s.landing_workers,
            starting_offsets=s.landing_starting_offsets,
            speed_late_tolerance_seconds=s.speed_late_tolerance_seconds,
            speed_retention_hours=s.speed_retention_hours,
        ),
        "quality": QualityResource(quarantine_max_share=s.quarantine_max_share, model_tolerance=s.model_tolerance),
        "sources": SourcesResource(
            movielens_dir=s.movielens_dir,
            data_cache_dir=s.data_cache_dir,
            mooc_dir=s.mooc_dir,
            mooc_users=s.mooc_users,
            orders_dir=s.orders_dir,
            orders_users=s.orders_users,
            students_dir=s.students_dir,
            students_count=s.students_count,
        ),
    }
