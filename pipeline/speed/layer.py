"""The speed zone: accepted events of each landing batch, and the windows of the speed views per day.

    speed/events/date=<d>/batch=<batch id>.parquet     events a batch added (on time), by event day
    speed/events/date=<d>/compacted.parquet            earlier batches' events of day d, merged
    speed/<view>/date=<d>/windows.parquet             every window of the view starting on day d

A batch writes its own event objects (a retry overwrites them), then recomputes the windows its events fall
in from every accepted event of their time range (across midnight too), and replaces those windows in the
days' window objects. Events are de-duplicated by event_id there, so a duplicate delivered in another batch
counts once. Landing runs go one at a time (dagster.yaml), because each reads what the previous ones wrote.

A stream landed every few seconds would leave thousands of small objects per day, each opened again by every
later batch of that day; once a day holds more than COMPACT_AFTER objects of earlier batches, they are merged
into one, sorted by time, so a batch reads only the row groups of its time range. A crash between that write
and the deletes leaves events twice, which the de-duplication absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.events.catalogue import CATEGORIES
from pipeline.events.validation import STAGED_ZONE
from pipeline.lake import Lake
from pipeline.speed.windows import (EVENT_COLUMNS, SPEED_VIEWS, WINDOW, newest_event_time, speed_events, split_late,
                                   touched_window_starts)

SPEED_ZONE = ("speed",)
EVENTS_PARTS = (*SPEED_ZONE, "events")
COMPACTED = "compacted.parquet"
COMPACT_AFTER = 16  # objects of earlier batches a day may hold before they are merged
COMPACTED_ROW_GROUP = 50_000  # rows: a batch's time range then reads one or two row groups of a compacted day


@dataclass
class SpeedRefresh:
    batch: str
    events: int  # staged events of the batch
    on_time: int
    too_late: int
    newest_before: pd.Timestamp | None  # newest event time accepted before the batch
    days: list[str] = field(default_factory=list)  # days whose windows were recomputed
    pruned: list[str] = field(default_factory=list)  # days that left the speed zone (past the retention)
    changed: dict[str, pd.DataFrame] = field(default_factory=dict)  # per view: the windows the batch touched
    compacted: int = 0  # objects of earlier batches merged into their day's compacted object


def _batch_files(lake: Lake, parts: tuple[str, ...], batch: str) -> list[str]:
    """The objects of one batch under a zone folder of `date=<d>/batch=<id>.parquet` objects."""
    fs = lake.filesystem
    days = fs.get_file_info(pafs.FileSelector(lake.path(*parts), allow_not_found=True))
    candidates = [f"{d.path}/batch={batch}.parquet" for d in days if d.type == pafs.FileType.Directory]
    return [i.path for i in fs.get_file_info(candidates) if i.type == pafs.FileType.File]


def staged_batch_paths(lake: Lake, batch: str) -> list[str]:
    """The staged objects one landing batch wrote (one per category and event day)."""
    return [p for c in CATEGORIES for p in _batch_files(lake, (*STAGED_ZONE, f"category={c.name}"), batch)]


def _read_staged(lake: Lake, paths: list[str]) -> pd.DataFrame:
    """The speed columns of staged objects (categories lack some of them: those become null)."""
    frames = []
    for path in paths:
        with lake.filesystem.open_input_file(path) as source:
            parquet = pq.ParquetFile(source)
            names = parquet.schema_arrow.names
            frames.append(parquet.read(columns=[c for c in EVENT_COLUMNS if c in names]).to_pandas())
    return speed_events(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVENT_COLUMNS))


def _event_files(lake: Lake, day: str) -> list[str]:
    return lake.list_files(*EVENTS_PARTS, f"date={day}")


def newest_accepted(lake: Lake, excluding_batch: str) -> pd.Timestamp | None:
    """The newest event time in the speed zone, leaving out one batch's own objects (a retry of a batch must
    see the same watermark as its first attempt)."""
    fs = lake.filesystem
    folders = fs.get_file_info(pafs.FileSelector(lake.path(*EVENTS_PARTS), allow_not_found=True))
    for day in sorted((f.base_name for f in folders if f.type == pafs.FileType.Directory), reverse=True):
        own = f"/batch={excluding_batch}.parquet"
        files = [p for p in _event_files(lake, day.removeprefix("date=")) if not p.endswith(own)]
        if files:
            newest = pc.max(ds.dataset(files, filesystem=fs, format="parquet").to_table(columns=["event_time"])
                            .column("event_time")).as_py()
            return pd.Timestamp(newest).tz_convert("UTC") if newest.tzinfo else pd.Timestamp(newest, tz="UTC")
    return None


def _write_batch_events(lake: Lake, batch: str, events: pd.DataFrame) -> None:
    days = events["event_time"].dt.strftime("%Y-%m-%d")
    for day, rows in events.groupby(days):
        lake.write_parquet(pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False),
                           *EVENTS_PARTS, f"date={day}", f"batch={batch}.parquet")
    # A retry that now accepts fewer days (a newer watermark) must not leave the first attempt's objects behind.
    for path in _batch_files(lake, EVENTS_PARTS, batch):
        if path.split("/date=")[1][:10] not in set(days):
            lake.filesystem.delete_file(path)


def _read_accepted(lake: Lake, paths: list[str], start: pd.Timestamp | None = None,
                   end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Speed-zone events of the objects, each event_id once; only start <= event_time < end when given (a
    compacted day is sorted by time, so its row-group statistics skip the rest of the day)."""
    filters = None if start is None else [("event_time", ">=", start), ("event_time", "<", end)]
    frames = [pq.read_table(path, filesystem=lake.filesystem, columns=EVENT_COLUMNS, filters=filters).to_pandas()
              for path in paths]
    return speed_events(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVENT_COLUMNS)
                        ).drop_duplicates("event_id")


def events_between(lake: Lake, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Accepted events with start <= event_time < end, each event_id once."""
    days = pd.date_range(start.normalize(), (end - pd.Timedelta(1)).normalize(), freq="D")
    return _read_accepted(lake, [p for d in days for p in _event_files(lake, d.strftime("%Y-%m-%d"))], start, end)


def compact_day(lake: Lake, day: str, batch: str, threshold: int = COMPACT_AFTER) -> int:
    """Merge a day's event objects into its compacted object once more than `threshold` of them come from other
    batches than `batch` (whose own object stays, so a retry of it still overwrites only that); returns how
    many objects were merged."""
    own = f"/batch={batch}.parquet"
    earlier = [p for p in _event_files(lake, day) if not p.endswith(own)]
    if len(earlier) <= threshold:
        return 0
    merged = _read_accepted(lake, earlier).sort_values("event_time")
    lake.write_parquet(pa.Table.from_pandas(merged, preserve_index=False), *EVENTS_PARTS, f"date={day}", COMPACTED,
                       row_group_size=COMPACTED_ROW_GROUP)
    for path in earlier:
        if not path.endswith(f"/{COMPACTED}"):
            lake.filesystem.delete_file(path)
    return len(earlier)


def touched_windows(lake: Lake, starts: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    """Per speed view, its windows that start at one of `starts`, from every accepted event they cover."""
    events = events_between(lake, starts.min(), starts.max() + WINDOW)
    out = {}
    for view in SPEED_VIEWS:
        windows = view.compute(events)
        out[view.name] = windows[windows["window_start"].isin(starts)].reset_index(drop=True)
    return out


def _merge_day_windows(lake: Lake, view: str, day: str, fresh: pd.DataFrame, starts: pd.DatetimeIndex) -> None:
    """Replace the windows of `starts` in the day's windows object by `fresh` (the day's recomputed ones)."""
    kept = read_windows(lake, view, day)
    if len(kept):
        kept = kept[~kept["window_start"].isin(starts)]
    parts = [f for f in (kept, fresh) if len(f)]
    merged = pd.concat(parts, ignore_index=True) if parts else fresh
    order = [c for c in ("window_start", "course_id", "video_id") if c in merged.columns]
    lake.write_parquet(pa.Table.from_pandas(merged.sort_values(order, ignore_index=True), preserve_index=False),
                       *SPEED_ZONE, view, f"date={day}", "windows.parquet")


def prune(lake: Lake, before_day: str) -> list[str]:
    """Delete the speed zone's days before `before_day` (events and windows): the batch views cover them."""
    fs, removed = lake.filesystem, []
    for parts in (EVENTS_PARTS, *((*SPEED_ZONE, v.name) for v in SPEED_VIEWS)):
        folders = fs.get_file_info(pafs.FileSelector(lake.path(*parts), allow_not_found=True))
        for folder in folders:
            if folder.type == pafs.FileType.Directory and folder.base_name.removeprefix("date=") < before_day:
                fs.delete_dir(folder.path)
                removed.append(folder.base_name.removeprefix("date="))
    return sorted(set(removed))


def refresh_speed(lake: Lake, batch: str, tolerance: pd.Timedelta, retention: pd.Timedelta,
                  compact_after: int = COMPACT_AFTER) -> SpeedRefresh:
    """Add one landing batch to the speed layer; return what changed. Days older than the retention (and the
    day before, which windows across midnight read) are removed from the speed zone."""
    events = _read_staged(lake, staged_batch_paths(lake, batch))
    newest = newest_accepted(lake, batch)
    on_time, late = split_late(events, newest, tolerance, retention)
    _write_batch_events(lake, batch, on_time)
    refresh = SpeedRefresh(batch, len(events), len(on_time), len(late), newest)
    latest = newest_event_time(events, newest)
    if latest is not None:
        refresh.pruned = prune(lake, ((latest - retention).normalize() - pd.Timedelta(days=1)).strftime("%Y-%m-%d"))
    if on_time.empty:
        return refresh
    starts = touched_window_starts(on_time)
    refresh.days = sorted(set(starts.strftime("%Y-%m-%d")))
    for day in refresh.days:
        refresh.compacted += compact_day(lake, day, batch, compact_after)
    refresh.changed = touched_windows(lake, starts)
    for name, windows in refresh.changed.items():
        window_days = windows["window_start"].dt.strftime("%Y-%m-%d")
        for day in refresh.days:
            _merge_day_windows(lake, name, day, windows[window_days == day], starts)
    return refresh


def read_windows(lake: Lake, view: str, day: str) -> pd.DataFrame:
    """The windows of a view that start on `day` (empty if none were written)."""
    path = (*SPEED_ZONE, view, f"date={day}", "windows.parquet")
    if not lake.is_file(*path):
        return pd.DataFrame()
    return pq.read_table(lake.path(*path), filesystem=lake.filesystem).to_pandas()
