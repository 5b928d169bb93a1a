"""The code location: every asset, check, job, sensor and schedule, with the resources built from settings.

Every run executes in-process, whoever launches it (a job, the UI's Materialize, `dagster asset materialize`,
the automation sensor): one process per run, so one Spark driver per run; dagster.yaml queues the runs.
"""

import warnings

import dagster as dg

# BackfillPolicy is "beta" in 1.13 but is the documented way to run a Spark backfill as one job.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets import ASSET_CHECKS, ASSETS  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from resources import build_resources  # noqa: E402
from sensors import JOBS, SCHEDULES, SENSORS  # noqa: E402


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=JOBS,
        sensors=SENSORS,
        schedules=SCHEDULES,
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
