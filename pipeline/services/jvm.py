"""The life cycle every local JVM service shares: classpath from Maven, start, wait until ready, stop, status.

A service (`kafka.py`, `cassandra.py`) subclasses `JvmService` and describes only what differs: its main
class, ports, JVM arguments, rendered configuration and readiness probe. Its POM is
`maven/<name>/pom.xml`, its templates live in `conf/`. Runtime files go to `<services_home>/<name>/`:
`conf/` (rendered), `data/`, `logs/<name>.out` (stdout+stderr), `<name>.pid`, the cached classpath.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from string import Template
from typing import ClassVar

from pipeline import maven
from pipeline.services.process import (
    Progress,
    ServiceError,
    alive,
    cmdline,
    exit_code,
    port_free,
    read_pid,
    spawn,
    tail,
    terminate,
)
from pipeline.services.status import ServiceStatus
from pipeline.settings import Settings

HOST = "127.0.0.1"  # every local service listens on loopback only
PACKAGE = Path(__file__).resolve().parent


def loopback_host(host: str, setting: str) -> str:
    """`host` if it is a loopback address (127.0.0.0/8, where local services and loopback clusters listen);
    ServiceError naming the setting otherwise."""
    try:
        if ipaddress.ip_address(host).is_loopback and ipaddress.ip_address(host).version == 4:
            return host
    except ValueError:
        pass
    raise ServiceError(f"{setting} names {host!r}: the local services listen on loopback addresses only "
                       f"(127.0.0.1, 127.0.0.2, ...); point it at one, or at your own cluster without `services up`")


class Cancelled(Exception):
    """Waiting was abandoned because another service failed to start."""


class JvmService:
    name: ClassVar[str]
    main_class: ClassVar[str]
    ready_timeout: ClassVar[float]  # seconds from JVM start to the first successful probe
    download_size: ClassVar[str]  # what the first Maven resolution downloads, for the progress message
    stop_signal: ClassVar[int] = signal.SIGTERM  # what asks it to stop (SIGKILL follows after the grace period)

    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = Path(settings.services_home).resolve() / self.name
        self.conf_dir = self.home / "conf"
        self.data_dir = self.home / "data"
        self.log_dir = self.home / "logs"
        self.log = self.log_dir / f"{self.name}.out"
        self.pid_file = self.home / f"{self.name}.pid"

    # --- what each service describes ------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the service listens on."""
        return HOST

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    def ports(self) -> dict[int, str]:
        """Every port the JVM listens on, with its purpose (checked before starting)."""
        raise NotImplementedError

    def prepare(self, java: str, classpath: list[str], progress: Progress) -> None:
        """Render the configuration under conf_dir (and e.g. format storage) before the JVM starts."""
        raise NotImplementedError

    def jvm_args(self, classpath: list[str]) -> list[str]:
        """JVM options (heap, -D properties, agents); the launcher adds -cp, the main class and main_args()."""
        raise NotImplementedError

    def main_args(self) -> list[str]:
        return []

    def probe(self, timeout: float) -> bool:
        """True if the service answers a real request within `timeout` seconds; never raises."""
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------------

    def render(self, template: str, target: str, secret: bool = False, **values: object) -> Path:
        """Copy conf/<template> to conf_dir/<target>, substituting $name placeholders with `values`; a `secret`
        file (one that holds a password) is readable by its owner only."""
        text = (PACKAGE / "conf" / template).read_text()
        path = self.conf_dir / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600 if secret else 0o644)
        with os.fdopen(descriptor, "w") as out:
            out.write(Template(text).substitute(values) if values else text)
        return path

    def classpath(self, java: str, progress: Progress) -> list[str]:
        """The runtime jars (in ~/.m2) of maven/<name>/pom.xml; Maven runs only when the POM changed."""
        try:
            # The POM of what runs: the class's name, also for each node of a cluster (kafka-2 runs Kafka's jars).
            return maven.classpath(PACKAGE / "maven" / type(self).name / "pom.xml", self.home, self.name,
                                   self.download_size, progress,
                                   java_home=str(Path(shutil.which(java) or java).resolve().parents[1]))
        except maven.MavenError as error:
            raise ServiceError(str(error)) from None

    def is_ours(self, pid: int) -> bool:
        """The process runs our main class with our configuration (so a recycled PID is never mistaken)."""
        args = cmdline(pid)
        return self.main_class in args and any(str(self.home) + os.sep in arg for arg in args)

    def inspect(self) -> tuple[str, int | None]:
        """("running", pid) for our live JVM, ("stale", pid) for a pid file without it, ("stopped", None)."""
        pid = read_pid(self.pid_file)
        if pid is None:
            return ("stale", None) if self.pid_file.exists() else ("stopped", None)
        return ("running" if alive(pid) and self.is_ours(pid) else "stale"), pid

    def command(self, java: str, progress: Progress) -> list[str]:
        """Resolve the jars, prepare the configuration; the command line that starts the JVM."""
        jars = self.classpath(java, progress)
        self.prepare(java, jars, progress)
        return [java, *self.jvm_args(jars), "-cp", os.pathsep.join(jars), self.main_class, *self.main_args()]

    def environment(self, java: str) -> dict[str, str] | None:
        """The JVM's environment (None: this process's)."""
        return None

    def spawn_user(self) -> int | None:
        """The user id to run as (None: this process's)."""
        return None

    def start(self, java: str, progress: Progress) -> int:
        """Prepare and spawn the JVM; returns its PID (also in the pid file)."""
        for folder in (self.conf_dir, self.data_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        command = self.command(java, progress)
        # cwd: hs_err and heap dumps land in the service home
        pid = spawn(command, self.log, cwd=self.home, env=self.environment(java), user=self.spawn_user())
        self.pid_file.write_text(f"{pid}\n")
        progress(f"{self.name}: started pid {pid}, waiting until it is ready (up to {self.ready_timeout:.0f} s)")
        return pid

    def wait_ready(self, pid: int, cancel: threading.Event) -> None:
        """Probe until ready; ServiceError (with the log tail) if the JVM exits or the timeout passes."""
        deadline = time.monotonic() + self.ready_timeout
        while not cancel.is_set():
            if not alive(pid):
                code = exit_code(pid)
                raise self.failure("exited during start-up" + (f" with exit code {code}" if code is not None else ""))
            if self.probe(timeout=min(5.0, max(1.0, deadline - time.monotonic()))):
                return
            if time.monotonic() >= deadline:
                raise self.failure(f"was not ready within {self.ready_timeout:.0f} s")
            cancel.wait(1.0)
        raise Cancelled(self.name)

    def failure(self, reason: str) -> ServiceError:
        return ServiceError(f"{self.name} {reason}; last lines of {self.log}:\n{tail(self.log, 30)}")

    def stop(self, grace: float = 30.0) -> str:
        """Stop the JVM named by our pid file (SIGTERM, SIGKILL after `grace` s); returns what happened."""
        state, pid = self.inspect()
        self.pid_file.unlink(missing_ok=True)
        if state == "running":
            return f"{self.name}: stopped pid {pid} ({terminate(pid, grace, self.stop_signal)})"
        if state == "stale":
            return f"{self.name}: not running (removed a stale pid file for pid {pid})"
        return f"{self.name}: not running"

    def status(self, probe_timeout: float = 3.0, note: str = "") -> ServiceStatus:
        state, pid = self.inspect()
        ready = state == "running" and self.probe(probe_timeout)
        if state == "running" and not ready and not note:
            note = "not answering (still starting?)"
        if state != "running" and not note:
            taken = [port for port in self.ports() if not port_free(port, self.host)]
            note = f"port {taken[0]} is used by another process" if taken else ""
        return ServiceStatus(self.name, state, pid, self.endpoint, ready, self.log, self.data_dir, note)
