"""The CSV cleaner on a hand-written file: every outcome and reason, checked row by row."""

from __future__ import annotations

from datetime import datetime

from pipeline.ml.csv_tables import Column, CsvTable, clean_csv, read_cleaned

TABLE = CsvTable(
    name="test/ratings",
    file_name="rating.csv",
    columns=(Column("userId", "int"), Column("movieId", "int"), Column("rating", "double", between=(0.5, 5.0)),
             Column("timestamp", "timestamp"), Column("note", "string", required=False)),
    key=("userId", "movieId"),
    latest_by="timestamp",
)
MOVIES = CsvTable(name="test/movies", file_name="movie.csv", columns=(Column("movieId", "int"),), key=("movieId",))

RATINGS_CSV = """userId,movieId,rating,timestamp,note
1,10,4.0,2020-01-01 10:00:00,first
1,10,3.0,2020-01-02 10:00:00,newer rating wins
2,10,5,1577872800,epoch seconds
2,11,2.5,2020-01-01 10:00:00,
,10,4.0,2020-01-01 10:00:00,missing user
3,1.5,4.0,2020-01-01 10:00:00,fractional id
3,10,7.0,2020-01-01 10:00:00,rating too high
3,10,4.0,not a time,bad time
3,12,4.0,2020-01-01 10:00:00,unknown movie
3,10,4.0
2,11,2.5,2020-01-01 10:00:00,
"""


def test_every_row_is_cleaned_a_duplicate_or_quarantined_with_its_reason(spark, lake):
    lake.write_file(RATINGS_CSV.encode(), "raw", "test", "rating.csv")
    lake.write_file(b"movieId\n10\n11\n", "raw", "test", "movie.csv")
    clean_csv(spark, lake, "test", MOVIES)
    result = clean_csv(spark, lake, "test", TABLE, references={"movieId": read_cleaned(spark, lake, MOVIES)})

    # 11 data lines: 3 cleaned (1/10 newest, 2/10, 2/11), 2 duplicates (1/10 older, 2/11 repeated), 6 quarantined.
    assert (result.rows, result.cleaned, result.duplicates) == (11, 3, 2)
    assert result.quarantined == {"bad_type": 2, "missing_value": 1, "out_of_range": 1, "unknown_reference": 1,
                                  "wrong_field_count": 1}
    assert result.reconciles
    cleaned = sorted(tuple(r) for r in read_cleaned(spark, lake, TABLE).collect())
    assert cleaned == [
        (1, 10, 3.0, datetime(2020, 1, 2, 10), "newer rating wins"),
        (2, 10, 5.0, datetime(2020, 1, 1, 10), "epoch seconds"),
        (2, 11, 2.5, datetime(2020, 1, 1, 10), None),
    ]
    quarantined = {(r["line"], r["reason"], r["detail"])
                   for r in spark.read.parquet(lake.uri(*TABLE.quarantine_parts)).collect()}
    assert quarantined == {(5, "missing_value", "userId"), (6, "bad_type", "movieId"), (7, "out_of_range", "rating"),
                           (8, "bad_type", "timestamp"), (9, "unknown_reference", "movieId"),
                           (10, "wrong_field_count", "")}


def test_a_row_that_is_not_utf8_is_quarantined_as_bad_encoding(spark, lake):
    """A Windows-1252 / Latin-1 line among UTF-8 ones: that row only, with the column whose bytes were lost."""
    text = "userId,movieId,rating,timestamp,note\n1,10,4.0,2020-01-01 10:00:00,Amélie\n".encode()
    text += "2,10,4.0,2020-01-01 10:00:00,Amélie\n".encode("latin-1")
    lake.write_file(b"\xef\xbb\xbf" + text, "raw", "test", "rating.csv")  # with a byte-order mark, as Excel writes
    result = clean_csv(spark, lake, "test", TABLE)
    assert (result.rows, result.cleaned, result.quarantined) == (2, 1, {"bad_encoding": 1})
    assert [tuple(r) for r in read_cleaned(spark, lake, TABLE).collect()] == [
        (1, 10, 4.0, datetime(2020, 1, 1, 10), "Amélie")]
    [row] = spark.read.parquet(lake.uri(*TABLE.quarantine_parts)).collect()
    assert (row["line"], row["reason"], row["detail"]) == (2, "bad_encoding", "note")


def test_a_rerun_overwrites_instead_of_appending(spark, lake):
    lake.write_file(b"movieId\n10\n11\n", "raw", "test", "movie.csv")
    first = clean_csv(spark, lake, "test", MOVIES)
    second = clean_csv(spark, lake, "test", MOVIES)
    assert first == second
    assert read_cleaned(spark, lake, MOVIES).count() == 2
