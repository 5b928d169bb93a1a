"""Dagster assets and asset checks: thin wrappers that call `pipeline` and report metadata."""

import warnings

import dagster as dg

# BackfillPolicy is "beta" in 1.13 but is the documented way to run a Spark backfill as one job; set before any
# asset module is imported, whoever imports one first (the code location, the demo, a test).
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets.learning_events import cleaned_assets, raw_events, raw_ranges_contiguous, stage_learning_events  # noqa: E402
from assets import course_recs, movie_recs, purchase, serving_tables, speed, survey  # noqa: E402
from assets.views import view_assets  # noqa: E402

ASSETS = [raw_events, stage_learning_events, *cleaned_assets, *view_assets, *movie_recs.ASSETS, *course_recs.ASSETS,
          *purchase.ASSETS, *speed.ASSETS, *serving_tables.ASSETS, *survey.ASSETS]
ASSET_CHECKS = [raw_ranges_contiguous, *movie_recs.CHECKS, *course_recs.CHECKS, *purchase.CHECKS]
