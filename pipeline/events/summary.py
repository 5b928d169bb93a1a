"""A short text report of what the lake holds for learning events (read with pyarrow, no Spark)."""

from __future__ import annotations

from collections import Counter

from pipeline.events.catalogue import CATEGORIES
from pipeline.events.cleaning import CLEANED_ZONE
from pipeline.events.validation import QUARANTINE_ZONE
from pipeline.events.landing import RAW_EVENTS_ZONE
from pipeline.lake import Lake


def lake_summary(lake: Lake) -> str:
    lines = [f"lake: {lake.root}"]
    raw = lake.dataset(*RAW_EVENTS_ZONE)
    lines.append(f"  raw/events        {raw.count_rows() if raw else 0:>10,} records in {len(raw.files) if raw else 0} range objects")
    for category in CATEGORIES:
        cleaned = lake.dataset(*CLEANED_ZONE, category.name)
        if cleaned is None:
            lines.append(f"  cleaned/{category.name:<13} {0:>6,} rows")
            continue
        days = Counter(cleaned.to_table(columns=["date"]).column("date").to_pylist())
        span = f"{min(days)} .. {max(days)}" if days else ""
        lines.append(f"  cleaned/{category.name:<13} {sum(days.values()):>6,} rows over {len(days)} day(s) {span}")
    quarantine = lake.dataset(*QUARANTINE_ZONE)
    if quarantine is not None:
        reasons = Counter(quarantine.to_table(columns=["reason"]).column("reason").to_pylist())
        detail = ", ".join(f"{r}={n:,}" for r, n in reasons.most_common())
        lines.append(f"  quarantine/events {sum(reasons.values()):>6,} records: {detail}")
    return "\n".join(lines)
