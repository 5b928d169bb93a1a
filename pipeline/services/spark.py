"""A Spark standalone cluster on loopback from the pyspark wheel: a master, two workers, a Spark Connect server.

`pipeline services up --spark` starts them with the wheel's own launchers: `bin/spark-class` for the master
and the workers, `bin/spark-submit` for the Connect server (what `sbin/start-connect-server.sh --wait` runs,
without its wrapper shell, so that the pid file names the JVM). No download: the jars are the wheel's.

    master          spark://127.0.0.1:7077, web UI http://127.0.0.1:8080
    workers         2 cores and 3 GiB each (slots, not physical cores), web UIs :8081, :8082
    Spark Connect   sc://127.0.0.1:15002, an application of the master with 2 executors of 1 core, with the
                    S3A connector and the S3 settings in force when it starts (`pipeline/s3a.py`)

Executors run `<services_home>/spark/python/bin/python`: a virtualenv with this environment's third-party
packages (pyspark, pandas, numpy, xgboost, ...) but not the project, as on a remote machine, so only the code
a session ships (`pipeline/spark_code.py`) makes `pipeline` importable there. The Connect server's sessions
run their Python on it too; a classic driver names it with SPARK_EXECUTOR_PYTHON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path
from typing import ClassVar

import pyspark

from pipeline import s3a
from pipeline.services.jvm import HOST, JvmService
from pipeline.services.process import Progress, ServiceError, port_open
from pipeline.settings import Settings
from pipeline.spark_code import PROJECT_PACKAGES
from pipeline.spark_conf import DRIVER_CONF

SPARK_HOME = Path(pyspark.__file__).resolve().parent
MASTER_PORT, MASTER_UI_PORT = 7077, 8080
WORKER_UI_PORTS = (8081, 8082)
WORKER_CORES, WORKER_MEMORY = 2, "3g"
CONNECT_PORT = 15002
MASTER_URL = f"spark://{HOST}:{MASTER_PORT}"
CONNECT_URL = f"sc://{HOST}:{CONNECT_PORT}"


def executor_python(settings: Settings) -> Path:
    """The Python interpreter of the local cluster's executors (see the module's docstring)."""
    return Path(settings.services_home).resolve() / "spark" / "python" / "bin" / "python"


def master_state(timeout: float) -> dict:
    """The master's own account of the cluster (its web UI's JSON: status, workers, applications)."""
    with urllib.request.urlopen(f"http://{HOST}:{MASTER_UI_PORT}/json/", timeout=timeout) as answer:
        return json.load(answer)


class SparkService(JvmService):
    """A JVM started by the wheel's launcher scripts; SPARK_CONF_DIR (our conf_dir) heads its classpath."""

    download_size = "nothing"
    launcher: ClassVar[str] = "spark-class"

    def launch_args(self) -> list[str]:
        raise NotImplementedError

    def command(self, java: str, progress: Progress) -> list[str]:
        self.render("spark-log4j2.properties", "log4j2.properties")
        return [str(SPARK_HOME / "bin" / self.launcher), *self.launch_args()]

    def environment(self, java: str) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "JAVA_HOME": str(Path(shutil.which(java) or java).resolve().parents[1]),
            "SPARK_CONF_DIR": str(self.conf_dir),
            "SPARK_LOG_DIR": str(self.log_dir),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOCAL_DIRS": str(self.data_dir / "tmp"),
            "PYSPARK_PYTHON": str(executor_python(self.settings)),
        }


class SparkMaster(SparkService):
    name = "spark-master"
    main_class = "org.apache.spark.deploy.master.Master"
    ready_timeout = 60.0

    @property
    def endpoint(self) -> str:
        return MASTER_URL

    def ports(self) -> dict[int, str]:
        return {MASTER_PORT: "Spark master", MASTER_UI_PORT: "Spark master web UI"}

    def command(self, java: str, progress: Progress) -> list[str]:
        make_executor_python(executor_python(self.settings), progress)
        return super().command(java, progress)

    def launch_args(self) -> list[str]:
        return [self.main_class, "--host", HOST, "--port", str(MASTER_PORT), "--webui-port", str(MASTER_UI_PORT)]

    def probe(self, timeout: float) -> bool:
        try:
            return master_state(timeout).get("status") == "ALIVE"
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False


class SparkWorker(SparkService):
    main_class = "org.apache.spark.deploy.worker.Worker"
    ready_timeout = 60.0

    def __init__(self, settings: Settings, number: int):
        self.number = number
        self.name = f"spark-worker-{number}"
        super().__init__(settings)

    @property
    def ui_port(self) -> int:
        return WORKER_UI_PORTS[self.number - 1]

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    def ports(self) -> dict[int, str]:
        return {self.ui_port: f"Spark worker {self.number} web UI"}

    def launch_args(self) -> list[str]:
        return [self.main_class, "--host", HOST, "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY,
                "--work-dir", str(self.data_dir / "work"), "--webui-port", str(self.ui_port), MASTER_URL]

    def probe(self, timeout: float) -> bool:
        """Registered with the master and alive."""
        try:
            workers = master_state(timeout)["workers"]
        except Exception:  # noqa: BLE001
            return False
        return any(w["state"] == "ALIVE" and w["webuiaddress"] == self.endpoint for w in workers)


class SparkConnect(SparkService):
    name = "spark-connect"
    main_class = "org.apache.spark.sql.connect.service.SparkConnectServer"
    ready_timeout = 120.0
    launcher = "spark-submit"

    @property
    def endpoint(self) -> str:
        return CONNECT_URL

    def ports(self) -> dict[int, str]:
        return {CONNECT_PORT: "Spark Connect"}

    def command(self, java: str, progress: Progress) -> list[str]:
        """The settings go to a properties file (mode 600: it may hold S3 keys), not the command line."""
        conf = {
            "spark.connect.grpc.binding.address": HOST,
            "spark.connect.grpc.binding.port": str(CONNECT_PORT),
            "spark.driver.memory": "1g",
            "spark.cores.max": "2",  # the other half of the workers' slots stays free for a classic application
            "spark.executor.cores": "1",
            "spark.executor.memory": "1g",
            "spark.ui.enabled": "false",
            # ALS cuts its lineage here (a Connect client cannot set the context's checkpoint folder).
            "spark.checkpoint.dir": str(self.data_dir / "checkpoints"),
            "spark.sql.session.timeZone": "UTC",
            **DRIVER_CONF,
            # An s3:// lake: the S3A connector and committer, for the S3 store of the settings at start-up
            # (a Connect client cannot add jars to the server's Hadoop file systems, nor set their options).
            "spark.jars": ",".join(s3a.jars(progress)),
            **s3a.spark_conf(self.settings.s3_endpoint_url, self.settings.aws_region,
                             self.settings.aws_access_key_id, self.settings.aws_secret_access_key),
        }
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        properties = self.conf_dir / "spark-connect.properties"
        properties.touch(mode=0o600)
        properties.chmod(0o600)
        properties.write_text("".join(f"{key} {value}\n" for key, value in conf.items()))
        return super().command(java, progress)

    def launch_args(self) -> list[str]:
        return ["--class", self.main_class, "--name", "Spark Connect server", "--master", MASTER_URL,
                "--properties-file", str(self.conf_dir / "spark-connect.properties"), "spark-internal"]

    def probe(self, timeout: float) -> bool:
        """A Connect session runs a job on the cluster's executors (in a child process: a Connect session marks
        its process as a Connect client, and local sessions created after it would fail)."""
        if not port_open(HOST, CONNECT_PORT):
            return False
        try:
            return subprocess.run([sys.executable, "-c", CONNECT_ROUND_TRIP, CONNECT_URL], capture_output=True,
                                  timeout=max(timeout, 30.0)).returncode == 0
        except subprocess.TimeoutExpired:
            return False


CONNECT_ROUND_TRIP = """
import sys
from pyspark.sql import SparkSession
session = SparkSession.builder.remote(sys.argv[1]).create()
sys.exit(0 if session.range(10).repartition(2).count() == 10 else 1)
"""


def usage(settings: Settings) -> str:
    """How to point the project at the local cluster, for `pipeline services up --spark` to print."""
    return (f"run the project on the local Spark cluster:\n"
            f"  export SPARK_MASTER={MASTER_URL} SPARK_EXECUTOR_PYTHON={executor_python(settings)}\n"
            f"or on its Spark Connect server:\n"
            f"  export SPARK_REMOTE={CONNECT_URL}\n"
            f"master web UI: http://{HOST}:{MASTER_UI_PORT}")


def cluster(settings: Settings) -> list[JvmService]:
    return [SparkMaster(settings), *(SparkWorker(settings, n) for n in range(1, len(WORKER_UI_PORTS) + 1)),
            SparkConnect(settings)]


def make_executor_python(python: Path, progress: Progress) -> None:
    """(Re)create the executors' virtualenv: this environment's packages, linked one by one, minus the project."""
    venv = python.parents[1]
    if venv.exists():
        shutil.rmtree(venv)
    progress(f"spark: executors' Python environment without the project in {venv}")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                 check=True, capture_output=True, text=True, timeout=60).stdout.strip())
    sources = dict.fromkeys(Path(sysconfig.get_path(kind)) for kind in ("purelib", "platlib"))
    for source in sources:
        for entry in source.iterdir():
            if not _is_project(entry.name) and not (target / entry.name).exists():
                (target / entry.name).symlink_to(entry)
    if not (target / "pyspark").exists():
        raise ServiceError(f"spark: pyspark is missing from {target}; is this environment the project's?")


def _is_project(name: str) -> bool:
    """The project's own packages, its dist-info and its editable-install hooks."""
    return name in PROJECT_PACKAGES or "learning_platform_pipeline" in name
