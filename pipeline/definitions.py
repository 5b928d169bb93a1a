"""The code location: every asset, check, job, sensor and schedule, with the resources built from settings.

`build_definitions(settings)` is the one place where settings become Dagster objects: resources (the values
assets, checks and sensors use; the UI shows them) and the sensor intervals and the daily cron. Every run executes
in-process, whoever launches it (a job, the UI's Materialize, `dagster asset materialize`, the automation
sensor): one process per run, so one Spark driver per run; dagster.yaml queues the runs.
"""

import warnings

import dagster as dg

# BackfillPolicy is "beta" in 1.13 but is the documented way to run a Spark backfill as one job.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets import ASSET_CHECKS, ASSETS  # noqa: E402
from pipeline.settings import Settings, get_settings  # noqa: E402
from resources import build_resources  # noqa: E402
from sensors import JOBS, build_schedules, build_sensors  # noqa: E402


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=JOBS,
        sensors=build_sensors(settings),
        schedules=build_schedules(settings),
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(get_settings())
