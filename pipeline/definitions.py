"""The code location: every asset, check, job, sensor and schedule, with the resources built from settings."""

import dagster as dg

from assets import ASSET_CHECKS, ASSETS
from pipeline.settings import Settings
from resources import build_resources
from sensors import JOBS, SCHEDULES, SENSORS


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=JOBS,
        sensors=SENSORS,
        schedules=SCHEDULES,
        resources=build_resources(settings),
    )


defs = build_definitions()
