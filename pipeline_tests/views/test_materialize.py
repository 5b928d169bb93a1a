"""materialize_view writes where the assets expect and counts what the view checks look at."""

from datetime import datetime, timezone

from pyspark.sql import functions as F

from pipeline.events.cleaning import cleaned_parts
from pipeline.views.common import event_date
from pipeline.views.materialize import materialize_view, materialize_views, read_view
from pipeline.views.registry import VIEWS_BY_NAME, all_views
from pipeline.views.view import View
from pipeline_tests.views.fixtures import cleaned, generated_lake


def logins_per_user_with_defects(auth):
    """A deliberately broken view: SV001 appears twice, SV003 loses its user_id, SV002's rate is 150."""
    counts = auth.groupBy(F.when(F.col("user_id") != "SV003", F.col("user_id")).alias("user_id")).agg(
        F.count("*").alias("logins"))
    extra = counts.where("user_id = 'SV001'")
    return counts.unionByName(extra).withColumn(
        "rate", F.when(F.col("user_id") == "SV002", F.lit(150.0)).otherwise(F.lit(50.0)))


BROKEN = View(name="broken_logins", group="auth", function=logins_per_user_with_defects,
              columns=("user_id", "logins", "rate"), keys=("user_id",), date_keyed=False,
              description="test only", rates=("rate",))


def test_checks_count_duplicate_and_null_keys_and_rates_out_of_range(spark, lake):
    rows = [{"event_type": "LOGIN", "user_id": u, "event_time": "2026-11-24 08:00:00", "session_id": f"s{i}"}
            for i, u in enumerate(["SV001", "SV001", "SV002", "SV003"])]
    cleaned(spark, "auth", rows).write.parquet(lake.uri(*cleaned_parts("auth", "2026-11-24")))
    out = materialize_view(spark, lake, BROKEN)
    # Rows: SV001 (twice), SV002, null -> 4 rows; SV001's two rows are the duplicates; SV002 has rate 150.
    assert (out.rows, out.duplicate_keys, out.null_keys, out.rates_out_of_range, out.input_rows) == (4, 2, 1, 1, 4)


def logins_per_day_with_a_repeated_user(auth):
    """A deliberately broken date-keyed view: SV001's row of each day appears twice."""
    counts = auth.groupBy(event_date(), "user_id").agg(F.count("*").alias("logins"))
    return counts.unionByName(counts.where("user_id = 'SV001'"))


BROKEN_DAILY = View(name="broken_daily_logins", group="auth", function=logins_per_day_with_a_repeated_user,
                    columns=("date", "user_id", "logins"), keys=("date", "user_id"), date_keyed=True,
                    description="test only")


def test_a_date_keyed_view_is_checked_day_by_day_with_its_date(spark, lake):
    for day, users in (("2026-11-23", ["SV002"]), ("2026-11-24", ["SV001", "SV002", "SV002"])):
        rows = [{"event_type": "LOGIN", "user_id": u, "event_time": f"{day} 08:00:00", "session_id": f"{day}-{i}"}
                for i, u in enumerate(users)]
        cleaned(spark, "auth", rows).write.parquet(lake.uri(*cleaned_parts("auth", day)))
    clean_day = materialize_view(spark, lake, BROKEN_DAILY, "2026-11-23")
    broken_day = materialize_view(spark, lake, BROKEN_DAILY, "2026-11-24")
    assert (clean_day.rows, clean_day.duplicate_keys, clean_day.null_keys) == (1, 0, 0)
    # 2026-11-24: SV001 twice (the duplicates) and SV002 once, each row dated by its folder.
    assert (broken_day.rows, broken_day.duplicate_keys, broken_day.null_keys, broken_day.input_rows) == (3, 2, 0, 3)
    assert sorted((str(d), u, n) for d, u, n in broken_day.preview.itertuples(index=False)) == [
        ("2026-11-24", "SV001", 1), ("2026-11-24", "SV001", 1), ("2026-11-24", "SV002", 2)]
    assert [f.name for f in broken_day.schema.fields] == ["date", "user_id", "logins"]


def test_date_keyed_views_are_written_per_day_and_read_back_with_their_date(spark, lake):
    dau = VIEWS_BY_NAME["auth_daily_active_users"]
    for day, users in (("2026-11-23", ["SV001"]), ("2026-11-24", ["SV001", "SV002", "SV002"])):
        rows = [{"event_type": "LOGIN", "user_id": u, "event_time": f"{day} 08:00:00", "session_id": f"{day}-{i}"}
                for i, u in enumerate(users)]
        cleaned(spark, "auth", rows).write.parquet(lake.uri(*cleaned_parts("auth", day)))
        materialize_view(spark, lake, dau, day)
    assert lake.list_files("views", dau.name, "date=2026-11-24")
    got = sorted((str(r["date"]), r["daily_active_users"], r["total_sessions"]) for r in read_view(spark, lake, dau).collect())
    assert got == [("2026-11-23", 1, 1), ("2026-11-24", 2, 3)]


def test_date_keyed_views_of_several_days_in_one_step_equal_each_day_alone(spark, tmp_path):
    """A single-run backfill computes a date-keyed view over its days at once and splits the result by date: every
    day must hold what the view computes from that day's events alone (random events over three days)."""
    end = datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc)
    together, days = generated_lake(tmp_path / "together", seed=11, events=3000, end=end, days=2.9)
    alone, _ = generated_lake(tmp_path / "alone", seed=11, events=3000, end=end, days=2.9)
    assert len(days) == 3
    daily = [v for v in all_views() if v.date_keyed]
    materialize_views(spark, together, daily, days)
    for view in daily:
        for day in days:
            materialize_view(spark, alone, view, day)
        rows = [sorted(map(repr, read_view(spark, lake, view).collect())) for lake in (together, alone)]
        assert rows[0] == rows[1], view.name
        assert rows[0], view.name  # three days of 3,000 events give every date-keyed view rows
