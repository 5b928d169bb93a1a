"""LakeResource: the lake root (local folder or s3://) and, for S3, the dagster-aws client settings."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from pipeline.lake import Lake
from resources.secrets import revealed


class LakeResource(dg.ConfigurableResource):
    root: str = Field(description="Local folder, or s3://bucket/prefix for MinIO or AWS.")
    s3: S3Resource = Field(
        default_factory=S3Resource,
        description="S3 client settings (endpoint_url for MinIO, region, keys); used when root is s3://.",
    )

    def get_lake(self) -> Lake:
        return Lake(
            root=self.root,
            s3_endpoint_url=self.s3.endpoint_url,
            aws_region=self.s3.region_name or "us-east-1",
            aws_access_key_id=self.s3.aws_access_key_id,
            aws_secret_access_key=revealed(self.s3.aws_secret_access_key),
        )
