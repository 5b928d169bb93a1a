"""Top-N tables in a real Cassandra: exact rows after writes and rewrites, stale rows removed, bad input refused."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.serving.reco_tables import (
    COURSE_RECOMMENDATIONS,
    MOVIE_RECOMMENDATIONS,
    ensure_top_n_table,
    read_top_n,
    replace_top_n,
    write_top_n,
)
from pipeline_tests.keyspaces import scratch_keyspaces

pytestmark = pytest.mark.services
KEYSPACE = "reco_tables_test"
MOVIES = MOVIE_RECOMMENDATIONS.in_keyspace(KEYSPACE)
COURSES = COURSE_RECOMMENDATIONS.in_keyspace(KEYSPACE)


@pytest.fixture(scope="module")
def session(services):
    with scratch_keyspaces(services, KEYSPACE) as s:
        ensure_top_n_table(s, MOVIES)
        ensure_top_n_table(s, MOVIES)  # idempotent
        ensure_top_n_table(s, COURSES)
        yield s


def lists(users: list[int], n: int, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame([{"userid": u, "rank": r, "movieid": 100 * u + r + offset, "score": 1.0 / r,
                          "title": f"movie {100 * u + r + offset}", "genres": "Drama"}
                         for u in users for r in range(1, n + 1)])


def everything(session, table) -> pd.DataFrame:
    return pd.DataFrame([r._asdict() for r in session.execute(f"SELECT * FROM {table.qualified}")])


def test_full_rewrite_holds_exactly_ten_rows_per_user(session, lake):
    report = replace_top_n(session, MOVIES, lists([1, 2, 3], 10), "v1", lake)
    assert (report.users, report.rows) == (3, 30)
    table = everything(session, MOVIES)
    assert table.groupby("userid").size().to_dict() == {1: 10, 2: 10, 3: 10}
    rows = read_top_n(session, MOVIES, 2)
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert [r["movieid"] for r in rows] == [201 + i for i in range(10)]
    assert rows[0]["title"] == "movie 201" and rows[0]["model_version"] == "v1"
    assert rows[3]["score"] == pytest.approx(0.25)


def test_second_rewrite_with_fewer_users_leaves_nothing_of_the_old_version(session, lake):
    replace_top_n(session, MOVIES, lists([1, 2, 3], 10), "v1", lake)
    report = replace_top_n(session, MOVIES, lists([2, 4], 10, offset=50), "v2", lake)
    table = everything(session, MOVIES)
    assert set(table["model_version"]) == {"v2"} and report.users_removed == 2
    assert sorted(table["userid"].unique()) == [2, 4] and len(table) == 20


def test_a_shorter_list_keeps_no_stale_ranks(session):
    write_top_n(session, MOVIES, lists([7], 10), "v1")
    write_top_n(session, MOVIES, lists([7], 3, offset=9), "v2")
    assert [(r["rank"], r["movieid"], r["model_version"]) for r in read_top_n(session, MOVIES, 7)] == [
        (1, 710, "v2"), (2, 711, "v2"), (3, 712, "v2")]


@pytest.mark.parametrize("breakage", ["rank gap", "null score", "missing column", "more than ten ranks"])
def test_invalid_input_is_refused_before_anything_is_written(session, breakage):
    rows = lists([8], 3)
    if breakage == "more than ten ranks":  # the table holds ten slots: an 11th would never be cleared
        rows = lists([8], 11)
    elif breakage == "rank gap":
        rows.loc[2, "rank"] = 5
    elif breakage == "null score":
        rows.loc[0, "score"] = None
    else:
        rows = rows.drop(columns=["genres"])
    with pytest.raises(ValueError):
        write_top_n(session, MOVIES, rows, "v9")
    assert read_top_n(session, MOVIES, 8) == []


def test_course_table_takes_text_ids(session):
    rows = pd.DataFrame({"user_id": ["U_1"] * 2, "rank": [1, 2], "course_id": ["C_5", "C_6"],
                         "score": [0.9, 0.8], "course_name": ["Toán", None]})
    write_top_n(session, COURSES, rows, "v1")
    assert [(r["course_id"], r["course_name"]) for r in read_top_n(session, COURSES, "U_1")] == [
        ("C_5", "Toán"), ("C_6", None)]
