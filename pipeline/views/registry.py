"""The registry of analytic views: every view of every category module, in one tuple.

Each category module (auth, assessment, video, course, profile_notification, serving) declares its `VIEWS`
beside the functions; this module collects them, checks that names are unique and groups known, and is what
the rest of the code asks for the views: the Dagster assets `views/<name>` are generated from `all_views()`
(assets/views.py). `View` and the parameter helpers live in `pipeline.views.view` and are re-exported here.
"""

from __future__ import annotations

from collections import Counter

from pipeline.views import assessment, auth, course, profile_notification, serving, video
from pipeline.views.view import CATEGORY_GROUPS, HISTORY, View, input_category, reads_history

__all__ = ["CATEGORY_GROUPS", "HISTORY", "VIEWS", "VIEWS_BY_NAME", "View", "all_views", "by_kind",
           "input_category", "reads_history"]

VIEWS: tuple[View, ...] = (*auth.VIEWS, *assessment.VIEWS, *video.VIEWS, *course.VIEWS,
                           *profile_notification.VIEWS, *serving.VIEWS)
VIEWS_BY_NAME: dict[str, View] = {view.name: view for view in VIEWS}

if shared := sorted(name for name, n in Counter(v.name for v in VIEWS).items() if n > 1):
    raise ValueError(f"views sharing a name: {shared}")
if unknown := {v.group for v in VIEWS} - set(CATEGORY_GROUPS):
    raise ValueError(f"views in unknown groups {sorted(unknown)}; the groups are {CATEGORY_GROUPS}")


def all_views() -> list[View]:
    """Every registered view, in registry order (a new list: callers may sort or filter it)."""
    return list(VIEWS)


def by_kind(views: list[View]) -> list[list[View]]:
    """The date-keyed views and the all-time views, each in registry order: what one step computes together
    (one multi-asset each, assets/views.py)."""
    return [batch for batch in ([v for v in views if v.date_keyed], [v for v in views if not v.date_keyed]) if batch]
