"""Evaluate a sensor once (the learning-event sensor by default, or a stream sensor) and execute the runs it
requests, in this process.

What the daemon does on a tick, without the daemon: the demo and the tests use it. Runs are recorded in
the given instance with the sensor's run key, so the Dagster UI shows them like any other run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from sensors.learning_events import RANGE_END, RANGE_START


def console_log_level(level: str) -> dict:
    """Run config that sets the console logger's level (WARNING keeps a demo's output to what it prints)."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


@dataclass
class TickOutcome:
    cursor: str | None
    requests: list[dg.RunRequest]
    results: list[dg.ExecuteInProcessResult]
    skip_reason: str | None = None

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)


def run_sensor_tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    cursor: str | None,
    sensor_name: str = "learning_events_sensor",
    log: Callable[[str], None] = print,
    raise_on_error: bool = True,
    log_level: str = "DEBUG",
) -> TickOutcome:
    sensor = defs.resolve_sensor_def(sensor_name)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                 resources=defs.resources) as context:
        data = sensor.evaluate_tick(context)
    results = []
    for request in data.run_requests or []:
        job = defs.resolve_job_def(request.job_name)
        first, last = request.tags.get(RANGE_START), request.tags.get(RANGE_END)
        partition = (f" partition {request.partition_key}" if request.partition_key else
                     f" partitions {first}...{last}" if first else "")
        log(f"  run {request.job_name}{partition} ({request.run_key})")
        results.append(
            job.execute_in_process(
                run_config={**request.run_config, **console_log_level(log_level)},
                partition_key=request.partition_key,
                asset_selection=request.asset_selection,
                instance=instance,
                tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": sensor_name},
                raise_on_error=raise_on_error,
            )
        )
    return TickOutcome(data.cursor, list(data.run_requests or []), results, data.skip_message)
