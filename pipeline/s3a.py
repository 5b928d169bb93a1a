"""Spark's S3A connector, for a lake at s3://: its jars, its settings, and a committer made for object stores.

The jars come from `services/maven/s3a/pom.xml` through Maven into ~/.m2, once (`maven.classpath`); a session
names them in `spark.jars`, which also ships them to a cluster's executors.

Spark's own file writers (the cleaned CSV tables, the purchase features, model saves) commit through the S3A
*magic* committer: each task uploads its files as multipart uploads left pending, and only the job commit
completes them. Nothing is renamed (a rename on S3 is a copy of every byte, and not atomic), a failed job
leaves no partial output, and unlike the staging committers it needs no filesystem shared by the cluster's
machines. The lake's plain-Python writers (`pipeline/lake.py`) need none of this: an S3 object appears whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline import maven

POM = Path(__file__).resolve().parent / "services" / "maven" / "s3a" / "pom.xml"
CACHE_DIR = Path.home() / ".cache" / "learning-platform-pipeline" / "s3a"

COMMITTER = {
    "spark.hadoop.fs.s3a.committer.name": "magic",
    "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
    "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a": "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
    "spark.sql.sources.commitProtocolClass": "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
    "spark.sql.parquet.output.committer.class": "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
}


def jars(progress: Callable[[str], object] = print) -> list[str]:
    """The connector's jars in ~/.m2 (Maven runs the first time only, ~13 MB)."""
    return maven.classpath(POM, CACHE_DIR, "S3A connector", "13 MB", progress)


def spark_conf(endpoint_url: str | None, region: str, access_key_id: str | None = None,
               secret_access_key: str | None = None) -> dict[str, str]:
    """The S3A settings of a Spark application: endpoint, region, keys (else S3A's default provider chain:
    AWS_* variables, then the machine's role) and the committer. Spark redacts the keys in its UI and logs."""
    conf = {"spark.hadoop.fs.s3a.endpoint.region": region, **COMMITTER}
    if access_key_id and secret_access_key:
        conf |= {"spark.hadoop.fs.s3a.access.key": access_key_id,
                 "spark.hadoop.fs.s3a.secret.key": secret_access_key}
    if endpoint_url:  # MinIO, moto and other S3-compatible stores
        conf |= {
            "spark.hadoop.fs.s3a.endpoint": endpoint_url,
            "spark.hadoop.fs.s3a.path.style.access": "true",  # bucket in the path: no per-bucket DNS names
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(endpoint_url.startswith("https")).lower(),
            # S3-compatible stores do not all understand the AWS SDK's newer integrity checksums.
            "spark.hadoop.fs.s3a.checksum.generation": "false",
            "spark.hadoop.fs.s3a.create.checksum.algorithm": "",
        }
    return conf
