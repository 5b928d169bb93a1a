"""Every column of every view and cleaned learning-event table has a description, and the Dagster assets show it."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.keys import cleaned_key, view_key
from assets.metadata import table_schema
from pipeline.definitions import defs
from pipeline.events.catalogue import CATEGORIES, CATEGORY_BY_NAME
from pipeline.views.columns import COLUMN_DESCRIPTIONS, VIEW_COLUMN_NOTES
from pipeline.views.view import input_category
from pipeline_tests.views.fixtures import cleaned
from pipeline_tests.views.test_views import CASES, VIEWS


def _undescribed(schema: dg.TableSchema) -> list[str]:
    return [c.name for c in schema.columns if not (c.description or "").strip()]


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_declared_view_column_has_a_description(name):
    view = VIEWS[name]
    descriptions = view.column_descriptions()
    assert tuple(descriptions) == view.columns
    assert [c for c, text in descriptions.items() if not text.strip()] == []


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_the_columns_a_view_function_returns_are_its_declared_and_described_ones(spark, name):
    view, case = VIEWS[name], CASES[name]
    tables = {t: cleaned(spark, input_category(t), case.inputs.get(t, [])) for t in view.inputs}
    result = view.function(**tables)  # not view.compute, which selects the declared columns
    assert sorted(result.columns) == sorted(view.columns)
    # The schema the materialization reports, built as assets/views.py builds it.
    assert _undescribed(table_schema(result.schema, view.column_descriptions())) == []


def test_notes_and_glossary_entries_are_all_shown_by_some_view():
    for name, notes in VIEW_COLUMN_NOTES.items():
        assert name in VIEWS, f"notes for an unknown view {name}"
        assert set(notes) <= set(VIEWS[name].columns), f"{name}: notes for columns it does not have"
    shown = {c for v in VIEWS.values() for c in v.columns if c not in VIEW_COLUMN_NOTES.get(v.name, {})}
    assert set(COLUMN_DESCRIPTIONS) <= shown


@pytest.mark.parametrize("category", [c.name for c in CATEGORIES])
def test_every_cleaned_column_has_a_description(category):
    schema = CATEGORY_BY_NAME[category].cleaned_schema
    descriptions = CATEGORY_BY_NAME[category].cleaned_column_descriptions()
    assert list(descriptions) == schema.fieldNames()
    assert [c for c, text in descriptions.items() if not text.strip()] == []


def test_view_and_cleaned_assets_declare_a_described_column_schema():
    graph = defs.resolve_asset_graph()
    expected = {view_key(v.name): v.columns for v in VIEWS.values()}
    expected |= {cleaned_key(c): tuple(c.cleaned_schema.fieldNames()) for c in CATEGORIES}
    for key, columns in expected.items():
        schema = graph.get(key).metadata["dagster/column_schema"]
        assert tuple(c.name for c in schema.columns) == columns, key
        assert _undescribed(schema) == [], key
