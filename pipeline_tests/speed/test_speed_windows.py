"""Speed windows from a hand-built event sequence in two landing batches, with late events inside and outside
the 2-minute tolerance; every expected window below is counted by hand from the events listed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.events.validation import STAGED_ZONE, batch_parts
from pipeline.speed.layer import read_windows, refresh_speed

DAY = "2026-11-28"
TOLERANCE = pd.Timedelta(minutes=2)
RETENTION = pd.Timedelta(hours=48)


CATEGORY_COLUMNS = {"video": ["course_id", "video_id", "watch_duration_seconds"], "course": ["course_id"]}


def at(clock: str, day: str = DAY) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {clock}", tz="UTC")


def event(event_id, category, event_type, user, clock, course=None, video=None, seconds=None, day=DAY) -> dict:
    return {"event_id": event_id, "category": category, "event_type": event_type, "user_id": user,
            "event_time": at(clock, day), "course_id": course, "video_id": video, "watch_duration_seconds": seconds}


def stage(lake, batch: str, events: list[dict]) -> None:
    """Write a batch's staged objects as the landing does: one per category and event day, in that category's
    columns (auth events have no course or video)."""
    frame = pd.DataFrame(events)
    for (category, day), rows in frame.groupby(["category", frame["event_time"].dt.strftime("%Y-%m-%d")]):
        columns = ["event_id", "event_type", "user_id", "event_time", *CATEGORY_COLUMNS.get(category, [])]
        table = pa.Table.from_pandas(rows[columns].reset_index(drop=True), preserve_index=False)
        lake.write_parquet(table, *batch_parts(STAGED_ZONE, category, day, batch))


FIRST = [
    event("e1", "auth", "LOGIN", "u1", "10:00:10"),
    event("e2", "auth", "LOGIN", "u2", "10:00:40"),
    event("e3", "auth", "LOGIN", "u1", "10:00:50"),
    event("e4", "video", "VIDEO_WATCHED", "u1", "10:00:20", "c1", "v1", 30),
    event("e5", "video", "VIDEO_WATCHED", "u2", "10:00:45", "c1", "v1", 50),
    event("e6", "course", "COURSE_VIEW", "u2", "10:01:05", "c2"),
    event("e7", "video", "VIDEO_WATCHED", "u1", "10:05:00", "c1", "v2", 10),  # newest of the first batch
]
# Second batch: the watermark is 10:05:00 - 2 min = 10:03:00.
SECOND = [
    event("e8", "auth", "LOGIN", "u3", "10:03:30"),  # 1.5 min late: within the tolerance
    event("e9", "video", "VIDEO_WATCHED", "u3", "10:00:30", "c1", "v1", 99),  # 4.5 min late: too late
    event("e10", "auth", "LOGIN", "u3", "10:00:20"),  # too late
    event("e7", "video", "VIDEO_WATCHED", "u1", "10:05:00", "c1", "v2", 10),  # e7 delivered again
    event("e12", "course", "COURSE_VIEW", "u1", "10:03:10", "c2"),  # 1 min 50 s late: within
]


def rows(frame: pd.DataFrame, *columns: str) -> set[tuple]:
    out = frame.assign(window_start=frame["window_start"].dt.strftime("%H:%M:%S"))
    return set(out[["window_start", *columns]].itertuples(index=False, name=None))


def test_windows_follow_the_events_and_late_ones_only_within_the_tolerance(lake):
    stage(lake, "b1", FIRST)
    first = refresh_speed(lake, "b1", TOLERANCE, RETENTION)
    assert (first.events, first.on_time, first.too_late, first.newest_before) == (7, 7, 0, None)

    stage(lake, "b2", SECOND)
    second = refresh_speed(lake, "b2", TOLERANCE, RETENTION)
    assert (second.events, second.on_time, second.too_late) == (5, 3, 2)
    assert second.newest_before == at("10:05:00")

    # Logins u1 10:00:10, u2 10:00:40, u1 10:00:50, u3 10:03:30; each is in the window starting at its
    # 30-second mark and in the one 30 s before.
    assert rows(read_windows(lake, "active_users", DAY), "active_users") == {
        ("09:59:30", 1), ("10:00:00", 2), ("10:00:30", 2), ("10:03:00", 1), ("10:03:30", 1)}
    assert (read_windows(lake, "active_users", DAY)["window_end"]
            - read_windows(lake, "active_users", DAY)["window_start"]).eq(pd.Timedelta(minutes=1)).all()
    # Course events: c1 at 10:00 (e4, e5 views), c2 10:01 (e6), c2 10:03 (e12), c1 10:05 (e7 once).
    assert rows(read_windows(lake, "course_popularity", DAY), "course_id", "interactions", "views") == {
        ("10:00:00", "c1", 2, 2), ("10:01:00", "c2", 1, 0), ("10:03:00", "c2", 1, 0), ("10:05:00", "c1", 1, 1)}
    assert rows(read_windows(lake, "video_engagement", DAY), "video_id", "views", "unique_viewers",
                "total_watch_seconds") == {("10:00:00", "v1", 2, 2, 80), ("10:05:00", "v2", 1, 1, 10)}

    # What the second batch changed, for the Cassandra upsert: the windows its on-time events fall in.
    assert rows(second.changed["active_users"], "active_users") == {("10:03:00", 1), ("10:03:30", 1)}
    assert rows(second.changed["course_popularity"], "course_id", "interactions") == {
        ("10:03:00", "c2", 1), ("10:05:00", "c1", 1)}
    assert rows(second.changed["video_engagement"], "video_id", "views") == {("10:05:00", "v2", 1)}


def test_a_retried_batch_sees_the_same_watermark_and_changes_nothing(lake):
    stage(lake, "b1", FIRST)
    refresh_speed(lake, "b1", TOLERANCE, RETENTION)
    stage(lake, "b2", SECOND)
    once = refresh_speed(lake, "b2", TOLERANCE, RETENTION)
    before = {v: read_windows(lake, v, DAY) for v in ("active_users", "course_popularity", "video_engagement")}
    again = refresh_speed(lake, "b2", TOLERANCE, RETENTION)
    assert (again.on_time, again.too_late, again.newest_before) == (once.on_time, once.too_late, once.newest_before)
    for view, frame in before.items():
        pd.testing.assert_frame_equal(read_windows(lake, view, DAY), frame)

    # A batch that moves the newest event forward: 10:14 is within 2 minutes of 10:05 (the newest before it),
    # but not of its own 10:20. Its retry must not take its own events as the watermark.
    stage(lake, "b3", [event("f1", "auth", "LOGIN", "u5", "10:20:00"), event("f2", "auth", "LOGIN", "u6", "10:14:00")])
    first = refresh_speed(lake, "b3", TOLERANCE, RETENTION)
    retry = refresh_speed(lake, "b3", TOLERANCE, RETENTION)
    assert [(r.on_time, r.too_late, r.newest_before) for r in (first, retry)] == [(2, 0, at("10:05:00"))] * 2


def test_a_window_across_midnight_counts_the_logins_of_both_days(lake):
    stage(lake, "b1", [event("a", "auth", "LOGIN", "u1", "23:59:50")])
    refresh_speed(lake, "b1", TOLERANCE, RETENTION)
    stage(lake, "b2", [event("b", "auth", "LOGIN", "u2", "00:00:10", day="2026-11-29")])
    refresh_speed(lake, "b2", TOLERANCE, RETENTION)
    # 23:59:30-00:00:30 holds u1 (23:59:50) and u2 (00:00:10); it belongs to the day it starts on.
    assert rows(read_windows(lake, "active_users", DAY), "active_users") == {("23:59:00", 1), ("23:59:30", 2)}
    assert rows(read_windows(lake, "active_users", "2026-11-29"), "active_users") == {("00:00:00", 1)}


def test_events_older_than_the_retention_are_too_late_and_old_days_leave_the_speed_zone(lake):
    # A first batch with three days of history: only the last 48 hours before its newest event count.
    stage(lake, "b1", [event("old", "auth", "LOGIN", "u1", "08:00:00"), event("new", "auth", "LOGIN", "u2", "09:00:00"),
                       event("now", "auth", "LOGIN", "u3", "08:30:00", day="2026-11-30")])
    first = refresh_speed(lake, "b1", TOLERANCE, RETENTION)
    # Newest 2026-11-30 08:30; 48 h before is 2026-11-28 08:30: "old" (08:00) is out, "new" (09:00) is in.
    assert (first.on_time, first.too_late) == (2, 1)
    assert rows(read_windows(lake, "active_users", DAY), "active_users") == {("08:59:30", 1), ("09:00:00", 1)}

    # At 2026-12-02 10:00 the retention starts on the 30th: days before the 29th leave the speed zone (the day
    # before the retention's first day stays, for the windows across midnight).
    stage(lake, "b2", [event("later", "auth", "LOGIN", "u4", "10:00:00", day="2026-12-02")])
    second = refresh_speed(lake, "b2", TOLERANCE, RETENTION)
    assert second.pruned == [DAY]
    assert read_windows(lake, "active_users", DAY).empty
    assert not lake.list_files("speed", "events", f"date={DAY}")
    assert not read_windows(lake, "active_users", "2026-11-30").empty


def test_a_day_of_many_small_batches_is_compacted_and_still_counts_each_event_once(lake):
    # 18 batches of one view each: e<i> by u<i mod 3> at 10:00:<i>, watching i+1 seconds; the last batch also
    # delivers e0 again. All fall in the video window of the minute 10:00.
    for i in range(18):
        events = [event(f"e{i}", "video", "VIDEO_WATCHED", f"u{i % 3}", f"10:00:{i:02d}", "c1", "v1", i + 1)]
        if i == 17:
            events.append(event("e0", "video", "VIDEO_WATCHED", "u0", "10:00:00", "c1", "v1", 1))
        stage(lake, f"b{i:02d}", events)
        refresh = refresh_speed(lake, f"b{i:02d}", TOLERANCE, RETENTION)
        # Merged once the day holds more than 16 objects of earlier batches: at the 18th batch, b00..b16.
        assert refresh.compacted == (17 if i == 17 else 0)
    names = [p.rsplit("/", 1)[1] for p in lake.list_files("speed", "events", f"date={DAY}")]
    assert names == ["batch=b17.parquet", "compacted.parquet"]
    # 18 distinct views by 3 viewers, 1 + 2 + ... + 18 = 171 seconds (e0 once).
    views = {("10:00:00", "v1", 18, 3, 171)}
    assert rows(read_windows(lake, "video_engagement", DAY), "video_id", "views", "unique_viewers",
                "total_watch_seconds") == views

    # A crash between the merge and the deletes leaves an object whose events are also merged: counted once.
    stage(lake, "b05", [event("e5", "video", "VIDEO_WATCHED", "u2", "10:00:05", "c1", "v1", 6)])
    refresh_speed(lake, "b05", TOLERANCE, RETENTION)
    assert rows(read_windows(lake, "video_engagement", DAY), "video_id", "views", "unique_viewers",
                "total_watch_seconds") == views


def brute_force_windows(events: list[dict], first: pd.Timestamp, last: pd.Timestamp) -> dict[str, set[tuple]]:
    """The three views by their definitions, checking every window start from `first` to `last` against every
    distinct event: (window_start, key..., measures...) rows of the windows that hold an event."""
    distinct = list({e["event_id"]: e for e in events}.values())
    out: dict[str, set[tuple]] = {"active_users": set(), "course_popularity": set(), "video_engagement": set()}
    for start in pd.date_range(first, last, freq="30s"):
        inside = [e for e in distinct if start <= e["event_time"] < start + pd.Timedelta(minutes=1)]
        logins = {e["user_id"] for e in inside if e["event_type"] == "LOGIN"}
        if logins:
            out["active_users"].add((start, len(logins)))
        if start.second:  # course and video windows tumble by the minute
            continue
        for course in {e["course_id"] for e in inside if e["course_id"]}:
            of_course = [e for e in inside if e["course_id"] == course]
            views = sum(e["event_type"] == "VIDEO_WATCHED" for e in of_course)
            out["course_popularity"].add((start, course, len(of_course), views))
        watched = [e for e in inside if e["event_type"] == "VIDEO_WATCHED"]
        for video in {e["video_id"] for e in watched}:
            of_video = [e for e in watched if e["video_id"] == video]
            out["video_engagement"].add((start, video, len(of_video), len({e["user_id"] for e in of_video}),
                                         sum(e["watch_duration_seconds"] for e in of_video)))
    return out


def test_windows_built_batch_by_batch_equal_the_windows_of_all_events_at_once(lake):
    # 60 batches of 20 events from 23:50 to 00:20 across midnight, each reaching up to a minute back, every
    # fifth one only 60-110 s back (older than what came before it, yet within the tolerance: every event is
    # accepted), some delivered twice; compaction after 3 objects. The windows the layer merged batch by batch
    # must equal the windows found by brute force over every distinct event.
    rng = np.random.default_rng(11)
    start, accepted = at("23:50:00"), []
    for index in range(60):
        end = start + index * pd.Timedelta(seconds=30)
        batch = []
        for n in range(20):
            back = rng.integers(60, 110) if index % 5 == 4 else rng.integers(0, 60)
            moment = end - pd.Timedelta(seconds=int(back))
            category = ["auth", "video", "course"][n % 3]
            batch.append(event(f"b{index}-{n}", category, {"auth": "LOGIN", "video": "VIDEO_WATCHED",
                                                           "course": "COURSE_VIEW"}[category],
                               f"u{rng.integers(0, 8)}", moment.strftime("%H:%M:%S"), f"c{rng.integers(0, 3)}",
                               f"v{rng.integers(0, 4)}", int(rng.integers(1, 100)), day=moment.strftime("%Y-%m-%d")))
            if category == "auth":
                batch[-1].update(course_id=None, video_id=None, watch_duration_seconds=None)
        if index and index % 7 == 0:
            batch.append(accepted[-5])  # delivered again in a later batch
        stage(lake, f"b{index:02d}", batch)
        refresh = refresh_speed(lake, f"b{index:02d}", TOLERANCE, RETENTION, compact_after=3)
        assert refresh.too_late == 0
        accepted += batch
    assert len({e["event_id"] for e in accepted}) == 60 * 20
    expected = brute_force_windows(accepted, at("23:47:00"), at("00:20:00", "2026-11-29"))
    measures = {"active_users": ["active_users"], "course_popularity": ["course_id", "interactions", "views"],
                "video_engagement": ["video_id", "views", "unique_viewers", "total_watch_seconds"]}
    for view, columns in measures.items():
        got = pd.concat([read_windows(lake, view, day) for day in ("2026-11-28", "2026-11-29")])
        assert set(got["window_start"].dt.strftime("%Y-%m-%d")) == {"2026-11-28", "2026-11-29"}
        assert set(got[["window_start", *columns]].itertuples(index=False, name=None)) == expected[view], view
        assert len(got) == len(expected[view])
    assert len(lake.list_files("speed", "events", "date=2026-11-28")) <= 4
