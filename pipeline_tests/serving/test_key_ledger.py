"""Full rewrites in a real Cassandra driven by the key ledger in the lake, not by reading the table: what
incremental writes added is deleted when a rewrite no longer has it, a crashed rewrite is finished by the next,
a table without a ledger is read once, and the rows_match_source count sees a stale row in a written partition.

A row inserted behind the writers' back (straight through CQL) is how the tests tell "the ledger said" from
"the table was read": a rewrite that scanned would delete it."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.serving import analytics_tables as t
from pipeline.serving.key_ledger import rewrite
from pipeline.serving.reco_tables import (
    MOVIE_RECOMMENDATIONS,
    ensure_top_n_table,
    replace_top_n,
    user_ledger,
    write_top_n,
)
from pipeline_tests.keyspaces import scratch_keyspaces

KEYSPACE = "key_ledger_test"
MOVIES = MOVIE_RECOMMENDATIONS.in_keyspace(KEYSPACE)


@pytest.fixture
def session(services):
    with scratch_keyspaces(services, KEYSPACE) as s:
        ensure_top_n_table(s, MOVIES)
        t.ensure_analytics_schema(s, KEYSPACE)
        yield s


def lists(users: list[int]) -> pd.DataFrame:
    return pd.DataFrame([{"userid": u, "rank": r, "movieid": 100 * u + r, "score": 1.0 / r, "title": "t",
                          "genres": "g"} for u in users for r in (1, 2)])


def users_in(session) -> set[int]:
    return {r.userid for r in session.execute(f"SELECT DISTINCT userid FROM {MOVIES.qualified}")}


def behind_the_ledger(session, user: int) -> None:
    session.execute(f"INSERT INTO {MOVIES.qualified} (userid, rank, movieid, score) VALUES ({user}, 1, 1, 1.0)")


def test_a_rewrite_deletes_the_users_incremental_writes_added_and_reads_nothing(session, lake):
    replace_top_n(session, MOVIES, lists([1, 2]), "v1", lake)
    ledger = user_ledger(lake, MOVIES.qualified, MOVIES.user_column)
    write_top_n(session, MOVIES, lists([3]), "v1", ledger=ledger)  # a stream refresh: a new user
    behind_the_ledger(session, 99)

    report = replace_top_n(session, MOVIES, lists([2, 4]), "v2", lake)
    # 1 (the last rewrite's) and 3 (the refresh's) are gone; 99 was never in the ledger, so never read.
    assert users_in(session) == {2, 4, 99} and report.users_removed == 2
    assert ledger.keys(ledger.objects()) == {(2,), (4,)}  # the objects read were compacted away


def test_a_crashed_rewrite_is_finished_by_the_next(session, lake):
    replace_top_n(session, MOVIES, lists([1, 2]), "v1", lake)
    ledger = user_ledger(lake, MOVIES.qualified, MOVIES.user_column)

    def upsert_then_crash():
        write_top_n(session, MOVIES, lists([5]), "v2")
        raise RuntimeError("the run died mid-rewrite")

    with pytest.raises(RuntimeError):
        rewrite(session, ledger, {(5,)}, upsert_then_crash)
    assert users_in(session) == {1, 2, 5}  # nothing deleted yet: the retry must finish the job

    report = replace_top_n(session, MOVIES, lists([5]), "v2", lake)
    assert users_in(session) == {5} and report.users_removed == 2


def test_a_table_without_a_ledger_is_read_once(session, lake):
    write_top_n(session, MOVIES, lists([1, 2, 3]), "v0")  # written before ledgers: none in the lake
    said = []
    replace_top_n(session, MOVIES, lists([3]), "v1", lake, log=said.append)
    assert users_in(session) == {3}
    assert len(said) == 1 and "reading its keys once" in said[0]

    behind_the_ledger(session, 7)
    replace_top_n(session, MOVIES, lists([3]), "v2", lake, log=said.append)
    assert users_in(session) == {3, 7} and len(said) == 1  # the ledger, not the table, from then on


def test_the_held_count_sees_a_stale_row_in_a_written_partition(session, lake):
    table = t.COURSE_STUDENT_ENROLLMENT  # partition: course; rows: its students
    rows = pd.DataFrame({"course_id": ["K1", "K1", "K2"], "student_id": ["a", "b", "a"],
                         "enrollment_date": pd.to_datetime(["2026-01-01 10:00:00Z"] * 3),
                         "total_videos_watched": [1, 2, 3]})
    write = t.replace(session, table, rows, lake, KEYSPACE)
    assert (write.rows, write.removed, write.held) == (3, 0, 3)

    session.execute(f"INSERT INTO {KEYSPACE}.{table.name} (course_id, student_id, enrollment_date) "
                    f"VALUES ('K1', 'zombie', '2026-01-02')")
    write = t.replace(session, table, rows.iloc[[0, 2]], lake, KEYSPACE)
    # Written: K1/a and K2/a; removed: K1/b. K1 still holds the zombie, so the check would fail: 3 != 2.
    assert (write.rows, write.removed, write.held) == (2, 1, 3)


def test_a_ledger_of_many_refreshes_is_merged_and_keeps_every_key(tmp_path):
    from pipeline.lake import Lake
    from pipeline.serving.key_ledger import COMPACT_AFTER, KeyLedger

    ledger = KeyLedger(Lake(str(tmp_path)), "ks.table", ("user", "day"))
    for i in range(COMPACT_AFTER + 5):  # a stream refresh per key
        ledger.record([(i, "2026-12-02")])
    # The write that found COMPACT_AFTER objects merged them all into its own; four more came after it.
    assert len(ledger.objects()) == 1 + 4
    assert ledger.keys(ledger.objects()) == {(i, "2026-12-02") for i in range(COMPACT_AFTER + 5)}
