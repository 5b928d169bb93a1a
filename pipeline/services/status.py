"""What `status()` and `up()` report: one row per service, printable as a table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "running" (pid file -> our live JVM), "stopped" (no pid file) or "stale" (pid file, no such JVM)
    pid: int | None
    endpoint: str
    ready: bool  # answered a real request (Kafka: produce+consume; Cassandra: SELECT from system.local)
    log: Path
    data: Path
    note: str = ""


@dataclass(frozen=True)
class ServicesStatus:
    home: Path
    services: tuple[ServiceStatus, ...]

    @property
    def all_ready(self) -> bool:
        return all(s.ready for s in self.services)

    @property
    def all_running(self) -> bool:
        return all(s.state == "running" for s in self.services)

    def __getitem__(self, name: str) -> ServiceStatus:
        return next(s for s in self.services if s.name == name)

    def __str__(self) -> str:
        header = ("SERVICE", "STATE", "PID", "ENDPOINT", "READY", "NOTE")
        rows = [header] + [
            (s.name, s.state, str(s.pid or "-"), s.endpoint, "yes" if s.ready else "no", s.note) for s in self.services
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.append(f"services home: {self.home}")
        lines += [f"  {s.name:<{widths[0]}}  log: {s.log}   data: {s.data}" for s in self.services]
        return "\n".join(lines)
