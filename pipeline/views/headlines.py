"""A few headline figures from the written views, for the demo (read with pyarrow, no Spark)."""

from __future__ import annotations

import pandas as pd

from pipeline.lake import Lake
from pipeline.views.materialize import VIEWS_ZONE


def _view(lake: Lake, name: str) -> pd.DataFrame:
    dataset = lake.dataset(*VIEWS_ZONE, name)
    return dataset.to_table().to_pandas() if dataset is not None else pd.DataFrame()


def headlines(lake: Lake) -> str:
    lines = []
    dau = _view(lake, "auth_daily_active_users")
    if not dau.empty:
        lines.append("daily active users (UTC day: users, sessions):")
        for row in dau.sort_values("date").tail(4).itertuples():
            lines.append(f"  {row.date}: {row.daily_active_users}, {row.total_sessions}")
    videos = _view(lake, "video_popularity")
    if not videos.empty:
        lines.append("most popular videos (unique viewers, hours watched):")
        top = videos.sort_values(["unique_viewers", "total_views_hours"], ascending=False).head(5)
        for row in top.itertuples():
            lines.append(f"  {row.video_id} ({row.course_id}): {row.unique_viewers} viewers, "
                         f"{row.total_views_hours:.1f} h")
    ctr = _view(lake, "notification_click_through_rate")
    if not ctr.empty:
        lines.append("notification click-through rate: " + ", ".join(
            f"{r.notification_type} {r.click_through_rate}%" for r in ctr.sort_values("notification_type").itertuples()))
    return "\n".join(lines)
