"""Dagster assets and asset checks: thin wrappers that call `pipeline` and report metadata."""

from assets.learning_events import cleaned_assets, raw_events, raw_ranges_contiguous, stage_learning_events
from assets import course_recs, movie_recs, purchase, serving_tables, speed
from assets.views import view_assets

ASSETS = [raw_events, stage_learning_events, *cleaned_assets, *view_assets, *movie_recs.ASSETS, *course_recs.ASSETS,
          *purchase.ASSETS, *speed.ASSETS, *serving_tables.ASSETS]
ASSET_CHECKS = [raw_ranges_contiguous, *movie_recs.CHECKS, *course_recs.CHECKS, *purchase.CHECKS]
