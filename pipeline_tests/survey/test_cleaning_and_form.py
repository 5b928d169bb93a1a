"""The survey's cleaning rules on a hand-built table of dirty inputs (every rule and every fixed defect), the
quarantine reasons, and the form's validation. Expected values are written out by hand."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pipeline.survey.cleaning import COLUMNS, clean_record
from pipeline.survey.form import SurveyForm

BASE = {"submission_id": "s-1", "country": "A", "campus": "A_C", "mobility": "car", "contracts": 2,
        "alternative_choice": "alternative B", "distance": 12.5, "pro_contract": False, "advertisement": "fair"}

# (field, raw value, cleaned value)
FIELD_CASES = [
    ("country", "  Belgium!! 42", "belgium"),  # first run of letters, spaces, hyphens; trimmed; lowercase
    ("country", "123 Costa-Rica 9", "costa-rica"),  # must start with a letter
    ("country", "B", "b"),
    ("campus", " A_C ", "a_c"),
    ("campus", "**B-d campus", "b-d campus"),  # letter words joined by _, space or -
    ("alternative_choice", "Alternative B!", "alternative b"),
    ("alternative_choice", None, None),
    ("mobility", "Public Transport?!", "public transport"),
    ("mobility", "e-bike 2", "e-bike 2"),  # alphanumeric words with spaces or hyphens
    ("contracts", "3", 3),
    ("contracts", 0, 0),
    ("contracts", -2, None),  # fixed defect: negatives become null, as the seed meant
    ("contracts", "-1", None),
    ("contracts", "two", None),
    ("contracts", 2.0, 2),
    ("contracts", 2.5, None),
    ("distance", 12.5, 12.5),  # fixed defect: decimals kept (the seed cast the first digits to int)
    ("distance", "12,5 km", 12.5),
    ("distance", "about 7.25km", 7.25),
    ("distance", 3, 3.0),
    ("pro_contract", "yes", True),
    ("pro_contract", "TRUE", True),
    ("pro_contract", 0, False),
    ("pro_contract", None, False),  # absent: false, the seed model's default
    ("advertisement", "Social Media", "social media"),
    ("advertisement", "fiends", "friends"),  # the seed form's typo
]


@pytest.mark.parametrize(("field", "raw", "expected"), FIELD_CASES)
def test_each_rule_cleans_its_field(field, raw, expected):
    cleaned = clean_record(json.dumps({**BASE, field: raw}))
    assert cleaned.reason is None, cleaned
    assert cleaned.row[field] == expected and type(cleaned.row[field]) is type(expected)


def test_a_clean_record_keeps_every_column_and_no_consent():
    cleaned = clean_record(json.dumps({**BASE, "consent": True}))
    assert list(cleaned.row) == list(COLUMNS)
    assert cleaned.row == {"submission_id": "s-1", "country": "a", "campus": "a_c", "mobility": "car", "contracts": 2,
                           "alternative_choice": "alternative b", "distance": 12.5, "pro_contract": False,
                           "advertisement": "fair"}


QUARANTINE_CASES = [
    (None, "empty_message"),
    (b"{not json", "invalid_json"),
    (b"\xff\xfe", "invalid_json"),
    (b"[1, 2]", "not_an_object"),
    (json.dumps({**BASE, "submission_id": ""}), "missing_submission_id"),
    (json.dumps({k: v for k, v in BASE.items() if k != "submission_id"}), "missing_submission_id"),
    (json.dumps({**BASE, "country": "42 !!"}), "invalid_country"),
    (json.dumps({**BASE, "campus": None}), "invalid_campus"),
    (json.dumps({**BASE, "mobility": "?!"}), "invalid_mobility"),
    (json.dumps({**BASE, "distance": "far"}), "invalid_distance"),
    (json.dumps({**BASE, "distance": -4}), "invalid_distance"),
    (json.dumps({**BASE, "distance": "-4 km"}), "invalid_distance"),
    (json.dumps({**BASE, "pro_contract": "maybe"}), "invalid_pro_contract"),
]


@pytest.mark.parametrize(("raw", "reason"), QUARANTINE_CASES)
def test_what_cannot_be_cleaned_is_quarantined_with_its_reason(raw, reason):
    cleaned = clean_record(raw)
    assert (cleaned.row, cleaned.reason) == (None, reason)


FORM = {"country": "B", "campus": "B_E", "mobility": "bike", "contracts": 1, "alternative_choice": "alternative A",
        "distance": 3.5, "pro_contract": True, "advertisement": "friends", "consent": True}


def test_a_valid_form_gives_the_published_record_without_consent():
    record = SurveyForm(**FORM, submission_id="id-00007").record()
    assert record == {"submission_id": "id-00007", **{k: v for k, v in FORM.items() if k != "consent"}}
    assert SurveyForm(**FORM).record()["submission_id"] != SurveyForm(**FORM).record()["submission_id"]
    assert clean_record(json.dumps(record)).reason is None  # what the form accepts, cleaning accepts


@pytest.mark.parametrize(("field", "value", "message"), [
    ("country", "G", "Input should be"),
    ("campus", "B_G", "String should match pattern"),
    ("campus", "A_C", "is not a campus of country B"),
    ("mobility", "plane", "Input should be"),
    ("contracts", -1, "greater than or equal to 0"),
    ("distance", 25_000, "less than or equal to 20000"),
    ("advertisement", "fiends", "Input should be"),
    ("consent", False, "consent is required"),
])
def test_the_form_names_the_field_and_the_rule(field, value, message):
    with pytest.raises(ValidationError) as error:
        SurveyForm(**{**FORM, field: value})
    [problem] = error.value.errors()
    assert problem["loc"] == (field,) and message in problem["msg"]


def test_the_form_refuses_unknown_fields_and_requires_consent():
    with pytest.raises(ValidationError) as error:
        SurveyForm(**{k: v for k, v in FORM.items() if k != "consent"}, name="<script>")
    assert {p["loc"] for p in error.value.errors()} == {("consent",), ("name",)}
