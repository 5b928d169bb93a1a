"""The survey's blocking checks on the project's own assets: answers from too few student records are not
published to the results page's table (its asset does not run), and their check says how many rows there were
and how many the method needs. No Cassandra is reached: the table's asset is skipped."""

from __future__ import annotations

import dagster as dg

from assets.survey import ANALYSIS_ASSETS, QUESTION_KEYS, SURVEY_RESULTS_TABLE
from pipeline.survey.questions import QUESTIONS
from resources import build_resources

FEW_RECORDS = 20  # fewer than the 30 rows the statistical methods need


def test_answers_from_too_few_records_do_not_reach_the_results_table(lake_env):
    settings = lake_env.model_copy(update={"students_count": FEW_RECORDS})
    with dg.instance_for_test() as instance:
        result = dg.materialize(ANALYSIS_ASSETS, resources=build_resources(settings), instance=instance,
                                raise_on_error=False)
        enough = {c.asset_key: c for c in result.get_asset_check_evaluations() if c.check_name == "enough_rows"}
        materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    for question, key in zip(QUESTIONS, QUESTION_KEYS, strict=True):
        if key not in materialized:  # the data could not answer it at all (a named error in the run)
            continue
        rows = enough[key].metadata["rows"].value
        assert rows <= FEW_RECORDS
        assert enough[key].passed == (rows >= question.min_rows), question.name
    assert any(not check.passed for check in enough.values())
    assert SURVEY_RESULTS_TABLE not in materialized
