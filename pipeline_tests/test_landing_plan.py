"""Offset-range planning, naming and gap detection (pure logic, worked out by hand)."""

from pipeline.events.landing import OffsetRange, batch_id, find_gaps, plan_batches


def test_pending_offsets_become_one_batch_when_they_fit():
    batches = plan_batches({("a", 0): 10, ("a", 1): 0}, {("a", 0): 15, ("a", 1): 3, ("b", 0): 0}, 100)
    assert batches == [[OffsetRange("a", 0, 10, 15), OffsetRange("a", 1, 0, 3)]]


def test_large_lag_is_split_into_contiguous_batches_under_the_limit():
    batches = plan_batches({}, {("a", 0): 25, ("b", 0): 4}, 10)
    assert batches == [
        [OffsetRange("a", 0, 0, 10)],
        [OffsetRange("a", 0, 10, 20)],
        [OffsetRange("a", 0, 20, 25), OffsetRange("b", 0, 0, 4)],
    ]
    assert all(sum(len(r) for r in b) <= 10 for b in batches)


def test_nothing_pending_plans_nothing():
    assert plan_batches({("a", 0): 7}, {("a", 0): 7}, 10) == []


def test_file_names_round_trip_and_sort_by_offset():
    rng = OffsetRange("video_topic", 3, 1200, 1500)
    assert rng.file_name == "video_topic-3-000000001200-000000001500.parquet"
    assert OffsetRange.from_file_name(f"/lake/raw/events/video_topic/date=2026-11-24/{rng.file_name}") == rng
    assert OffsetRange.from_file_name("video_topic-3-000000001200-000000001500.parquet.tmp-ab12") is None


def test_batch_id_depends_on_the_ranges_not_their_order():
    a, b = OffsetRange("t", 0, 0, 5), OffsetRange("t", 1, 0, 5)
    assert batch_id([a, b]) == batch_id([b, a])
    assert batch_id([a]) != batch_id([a, b])
    assert len(batch_id([a])) == 16


def test_gaps_overlaps_and_repeats_are_reported():
    ranges = [OffsetRange("t", 0, 0, 5), OffsetRange("t", 0, 5, 9), OffsetRange("t", 0, 12, 20),
              OffsetRange("t", 1, 0, 4), OffsetRange("t", 1, 3, 8), OffsetRange("u", 0, 0, 2), OffsetRange("u", 0, 0, 2)]
    assert [str(g) for g in find_gaps(ranges)] == [
        "t:0 gap between offsets 9 and 12",
        "t:1 overlap between offsets 4 and 3",
        "u:0 overlap between offsets 2 and 0",
    ]
    assert find_gaps([OffsetRange("t", 0, 0, 5), OffsetRange("t", 0, 5, 6), OffsetRange("t", 1, 9, 10)]) == []
