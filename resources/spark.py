"""SparkResource: one SparkSession per process, local by default, a cluster or Spark Connect by setting."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import dagster as dg
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field
from pyspark.sql import SparkSession

from pipeline import s3a
from pipeline.spark_code import code_archive
from pipeline.spark_conf import DRIVER_CONF
from resources.secrets import revealed

# The concurrency pool of every asset that runs Spark. dagster.yaml gives it one slot at run granularity: one
# run holding a Spark driver at a time, however the run was launched (UI, CLI, sensor, schedule, automation).
SPARK_POOL = "spark"


class SparkResource(dg.ConfigurableResource):
    """Builds (or reuses) the process's SparkSession.

    `master` is `local[*]` by default, or a cluster's master URL; `remote` (a Spark Connect URL such as
    sc://host:15002) wins when set. Asset code must not touch `sparkContext`, which Spark Connect lacks.
    Sessions always run in UTC so that dates are UTC dates. On a cluster or Connect, the session ships the
    project's code to its executors (`pipeline/spark_code.py`); a Connect session is sent only the SQL
    settings (the server owns the application's own: memory, jars, checkpoint folder, S3A). With an s3:// lake a
    classic session adds the S3A connector and its magic committer (`pipeline/s3a.py`).
    Local and cluster sessions get `pipeline/spark_conf.py`'s driver settings (the Connect server has them).
    """

    master: str = Field(default="local[*]", description="Spark master URL (ignored when `remote` is set).")
    remote: str | None = Field(default=None, description="Spark Connect URL, e.g. sc://spark:15002.")
    executor_python: str | None = Field(default=None, description="The Python a cluster's executors run "
                                        "(PYSPARK_PYTHON of the driver); unset: python3.")
    driver_memory: str = Field(default="4g", description="spark.driver.memory for local sessions.")
    shuffle_partitions: int = Field(default=8, description="spark.sql.shuffle.partitions: small machine, small number.")
    lake_is_s3: bool = Field(default=False, description="Add the S3A connector when the lake is s3://.")
    s3_endpoint_url: str | None = Field(default=None, description="S3A endpoint for MinIO and other S3 stores.")
    s3_region: str = Field(default="us-east-1", description="Region S3A signs requests for.")
    s3_access_key_id: str | None = Field(default=None, description="S3 access key (unset: S3A's default chain).")
    s3_secret_access_key: str | None = Field(default=None, description="S3 secret key.")
    checkpoint_dir: str | None = Field(default=None, description="spark.checkpoint.dir: iterative jobs (ALS) "
                                       "cut their lineage there, or a deep plan overflows the stack.")
    conf: dict[str, str] = Field(default_factory=dict, description="Extra spark.* settings.")

    @property
    def is_local(self) -> bool:
        return not self.remote and self.master.startswith("local")

    def sql_conf(self) -> dict[str, str]:
        """The session's SQL settings: all a Spark Connect session is sent (besides `conf`)."""
        return {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.adaptive.enabled": "true",
        }

    def session_conf(self) -> dict[str, str]:
        conf = self.sql_conf() | DRIVER_CONF | {
            "spark.app.name": "learning-platform-pipeline",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": self.driver_memory,
        }
        if not self.is_local:
            conf["spark.submit.pyFiles"] = str(code_archive(CODE_FOLDER))
        if self.checkpoint_dir:
            conf["spark.checkpoint.dir"] = self.checkpoint_dir
        if self.lake_is_s3:
            conf |= {"spark.jars": ",".join(s3a.jars())} | s3a.spark_conf(
                self.s3_endpoint_url, self.s3_region, self.s3_access_key_id, revealed(self.s3_secret_access_key))
        return conf | self.conf

    def get_session(self) -> SparkSession:
        if self.remote:
            return connect_session(self.remote, self.sql_conf() | self.conf)
        if self.is_local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # a local driver needs no public address
            # Python workers run this interpreter (with numpy and pandas), not whatever python3 is on the PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        else:
            # PySpark sends its driver's PYSPARK_PYTHON with every Python function: the executors run that path.
            os.environ.update(PYSPARK_PYTHON=self.executor_python or "python3")
        # dagster-pyspark builds (or reuses) the session from one flat config.
        session = spark_session_from_config({"spark.master": self.master, **self.session_conf()})
        # getOrCreate returns an existing session unchanged: make the one setting correctness depends on hold.
        session.conf.set("spark.sql.session.timeZone", "UTC")
        return session


# Where sessions write the project's code archive before shipping it (the driver's disk only: Spark serves it).
CODE_FOLDER = Path(tempfile.gettempdir()) / "learning-platform-pipeline-code"
_shipped: set[tuple[str, str]] = set()  # (Connect session id, archive) already added


def connect_session(url: str, conf: dict[str, str]) -> SparkSession:
    """A Spark Connect session (reused within the process) that has the project's code as an artifact."""
    session = SparkSession.builder.remote(url).config(map=conf).getOrCreate()
    for key, value in conf.items():  # a reused session keeps its settings: make these hold
        session.conf.set(key, value)
    archive = code_archive(CODE_FOLDER)
    if (session.session_id, archive.name) not in _shipped:
        session.addArtifacts(str(archive), pyfile=True)
        _shipped.add((session.session_id, archive.name))
    return session
