"""Which closed days the empty-days sensor records as empty partitions (hand-computed on three days)."""

import dagster as dg

from assets.keys import view_key
from assets.views import VIEWS
from sensors.empty_days import empty_partitions

D1, D2, D3 = "2026-11-01", "2026-11-02", "2026-11-03"
CATEGORIES = ("auth", "assessment", "video", "course", "profile", "notification")


def key(*path: str) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def test_a_day_is_empty_where_nothing_was_landed_or_a_category_had_no_records_and_nothing_materialised_it():
    # D2: a batch landed with auth events only; D1: cleaned/auth was materialised already (a run, or an earlier tick).
    records = {c: set() for c in CATEGORIES} | {"auth": {D2}}
    materialized = {k: set() for k in (key("raw", "events"), key("staged", "events"), key("quarantine", "events"),
                                       *(key("cleaned", c) for c in CATEGORIES))}
    materialized[key("cleaned", "auth")] = {D1}
    materialized |= {view_key(v.name): set() for v in VIEWS if v.date_keyed}
    empty = empty_partitions([D1, D2, D3], {D2}, records, materialized)

    for landed_key in (key("raw", "events"), key("staged", "events"), key("quarantine", "events")):
        assert empty[landed_key] == [D1, D3]
    assert empty[key("cleaned", "auth")] == [D3]
    assert empty[key("cleaned", "video")] == [D1, D2, D3]
    assert empty[key("views", "auth_daily_active_users")] == [D1, D3]  # reads auth: D2 has its events
    assert empty[key("views", "video_daily_engagement")] == [D1, D2, D3]  # reads video only
