"""The project's resources, built from `pipeline.settings` (environment variables with local defaults)."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from pipeline.lake import Lake
from pipeline.settings import Settings, get_settings
from resources.cassandra import CassandraResource
from resources.kafka import KafkaResource
from resources.lake import LakeResource
from resources.spark import SPARK_POOL, SparkResource

__all__ = ["SPARK_POOL", "CassandraResource", "KafkaResource", "LakeResource", "SparkResource", "build_resources"]


def _secret(name: str, value: str | None) -> dg.EnvVar | None:
    """Secrets stay environment variables, so the UI shows their names, never their values."""
    return dg.EnvVar(name) if value else None


def build_resources(settings: Settings | None = None) -> dict:
    s = settings or get_settings()
    return {
        "spark": SparkResource(
            master=s.spark_master,
            remote=s.spark_remote,
            driver_memory=s.spark_driver_memory,
            shuffle_partitions=s.spark_shuffle_partitions,
            lake_is_s3=s.lake_is_s3,
            s3_endpoint_url=s.s3_endpoint_url,
            s3_region=s.aws_region,
            checkpoint_dir=Lake.from_settings(s).uri("_spark", "checkpoints"),
        ),
        "kafka": KafkaResource(
            bootstrap_servers=s.kafka_bootstrap_servers,
            security_protocol=s.kafka_security_protocol,
            sasl_mechanism=s.kafka_sasl_mechanism,
            sasl_username=s.kafka_sasl_username,
            sasl_password=_secret("KAFKA_SASL_PASSWORD", s.kafka_sasl_password),
            ssl_ca_location=s.kafka_ssl_ca_location,
        ),
        "cassandra": CassandraResource(
            contact_points=s.cassandra_contact_points,
            port=s.cassandra_port,
            username=s.cassandra_username,
            password=_secret("CASSANDRA_PASSWORD", s.cassandra_password),
            local_dc=s.cassandra_local_dc,
        ),
        "lake": LakeResource(
            root=s.lake_root,
            s3=S3Resource(
                endpoint_url=s.s3_endpoint_url,
                region_name=s.aws_region,
                aws_access_key_id=s.aws_access_key_id,
                aws_secret_access_key=_secret("AWS_SECRET_ACCESS_KEY", s.aws_secret_access_key),
            ),
        ),
    }
