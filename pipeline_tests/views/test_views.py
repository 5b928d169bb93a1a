"""Every registered view against a small hand-built fixture whose expected rows were worked out by hand.

The cases live in cases_<group>.py next to this file; a view without a case fails here.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from pipeline.views.registry import all_views
from pipeline.views.view import input_category
from pipeline_tests.views import (
    cases_assessment,
    cases_auth,
    cases_course,
    cases_profile_notification,
    cases_serving,
    cases_video,
)
from pipeline_tests.views.fixtures import cleaned

VIEWS = {v.name: v for v in all_views()}
CASES = {**cases_auth.CASES, **cases_assessment.CASES, **cases_video.CASES, **cases_course.CASES,
         **cases_profile_notification.CASES, **cases_serving.CASES}


def _comparable(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Decimal):
        return Decimal(value).quantize(Decimal("0.01"))
    return value


def _rows(rows) -> list[tuple]:
    return sorted((tuple(_comparable(v) for v in row) for row in rows), key=repr)


def test_registry_holds_the_37_views_and_the_4_serving_views():
    groups = Counter(v.group for v in VIEWS.values())
    assert groups == {"auth": 5, "assessment": 7, "video": 7, "course": 8, "profile_notification": 10, "serving": 4}
    assert len(VIEWS) == len(all_views()) == 41


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_matches_its_hand_computed_rows(spark, name):
    assert name in CASES, f"view {name} has no hand-computed case in pipeline_tests/views/cases_*.py"
    view, case = VIEWS[name], CASES[name]
    tables = {name: cleaned(spark, input_category(name), case.inputs.get(name, [])) for name in view.inputs}
    result = view.compute(tables)
    assert tuple(result.columns) == view.columns
    assert _rows(result.collect()) == _rows(case.expected), case.note


def test_no_case_without_a_view():
    assert set(CASES) <= set(VIEWS)

