"""OS plumbing shared by the local services: Java lookup, ports, PID files, logs, spawning and stopping.

Nothing here knows about Kafka or Cassandra; `jvm.py` builds the service life cycle on top of it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

Progress = Callable[[str], None]

# Cassandra 5.0 runs on Java 17 only (11 is not installable here; 18+ is unsupported); Kafka 4.x needs 17+.
JAVA_MAJOR = 17
JAVA_17_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

_children: dict[int, subprocess.Popen] = {}  # JVMs this Python process spawned, so they can be reaped


class ServiceError(RuntimeError):
    """A local service could not be started, found or stopped; the message says why."""


# --- Java -----------------------------------------------------------------------------------------------


def java_major(java: str) -> int | None:
    """Major version of a `java` executable (17 for "17.0.15", 8 for "1.8.0"), None if it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(java_home: str | None, progress: Progress = print) -> str:
    """A Java 17 executable: JAVA_HOME's, else the one on PATH, else a system JDK 17."""
    candidates = []
    if java_home:
        candidates.append(("JAVA_HOME", str(Path(java_home) / "bin" / "java")))
    candidates.append(("PATH", shutil.which("java") or "java"))
    homes = dict.fromkeys([JAVA_17_HOME, *sorted(glob.glob("/usr/lib/jvm/*-17*"))])
    candidates += [(home, str(Path(home) / "bin" / "java")) for home in homes]
    found = []
    for origin, java in candidates:
        major = java_major(java)
        if major == JAVA_MAJOR:
            if found:
                progress(f"java: using {java} (Java 17); skipped {', '.join(found)}")
            return java
        found.append(f"{origin} java is {'missing' if major is None else f'Java {major}'}")
    raise ServiceError(
        "Java 17 not found: Cassandra 5.0 needs exactly Java 17 (Kafka 4.x needs 17+). Checked: "
        + "; ".join(dict.fromkeys(found))
        + ". Install OpenJDK 17 (apt-get install openjdk-17-jdk-headless) or point JAVA_HOME at one."
    )


# --- ports ----------------------------------------------------------------------------------------------


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could listen on host:port now (SO_REUSEADDR, as the JVMs use: TIME_WAIT is no obstacle)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError:
            return False
    return True


def port_owner(port: int) -> int | None:
    """PID of the process listening on a TCP port (Linux /proc; None if unknown or not permitted)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for fd_dir in glob.glob("/proc/[0-9]*/fd"):
        try:
            if any(os.readlink(os.path.join(fd_dir, fd)) in inodes for fd in os.listdir(fd_dir)):
                return int(fd_dir.split("/")[2])
        except OSError:
            continue
    return None


def check_ports_free(ports: Mapping[int, str], host: str = "127.0.0.1") -> None:
    """Raise ServiceError naming the first port (with its purpose and owner) that is already taken."""
    for port, purpose in ports.items():
        if port_free(port, host):
            continue
        pid = port_owner(port)
        owner = f"pid {pid} ({' '.join(cmdline(pid))[:150]})" if pid else "another process"
        raise ServiceError(
            f"port {port} ({purpose}) on {host} is already in use by {owner}, which is not recorded in this "
            f"SERVICES_HOME's pid files; stop that process or free port {port}, then retry"
        )


# --- processes ------------------------------------------------------------------------------------------


def cmdline(pid: int) -> list[str]:
    """The arguments of a process ([] if it is gone or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (reaping our own children on the way)."""
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def exit_code(pid: int) -> int | None:
    """Exit code of a child we spawned that has ended (None if unknown or still running)."""
    child = _children.get(pid)
    return child.poll() if child else None


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None:
        child.poll()


def spawn(command: list[str], log: Path, cwd: Path, env: Mapping[str, str] | None = None,
          user: int | None = None) -> int:
    """Start a detached process (own session, so Ctrl-C in the shell does not reach it), output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))  # keep the previous run's log for post-mortems
    with open(log, "wb") as out:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env, user=user,
            start_new_session=True,
        )
    _children[child.pid] = child
    return child.pid


def terminate(pid: int, grace: float = 30.0, first: int = signal.SIGTERM) -> str:
    """`first` (SIGTERM), wait up to `grace` seconds, then SIGKILL. Returns how it ended ("terminated"/"killed"/
    "gone")."""
    how = "terminated"
    try:
        os.kill(pid, first)
    except ProcessLookupError:
        how = "gone"
    if not wait_until(lambda: not alive(pid), grace):
        how = "killed"
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_until(lambda: not alive(pid), 10.0)
    _children.pop(pid, None)
    return how


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- files ----------------------------------------------------------------------------------------------


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a text file ("" if it does not exist)."""
    try:
        with open(path, errors="replace") as f:
            return "".join(deque(f, maxlen=lines)).rstrip()
    except OSError:
        return ""
