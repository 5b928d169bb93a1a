"""The Dagster webserver and daemon as users run them (`dagster dev`, what `make ui` starts), for the tests and
benchmarks of the paths users take: a scratch DAGSTER_HOME holding the project's dagster.yaml, a process group of
its own (stopped whole), GraphQL as the UI sends it, and polling with a deadline. Processes only: nothing here
imports Dagster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the CLIs of this environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], what: str, seconds: float, interval: float = 1.0,
             alive: Callable[[], None] = lambda: None) -> Any:
    """Poll `condition` until it returns something truthy (returned); `alive` raises if what we wait on died."""
    deadline = time.monotonic() + seconds
    while True:
        alive()
        if result := condition():
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {seconds:.0f} s")
        time.sleep(interval)


def get_json(url: str) -> Any:
    """The JSON of a GET, or None when nothing answers (yet) or the answer is an error status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())
    except OSError:  # refused, timed out, or an HTTPError (404 until the data arrives)
        return None


class DagsterDev:
    """`dagster dev -w workspace.yaml` on a scratch instance, with `env` added to this process's environment."""

    def __init__(self, home: Path, env: dict[str, str], port: int | None = None):
        self.home, self.port = home, port or free_port()
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
        self.log = home / "dagster-dev.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DagsterDev:
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "pipeline"), "dagster-home"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        self.process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=ROOT, env=self.env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answers, f"dagster dev did not answer on {self.url} (see {self.log})", 180,
                 alive=self.check_alive)
        return self

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:  # a scratch instance: no need to wait out the minute dagster dev can take to wind down
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"dagster dev exited; the end of {self.log}:\n{self.log.read_text()[-3000:]}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(f"{self.url}/graphql", method="POST",
                                         data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            body = json.loads(answer.read())
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def wait_for(self, condition: Callable[[], Any], what: str, seconds: float, interval: float = 1.0) -> Any:
        return wait_for(condition, f"{what} (see {self.log})", seconds, interval, alive=self.check_alive)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """A `dagster` CLI command against this instance, from the project folder."""
        return subprocess.run([str(BIN / "dagster"), *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)


@contextmanager
def pipeline_serve(env: dict[str, str]) -> Iterator[str]:
    """`pipeline serve` on a free port with the environment `env`, until it answers /health; its URL."""
    port = free_port()
    process = subprocess.Popen([str(BIN / "pipeline"), "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get_json(base + "/health") is not None, "pipeline serve did not answer", 60)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
