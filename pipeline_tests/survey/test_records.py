"""The student records source: reading a hand-written CSV with dirty rows (expected cleaned values and quarantine
reasons written out by hand), a file missing columns, and the generator's shape and determinism."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.survey.records import (CLEAN_COLUMNS, PLANTED, RECORD_COLUMNS, generate_student_records,
                                     read_student_records, write_student_records)

HEADER = ",".join(RECORD_COLUMNS)
# (CSV line, the quarantine reason; None: valid)
ROWS = [
    ("s1,A,A_B,developed,12;14.5; 16,3,no,fair,Accenture,yes,ULB,2,12.5", None),
    ("s2, b ,b_c,Developed,10,0,YES,Social Media,,no,,0,0", None),
    ("s3,A,A_C,developed,12;abc,1,no,fair,,no,,1,3", "grades: not a number"),
    ("s4,A,B_A,developed,12,1,no,fair,,no,,1,3", "campus: not a campus of its country"),
    ("s1,A,A_A,developed,12,1,no,fair,,no,,1,3", "student_id: duplicate"),
    ("s5,A,A_A,developed,12,-2,maybe,tv,,no,,1.5,-4",
     "absences: negative; has_stopped: not yes or no; referer: not friends, website, fair or social media; "
     "contracts: not an integer; distance: negative"),
    ("s6,G,G_A,developed,21,1,no,fair,,no,,1,3",
     "country: not one of A–F; campus: not <country>_<A–F>; grades: outside 0–20"),
    ("s7,A,A_A,developing,12,1,no,fair,,no,,1,3", "country_status: not its country's (developed)"),
    ("s8,A,A_A,developed,,1,no,fair,,no,,1,3", "grades: missing"),
    (",A,A_A,developed,12,1,no,fair,,no,,1,3", "student_id: missing"),
    ("s9,C,C_A,under developed,;,x,no,website,,sometimes,,2,far",
     "country_status: not developed, developing or under-developed; grades: no grade; absences: not an integer; "
     "has_pro_contract: not yes or no; distance: not a number"),
    ("s10,D,D_A,developing,20;0,0,no,friends,,yes,,0,nan", "distance: not a number"),
]


def write_csv(path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_dirty_rows_are_cleaned_or_quarantined_with_every_reason(tmp_path):
    cleaned, quarantined = read_student_records(write_csv(tmp_path / "students.csv", [HEADER, *(r for r, _ in ROWS)]))

    assert list(cleaned.columns) == list(CLEAN_COLUMNS)
    s1, s2 = cleaned.to_dict("records")
    assert s1 == {"student_id": "s1", "country": "a", "campus": "a_b", "country_status": "developed",
                  "mean_grade": pytest.approx((12 + 14.5 + 16) / 3), "grade_count": 3, "absences": 3,
                  "has_stopped": False, "referer": "fair", "hired_by": "Accenture", "has_pro_contract": True,
                  "alternative_choice": "ULB", "contracts": 2, "distance": 12.5}
    assert s2 == {"student_id": "s2", "country": "b", "campus": "b_c", "country_status": "developed",
                  "mean_grade": 10.0, "grade_count": 1, "absences": 0, "has_stopped": True,
                  "referer": "social media", "hired_by": None, "has_pro_contract": False,
                  "alternative_choice": None, "contracts": 0, "distance": 0.0}

    expected = [(row, reason) for row, (_, reason) in enumerate(ROWS, start=1) if reason]
    assert list(zip(quarantined["row"], quarantined["reason"])) == expected
    assert list(quarantined.columns) == [*RECORD_COLUMNS, "row", "reason"]
    assert quarantined["student_id"].tolist() == ["s3", "s4", "s1", "s5", "s6", "s7", "s8", "", "s9", "s10"]
    assert len(cleaned) + len(quarantined) == len(ROWS)  # nothing dropped


def test_missing_columns_are_named(tmp_path):
    columns = [c for c in RECORD_COLUMNS if c not in ("grades", "distance")]
    path = write_csv(tmp_path / "students.csv", [",".join(columns)])
    with pytest.raises(ValueError, match=r"missing columns \['grades', 'distance'\]"):
        read_student_records(path)


def test_a_file_with_only_its_header_gives_empty_frames(tmp_path):
    cleaned, quarantined = read_student_records(write_csv(tmp_path / "students.csv", [HEADER]))
    assert cleaned.empty and list(cleaned.columns) == list(CLEAN_COLUMNS)
    assert quarantined.empty


def test_generated_records_are_deterministic_text_in_the_csv_columns():
    first = generate_student_records(200, seed=3)
    assert first.equals(generate_student_records(200, seed=3))
    assert not first.equals(generate_student_records(200, seed=4))
    assert list(first.columns) == list(RECORD_COLUMNS)
    assert all(isinstance(value, str) for value in first.to_numpy().ravel())
    assert first["student_id"].is_unique


def test_generated_records_read_back_clean_with_the_planted_structure(tmp_path):
    raw = generate_student_records(1500, seed=11)
    cleaned, quarantined = read_student_records(write_student_records(raw, tmp_path / "students.csv"))

    assert quarantined.empty and len(cleaned) == 1500
    assert set(cleaned["campus"].str.upper()) <= set(PLANTED.campuses)
    assert (cleaned["campus"].str[0] == cleaned["country"]).all()
    statuses = cleaned.groupby(cleaned["country"].str.upper())["country_status"].unique()
    assert {country: list(s) for country, s in statuses.items()} == \
        {country: [status] for country, status in PLANTED.country_status.items()}
    assert cleaned["mean_grade"].between(0, 20).all() and (cleaned["grade_count"] >= 3).all()
    assert (cleaned[["absences", "contracts"]] >= 0).all().all() and (cleaned["distance"] >= 0).all()
    assert cleaned.loc[cleaned["has_stopped"], "hired_by"].isna().all()  # only students who stayed are hired
    assert set(cleaned["hired_by"].dropna()) <= set(PLANTED.companies)
    assert set(cleaned["alternative_choice"].dropna()) <= set(PLANTED.competitors)
    assert math.isclose(sum(PLANTED.companies.values()), 1.0)


def test_written_file_round_trips_the_text(tmp_path):
    raw = generate_student_records(50, seed=5)
    path = write_student_records(raw, tmp_path / "nested" / "students.csv")
    assert pd.read_csv(path, dtype=str, keep_default_na=False).equals(raw)
