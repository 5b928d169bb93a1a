"""The MOOC generator, checked by reading its CSV files back: the seed's names, headers and shapes, the
malformed rows it reports, determinism, and enrolments that a collaborative model can learn from."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from pipeline.ml.mooc_data import MoocSize, generate_mooc

FILES = ("user.csv", "course.csv", "user_course.csv", "course_map.csv")


def read(folder, name) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def valid_enrolments(folder) -> pd.DataFrame:
    """Rows with a user, a catalogue course and a parseable time, each once, with the time parsed."""
    enrolments = read(folder, "user_course.csv")
    known = set(read(folder, "course.csv")["id"])
    enrolments["time"] = pd.to_datetime(enrolments["enroll_time"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    ok = (enrolments["user"] != "") & enrolments["course"].isin(known) & enrolments["time"].notna()
    return enrolments[ok].drop_duplicates()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mooc3000")
    size = MoocSize.scaled(3000)
    return folder, size, generate_mooc(folder, size, seed=7)




def test_files_have_the_seeds_headers_in_utf8_without_bom(small):
    folder, _, _ = small
    raw = {name: (folder / name).read_bytes() for name in FILES}
    assert not any(data.startswith(b"\xef\xbb\xbf") for data in raw.values())
    assert {name: data.decode("utf-8").split("\n", 1)[0] for name, data in raw.items()} == {
        "user.csv": "id,name_vn,gender,year_of_birth,school",
        "course.csv": "id,name,about,field,name_vn,about_vn",
        "user_course.csv": "user,course,enroll_time",
        "course_map.csv": "course_id, mapped_id",  # the seed's space before mapped_id
    }


def test_sizes_are_the_seeds_and_scale_proportionally():
    assert MoocSize.seed() == MoocSize(99_970, 2_828, 3_738, 1_996_390)
    assert MoocSize.scaled(99_970) == MoocSize.seed()
    size = MoocSize.scaled(5000)
    assert size.enrolments == round(1_996_390 * 5000 / 99_970)
    assert 150 <= size.courses < size.catalogue_courses  # at least 150 courses leave room for 100 negatives
    assert MoocSize.scaled(20_000).courses == round(2_828 * 20_000 / 99_970)
    with pytest.raises(ValueError):
        MoocSize.scaled(10)  # 10 users cannot give 150 courses five users each


def test_report_counts_the_rows_written(small):
    folder, size, report = small
    rows = {}
    for name in FILES:
        with open(folder / name, encoding="utf-8", newline="") as file:
            rows[name] = sum(1 for _ in csv.reader(file)) - 1  # less the header; quoted fields may hold commas
    assert report.rows == rows
    assert rows["user.csv"] == size.users and rows["course.csv"] == size.catalogue_courses
    assert rows["user_course.csv"] - sum(report.malformed.values()) == size.enrolments
    assert rows["course_map.csv"] == size.courses


def test_users_look_like_the_seeds(small):
    folder, _, _ = small
    users = read(folder, "user.csv")
    assert users["id"].str.fullmatch(r"U_\d{7,8}").all() and users["id"].is_unique
    assert set(users["gender"]) <= {"0.0", "1.0", "2.0"}
    assert (users["name_vn"].str.split().str.len() >= 3).all()
    assert abs((users["school"] == "").mean() - 79_031 / 99_970) < 0.02
    assert abs((users["year_of_birth"] == "").mean() - 99_100 / 99_970) < 0.005
    years = users.loc[users["year_of_birth"] != "", "year_of_birth"]
    assert len(years) and years.str.fullmatch(r"(19|20)\d\d(\.0)?").all()


def test_courses_look_like_the_seeds(small):
    folder, _, _ = small
    courses = read(folder, "course.csv")
    assert courses["id"].str.fullmatch(r"C_\d{6}").all() and courses["id"].is_unique
    fields = courses["field"].map(json.loads)
    assert fields.map(lambda f: isinstance(f, list) and len(f) >= 1 and all(isinstance(x, str) and x for x in f)).all()
    assert courses["field"].str.startswith('["').all()
    assert (courses["name"] != "").all() and (courses["name_vn"] != "").all()


def test_clean_enrolments_are_unique_ordered_and_leave_room_for_negatives(small):
    folder, size, _ = small
    valid = valid_enrolments(folder)
    assert not valid.duplicated(["user", "course"]).any()
    assert not valid.duplicated(["user", "time"]).any()  # the last enrolment of a user is unambiguous
    assert valid["time"].min() >= pd.Timestamp("2019-01-01") and valid["time"].max() < pd.Timestamp("2022-01-01")
    per_user = valid.groupby("user").size()
    assert per_user.min() >= 3 and abs(per_user.mean() - 1_996_390 / 99_970) < 1
    assert per_user.max() <= valid["course"].nunique() - 101  # history and held-out course, 100 negatives left
    assert valid["user"].nunique() == size.users


def test_every_enrolled_course_has_five_users_and_some_courses_none(small):
    folder, size, _ = small
    per_course = valid_enrolments(folder).groupby("course")["user"].nunique()
    assert per_course.min() >= 5
    assert len(per_course) == size.courses < len(read(folder, "course.csv"))


def test_course_popularity_is_heavy_tailed(tmp_path):
    """The seed's most popular course has 26 times the mean (18,379 against 706 users). Small sizes cap that
    ratio: at scaled(5000) a user takes 20 of 150 courses, so 5 times the mean would be two thirds of all
    users (the generator gives about 3.5 to 7 there, by seed). At scaled(20000), 566 courses, it is not capped."""
    generate_mooc(tmp_path, MoocSize.scaled(20_000))
    per_course = valid_enrolments(tmp_path).groupby("course")["user"].nunique()
    assert per_course.max() / per_course.mean() >= 5
    assert per_course.nlargest(len(per_course) // 10).sum() / per_course.sum() >= 0.25  # top tenth: a quarter


def test_course_map_numbers_the_enrolled_courses_by_first_enrolment(small):
    folder, _, _ = small
    course_map = read(folder, "course_map.csv")
    first = valid_enrolments(folder).groupby("course")["time"].min().reset_index()
    first["number"] = first["course"].str[2:].astype(int)
    expected = first.sort_values(["time", "number"])["course"].tolist()
    assert course_map["course_id"].tolist() == expected
    assert course_map[" mapped_id"].astype(int).tolist() == list(range(len(expected)))


def test_malformed_rows_match_the_report(small):
    folder, size, report = small
    enrolments = read(folder, "user_course.csv")
    known = set(read(folder, "course.csv")["id"])
    times = pd.to_datetime(enrolments["enroll_time"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    found = {
        "missing_user": int((enrolments["user"] == "").sum()),
        "missing_course": int((enrolments["course"] == "").sum()),
        "bad_timestamp": int(times.isna().sum()),
        "unknown_course": int((~enrolments["course"].isin(known) & (enrolments["course"] != "")).sum()),
        "duplicate": int(enrolments.duplicated().sum()),
    }
    assert found == report.malformed
    assert all(count >= 25 for count in found.values())  # 0.2% / 4 and 0.1% of 59,910 rows, about 30 and 60
    assert sum(found.values()) + size.enrolments == len(enrolments)  # one defect per malformed row


def test_no_malformed_rows_when_none_are_asked_for(tmp_path):
    report = generate_mooc(tmp_path, MoocSize.scaled(500), malformed_share=0, duplicate_share=0)
    assert len(valid_enrolments(tmp_path)) == len(read(tmp_path, "user_course.csv")) == MoocSize.scaled(500).enrolments
    assert set(report.malformed.values()) == {0}


def test_the_same_seed_gives_the_same_files(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate_mooc(tmp_path / name, MoocSize.scaled(500), seed=seed)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("user.csv", "user_course.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_enrolments_carry_structure_that_beats_popularity(small):
    """Leave-last-out, the held-out course ranked among 100 sampled courses outside the user's history:
    Hit@10 of item-item co-occurrence (cosine-normalised, in numpy) against course popularity."""
    folder, _, _ = small
    valid = valid_enrolments(folder).sort_values(["user", "time"])
    index = {course: i for i, course in enumerate(sorted(valid["course"].unique()))}
    histories = [np.array([index[c] for c in group]) for _, group in valid.groupby("user")["course"]]
    n_courses = len(index)
    train = np.zeros((len(histories), n_courses))
    for row, history in enumerate(histories):
        train[row, history[:-1]] = 1
    popularity = train.sum(axis=0)
    co = train.T @ train
    np.fill_diagonal(co, 0)
    cosine = co / np.sqrt(np.outer(popularity, popularity) + 1e-12)
    rng = np.random.default_rng(0)
    hits = {"co_occurrence": 0, "popularity": 0}
    for row, history in enumerate(histories):
        negatives = rng.choice(np.setdiff1d(np.arange(n_courses), history), 100, replace=False)
        candidates = np.append(negatives, history[-1])
        for name, scores in (("co_occurrence", train[row] @ cosine), ("popularity", popularity)):
            s = scores[candidates]
            rank = (s[:-1] > s[-1]).sum() + rng.integers(0, (s[:-1] == s[-1]).sum() + 1)  # ties at random
            hits[name] += int(rank < 10)
    hit = {name: count / len(histories) for name, count in hits.items()}
    assert hit["co_occurrence"] > hit["popularity"] + 0.1, hit
