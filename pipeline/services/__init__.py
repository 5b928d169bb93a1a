"""Local Kafka and Cassandra without Docker: `up()`, `status()`, `down()` (behind `pipeline services ...`).

Both run as plain JVMs on Java 17 from Maven Central jars (resolved into ~/.m2 by `mvn`), with configuration,
data, logs and PID files under SERVICES_HOME (default ./.services). `up(optional=...)` also starts the
OPTIONAL ones: a Spark standalone cluster and a Spark Connect server from the pyspark wheel (`spark.py`),
PostgreSQL for Dagster's storage (`postgres.py`), an S3 server for the lake (`s3.py`). `up(auth=True)` gives Kafka
and Cassandra credentials and TLS (`auth.py`), `up(cluster=True)` makes each of them 3 nodes on loopback
(`cluster.py`), for good: a SERVICES_HOME is with or without. `up()` reuses services that
already run from the same SERVICES_HOME, starts the others in parallel (the Spark master before its workers
and the Connect server) and returns once each answers a real request; `down()` stops exactly the PIDs in the
pid files. Failures raise `ServiceError` with the reason.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from pipeline.services.cassandra import Cassandra
from pipeline.services.jvm import Cancelled, JvmService
from pipeline.services.kafka import Kafka
from pipeline.services import auth as local_auth
from pipeline.services import cluster as local_cluster
from pipeline.services import s3
from pipeline.services.postgres import Postgres
from pipeline.services.process import Progress, ServiceError, check_ports_free, find_java
from pipeline.services.s3 import S3Server
from pipeline.services.spark import SparkMaster, SparkService
from pipeline.services.spark import cluster as spark_cluster
from pipeline.services.spark import usage as spark_usage
from pipeline.services.status import ServicesStatus, ServiceStatus
from pipeline.settings import get_settings

__all__ = ["OPTIONAL", "ServiceError", "ServiceStatus", "ServicesStatus", "auth_usage", "cluster_usage", "down",
           "services", "status", "up", "usage"]

# The services `up` starts only when asked for (`pipeline services up --spark --postgres --s3`).
OPTIONAL = {
    "spark": "a Spark standalone master, two workers and a Spark Connect server",
    "postgres": "PostgreSQL for Dagster's storage",
    "s3": "an S3 server (moto) with the bucket `lake`, for an s3:// lake",
}


def services(optional: Iterable[str] = ()) -> list[JvmService]:
    """The local services, configured from the current settings (environment): Kafka and Cassandra, and the
    OPTIONAL ones asked for."""
    settings = get_settings()
    unknown = set(optional) - set(OPTIONAL)
    if unknown:
        raise ServiceError(f"unknown optional services {sorted(unknown)}; known: {sorted(OPTIONAL)}")
    if (nodes := local_cluster.local_cluster(settings)) is not None:
        settings = nodes.apply(settings)
        core = [*(Kafka(settings, n) for n in range(local_cluster.SIZE)),
                *(Cassandra(settings, n) for n in range(local_cluster.SIZE))]
    else:
        core = [Kafka(settings), Cassandra(settings)]
    return [*core, *(spark_cluster(settings) if "spark" in optional else []),
            *([Postgres(settings)] if "postgres" in optional else []),
            *([S3Server(settings)] if "s3" in optional else [])]


def reported() -> list[JvmService]:
    """What `status()` and `down()` cover: Kafka, Cassandra, and the optional services that have a pid file."""
    core = services()
    return core + [s for s in services(OPTIONAL)[len(core):] if s.pid_file.exists()]


def home() -> Path:
    return Path(get_settings().services_home).resolve()


def up(progress: Progress = print, optional: Iterable[str] = (), auth: bool = False,
       cluster: bool = False) -> ServicesStatus:
    """Start whatever is not running yet and wait until every service answers; reuse what already runs. With
    `auth`, the home's Kafka and Cassandra get credentials and TLS first (see `auth.py`); with `cluster`, they
    become 3 nodes each (see `cluster.py`)."""
    notes: dict[str, str] = {}
    with _locked():
        settings = get_settings()
        has_auth = auth or local_auth.local_auth(settings) is not None
        if has_auth and (cluster or local_cluster.local_cluster(settings) is not None):
            raise ServiceError("a loopback cluster runs without authentication for now (the nodes would need TLS "
                               "between them and system_auth replicated): use another SERVICES_HOME for --auth")
        if auth and local_auth.local_auth(settings) is None:
            _refuse_if_running("without authentication")
            created = local_auth.create(settings)
            progress(f"credentials and a local CA for Kafka and Cassandra written to {created.folder} (owner only)")
        if cluster and local_cluster.local_cluster(settings) is None:
            _refuse_if_running("as single nodes")
            made = local_cluster.create(settings)
            progress(f"a loopback cluster of 3 Kafka brokers and 3 Cassandra nodes; its settings: {made.env_file}")
        waiting: dict[JvmService, int | None] = {}  # service -> PID to wait for (None: start it first)
        for service in services(optional):
            state, pid = service.inspect()
            if state == "running" and service.probe(timeout=5.0):
                progress(f"{service.name}: already running (pid {pid}) and ready; reusing it")
                notes[service.name] = "reused"
                continue
            if state == "running":
                progress(f"{service.name}: pid {pid} is ours but not answering yet; waiting for it")
                waiting[service] = pid
                continue
            if state == "stale":
                service.pid_file.unlink(missing_ok=True)
                progress(f"{service.name}: removed a stale pid file (pid {pid} is not our {service.name} JVM)")
            waiting[service] = None
        # The Spark master first: its workers and the Connect server register with it as they start.
        first = {s: pid for s, pid in waiting.items() if not isinstance(s, SparkService) or isinstance(s, SparkMaster)}
        started: list[JvmService] = []
        try:
            for wave in (first, {s: pid for s, pid in waiting.items() if s not in first}):
                if wave:
                    _bring_up(wave, progress, notes)
                    started += [s for s, pid in wave.items() if pid is None]
        except BaseException:  # a later wave failed: stop what the earlier ones started, as after any failure
            for service in started:
                progress(service.stop())
            raise
        result = _status(probe_timeout=5.0, notes=notes)
    progress("services up: " + ", ".join(f"{s.name} {s.endpoint}" for s in result.services)
             + f" (logs and data under {result.home})")
    return result


def _refuse_if_running(how: str) -> None:
    """A home's services cannot change their kind (credentials, cluster) while they run."""
    running = [s.name for s in services() if s.inspect()[0] == "running"]
    if running:
        raise ServiceError(f"{' and '.join(running)} already run {how} from {home()}: "
                           f"`pipeline services down` first, or use another SERVICES_HOME")


def cluster_usage() -> str | None:
    """How clients reach the home's loopback cluster (None when it runs single nodes)."""
    nodes = local_cluster.local_cluster(get_settings())
    if nodes is None:
        return None
    return (f"Kafka and Cassandra run as 3 nodes each (replication 3, QUORUM); point every command at them with: "
            f"set -a; . {nodes.env_file}; set +a")


def auth_usage() -> str | None:
    """How clients get the credentials, when the home's services require them (None when they do not)."""
    auth = local_auth.local_auth(get_settings())
    if auth is None:
        return None
    return (f"Kafka (SASL_SSL, SCRAM-SHA-512) and Cassandra (password, TLS) require credentials; give them to every "
            f"command with: set -a; . {auth.env_file}; set +a")


def usage(optional: str) -> str:
    """The settings that point the project at an optional service, for `up` to print."""
    settings = get_settings()
    if optional == "spark":
        return spark_usage(settings)
    if optional == "s3":
        return s3.usage()
    # The URL holds a password: named, not printed.
    return (f"Dagster on the local PostgreSQL: export DAGSTER_POSTGRES_URL=$(cat {Postgres(settings).url_file}); "
            f"then make ui (or pipeline dagster-home) gives the instance Postgres storage")


def status() -> ServicesStatus:
    """Each service's state from its pid file, plus a quick readiness probe (a few seconds at most)."""
    return _status(probe_timeout=3.0)


def down(progress: Progress = print, optional: Iterable[str] = ()) -> None:
    """Stop the services named by the pid files (SIGTERM, SIGKILL after 30 s) and remove the pid files: every
    one, or only the OPTIONAL ones named."""
    chosen = {s.name for s in services(optional)} - {s.name for s in services()}
    every = [s for s in reported() if not optional or s.name in chosen]
    if not every:
        progress("nothing to stop")
        return
    with _locked(), ThreadPoolExecutor(len(every)) as pool:
        for message in pool.map(lambda service: service.stop(), every):
            progress(message)


def _status(probe_timeout: float, notes: dict[str, str] | None = None) -> ServicesStatus:
    notes = notes or {}
    rows = tuple(s.status(probe_timeout, notes.get(s.name, "")) for s in reported())
    return ServicesStatus(home(), rows)


def _bring_up(waiting: dict[JvmService, int | None], progress: Progress, notes: dict[str, str]) -> None:
    """Start (in parallel) and wait for the given services; on any failure stop them all and raise."""
    to_start = [service for service, pid in waiting.items() if pid is None]
    java = ""
    if to_start:
        for service in to_start:  # before starting anything: fail without leaving half the services up
            check_ports_free(service.ports(), service.host)
        java = find_java(get_settings().java_home, progress)
    cancel = threading.Event()

    def bring_up(service: JvmService, pid: int | None) -> None:
        if pid is None:
            pid = service.start(java, progress)
        started = time.monotonic()
        service.wait_ready(pid, cancel)
        seconds = time.monotonic() - started
        notes[service.name] = f"ready {seconds:.1f} s after start"
        progress(f"{service.name}: ready after {seconds:.1f} s (pid {pid})")

    errors: list[BaseException] = []
    with ThreadPoolExecutor(len(waiting)) as pool:
        futures = [pool.submit(bring_up, service, pid) for service, pid in waiting.items()]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException as exc:  # Ctrl-C: give up as after a failure
            errors.append(exc)
        if errors or any(f.done() and f.exception() for f in futures):
            cancel.set()  # the others stop waiting; then everything this call started is stopped
        errors += [f.exception() for f in futures if f.exception() and not isinstance(f.exception(), Cancelled)]
    if errors:
        for service in waiting:
            progress(service.stop())
        unexpected = [e for e in errors if not isinstance(e, ServiceError)]
        if unexpected:
            raise unexpected[0]
        raise ServiceError("\n\n".join(str(e) for e in errors))


@contextmanager
def _locked() -> Iterator[None]:
    """One `up`/`down` at a time per SERVICES_HOME (a second `up` waits, then reuses what the first started)."""
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
