"""The code location: every asset, check, job, sensor and schedule, with the resources built from settings.

`build_definitions(settings)` is the one place where settings become Dagster objects: resources (the values
assets, checks and sensors use; the UI shows them), the daily partitions' start, the sensor intervals and the
daily cron. Every run executes
in-process, whoever launches it (a job, the UI's Materialize, `dagster asset materialize`, the automation
sensor): one process per run, so one Spark driver per run; dagster.yaml queues the runs.
"""

import dagster as dg

from assets import ASSET_CHECKS, ASSETS
from assets.partitions import with_start_date
from pipeline.settings import Settings, get_settings
from resources import build_resources
from sensors import JOBS, build_schedules, build_sensors


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=with_start_date(ASSETS, settings.events_start_date),
        asset_checks=ASSET_CHECKS,
        jobs=JOBS,
        sensors=build_sensors(settings),
        schedules=build_schedules(settings),
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(get_settings())
