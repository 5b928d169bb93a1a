"""Dagster assets and asset checks: thin wrappers that call `pipeline` and report metadata."""

from assets.learning_events import cleaned_assets, raw_events, raw_ranges_contiguous, stage_learning_events

ASSETS = [raw_events, stage_learning_events, *cleaned_assets]
ASSET_CHECKS = [raw_ranges_contiguous]
