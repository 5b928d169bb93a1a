"""What the latency benchmarks share: the Dagster daemon on this project, and timed samples through it."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.services.dagster_dev import BIN, ROOT, wait_for


def latency_samples(env: dict[str, str], sensor: str, samples: int, send: Callable[[int], object],
                    arrived: Callable[[object], bool], label: Callable[[object], str],
                    before_each: Callable[[], None] = lambda: None, timeout: float = 240) -> None:
    """Start the daemon, wait for `sensor`'s first tick (with LANDING_STARTING_OFFSETS=latest it only sets the
    cursor, and anything sent before it would be skipped), then `samples` + 1 times: `send(i)` returns a token,
    and the time until `arrived(token)` is a sample (the first warms the daemon up and is not counted).
    Prints each sample, the median and the max against the 30 s target."""
    log = Path(env["DAGSTER_HOME"]) / "daemon.log"
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)

    def alive() -> None:
        if daemon.poll() is not None:
            raise RuntimeError(f"the daemon exited; see {log}")

    def seconds_until(condition: Callable[[], bool], what: str, seconds: float) -> float:
        started = time.monotonic()
        wait_for(condition, f"{what} (see {log})", seconds, interval=0.2, alive=alive)
        return time.monotonic() - started

    results = []
    try:
        seconds_until(lambda: f"Sensor {sensor} skipped" in log.read_text(), f"the daemon did not tick {sensor}", 180)
        for sample in range(samples + 1):
            before_each()
            token = send(sample)
            seconds = seconds_until(lambda: arrived(token), f"{label(token)} did not arrive", timeout)
            print(f"  {'warm-up' if sample == 0 else f'sample {sample}'}: {label(token)} after {seconds:.1f}s",
                  flush=True)
            if sample:
                results.append(seconds)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a run it started can hold it up; the figures are already taken
            daemon.kill()
            daemon.wait()
    print(f"  median {statistics.median(results):.1f}s, max {max(results):.1f}s; target < 30 s: "
          f"{'met' if max(results) < 30 else 'MISSED'}", flush=True)
