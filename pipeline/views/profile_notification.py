"""Profile and notification views (seed-facts §2, #28-#37), from the cleaned `profile` and `notification` tables."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipeline.views.aggregate import (Aggregate, DayState, Paired, count, distinct, greatest, least, percent_of,
                                      with_day)
from pipeline.views.common import event_date, is_type, of_type
from pipeline.views.view import View

GROUP = "profile_notification"
SENT, CLICKED = "NOTIFICATION_SENT", "NOTIFICATION_CLICKED"


def _count_first_last(event_type: str, count_name: str, first: str, last: str) -> Aggregate:
    """Per user, of one event type: the number of events and the first and last event time."""
    return Aggregate(keys=("user_id",), where=is_type(event_type),
                     measures={count_name: count(), first: least("event_time"), last: greatest("event_time")})


UPDATE_FREQUENCY = _count_first_last("UPDATE_PROFILE", "total_profile_updates", "first_update", "last_update")
AVATAR_CHANGES = _count_first_last("PROFILE_PICTURE_UPDATED", "avatar_changes_count", "first_change", "last_change")
FIELD_CHANGES = Aggregate(
    keys=("field_name",),
    where=is_type("UPDATE_PROFILE"),
    each=("field_name", lambda: F.array_distinct("updated_fields")),
    measures={"total_updates": count(), "unique_users_updating": distinct("user_id")},
)
DELIVERY_STATS = Aggregate(
    keys=("notification_type",),
    where=is_type(SENT),
    measures={"total_sent": count(), "unique_recipients": distinct("user_id")},
)
ENGAGEMENT = Aggregate(
    keys=("user_id", "notification_type"),
    where=is_type(CLICKED),
    measures={"notifications_clicked": count()},
)


def _daily_activity(events: DataFrame, *keys: str, counted: str = "*") -> DataFrame:
    """Per UTC day and `keys`: distinct users and the count of `counted`."""
    return events.groupBy(event_date(), *keys).agg(
        F.countDistinct("user_id").alias("unique_users"), F.count(counted).alias("event_count"))


def _sent_clicked(notification: DataFrame, *keys: str) -> DataFrame:
    """Per `keys` of the NOTIFICATION_SENT events: `sent`, their number, and `clicked`, how many of them the
    recipient clicked (a CLICKED event of the same user_id and notification_id at or after the send)."""
    last_clicks = (
        of_type(notification, CLICKED)
        .groupBy("user_id", "notification_id")
        .agg(F.max("event_time").alias("last_click"))
    )
    sends = of_type(notification, SENT).join(last_clicks, ["user_id", "notification_id"], "left")
    return sends.groupBy(*keys).agg(
        F.count("*").alias("sent"),
        F.count(F.when(F.col("last_click") >= F.col("event_time"), 1)).alias("clicked"),
    )


# Rolled up: a send is clicked when its user clicks the same notification at or after it, on its day (the day's
# last click tells) or on any later day (any click then is later).
def _sends_of_day(notification: DataFrame) -> DataFrame:
    """Per day, user, notification and type: the sends, and how many of them a click of the same day answered."""
    last_clicks = (of_type(notification, CLICKED).groupBy(event_date(), "user_id", "notification_id")
                   .agg(F.max("event_time").alias("last_click")))
    sends = of_type(notification, SENT).select(event_date(), "user_id", "notification_id", "notification_type",
                                               "event_time")
    return with_day(
        sends.join(last_clicks, ["date", "user_id", "notification_id"], "left")
        .groupBy("date", "user_id", "notification_id", "notification_type")
        .agg(F.count("*").alias("sent"),
             F.count(F.when(F.col("last_click") >= F.col("event_time"), 1)).alias("clicked_same_day")))


def _clicks_of_day(notification: DataFrame) -> DataFrame:
    """Per day, the users and notifications clicked."""
    return with_day(of_type(notification, CLICKED).select(event_date(), "user_id", "notification_id").distinct())


# One object each, which every view pairing sends with clicks declares: a pass computes each once (partials.py).
SENDS_OF_DAY = DayState(_sends_of_day)
CLICKS_OF_DAY = DayState(_clicks_of_day)


def _sent_clicked_rolled(sends: pa.Table, clicks: pa.Table, keys: list[str]) -> pa.Table:
    """`_sent_clicked` from the days' states: per `keys`, `sent` and `clicked`."""
    last_click_day = clicks.group_by(["user_id", "notification_id"]).aggregate([("day", "max")])
    joined = sends.join(last_click_day, ["user_id", "notification_id"], join_type="left outer")
    clicked_later = pc.fill_null(pc.greater(joined["day_max"], joined["day"]), False)
    joined = joined.append_column("clicked", pc.if_else(clicked_later, joined["sent"], joined["clicked_same_day"]))
    totals = joined.group_by(keys).aggregate([("sent", "sum"), ("clicked", "sum")])
    return totals.rename_columns([c.removesuffix("_sum") for c in totals.column_names])


def _sent_clicked_paired(keys: list[str], columns: dict[str, str], rate: str) -> Paired:
    """A view of `_sent_clicked` by `keys` (its columns renamed by `columns`, and the rate) rolled up."""
    def rollup(tables: list[pa.Table]) -> pa.Table:
        totals = _sent_clicked_rolled(*tables, keys)
        return totals.append_column(rate, percent_of(totals["clicked"], totals["sent"])).rename_columns(
            [columns.get(c, c) for c in [*totals.column_names, rate]])

    return Paired(parts=(("notification", SENDS_OF_DAY), ("notification", CLICKS_OF_DAY)), rollup=rollup)


def _user_summary_rolled(tables: list[pa.Table]) -> pa.Table:
    sends, clicks = tables
    users = pa.table({"user_id": pc.unique(pa.chunked_array([*sends["user_id"].chunks, *clicks["user_id"].chunks],
                                                            sends.schema.field("user_id").type))})
    totals = users.join(_sent_clicked_rolled(sends, clicks, ["user_id"]), "user_id", join_type="left outer")
    received, clicked = pc.fill_null(totals["sent"], 0), pc.fill_null(totals["clicked"], 0)
    return pa.table({"user_id": totals["user_id"], "total_received": received, "total_clicked": clicked,
                     "overall_engagement_rate": percent_of(clicked, received)})


CLICK_THROUGH = _sent_clicked_paired(["notification_type"], {"sent": "total_sent", "clicked": "total_clicked"},
                                     "click_through_rate")
USER_PREFERENCES = _sent_clicked_paired(["user_id", "notification_type"],
                                        {"sent": "notifications_received", "clicked": "notifications_clicked"},
                                        "engagement_rate")
USER_SUMMARY = Paired(parts=CLICK_THROUGH.parts, rollup=_user_summary_rolled)


def _percent(part: str, whole: str) -> Column:
    """part / whole x 100 as decimal(5,2); null when whole is 0."""
    return F.try_divide(F.col(part) * 100, F.col(whole)).cast(T.DecimalType(5, 2))


def profile_update_frequency(profile: DataFrame) -> DataFrame:
    return UPDATE_FREQUENCY.full(profile)


def profile_field_changes(profile: DataFrame) -> DataFrame:
    return FIELD_CHANGES.full(profile)


def profile_avatar_changes(profile: DataFrame) -> DataFrame:
    return AVATAR_CHANGES.full(profile)


def profile_daily_activity(profile: DataFrame) -> DataFrame:
    return _daily_activity(profile, "event_type")


def notification_delivery_stats(notification: DataFrame) -> DataFrame:
    return DELIVERY_STATS.full(notification)


def notification_engagement(notification: DataFrame) -> DataFrame:
    return ENGAGEMENT.full(notification)


def notification_click_through_rate(notification: DataFrame) -> DataFrame:
    return _sent_clicked(notification, "notification_type").select(
        "notification_type",
        F.col("sent").alias("total_sent"),
        F.col("clicked").alias("total_clicked"),
        _percent("clicked", "sent").alias("click_through_rate"),
    )


def notification_user_preferences(notification: DataFrame) -> DataFrame:
    return _sent_clicked(notification, "user_id", "notification_type").select(
        "user_id",
        "notification_type",
        F.col("sent").alias("notifications_received"),
        F.col("clicked").alias("notifications_clicked"),
        _percent("clicked", "sent").alias("engagement_rate"),
    )


def notification_daily_activity(notification: DataFrame) -> DataFrame:
    return _daily_activity(notification, "event_type", "notification_type", counted="notification_id")


def notification_user_summary(notification: DataFrame) -> DataFrame:
    users = of_type(notification, SENT, CLICKED).select("user_id").distinct()
    return (
        users.join(_sent_clicked(notification, "user_id"), "user_id", "left")
        .fillna(0, ["sent", "clicked"])
        .select(
            "user_id",
            F.col("sent").alias("total_received"),
            F.col("clicked").alias("total_clicked"),
            _percent("clicked", "sent").alias("overall_engagement_rate"),
        )
    )


_MATCHED_CLICKS = (
    "The original divided all CLICKED events by SENT events, which exceeds 100 % because clicks are independent "
    "events (repeat clicks, clicks without a send). Here a click counts only as a sent notification that its "
    "recipient clicked: a SENT event with a CLICKED event of the same user_id and notification_id at or after it, "
    "so the rate stays within 0-100."
)

VIEWS: list[View] = [
    View(
        name="profile_update_frequency",
        group=GROUP,
        function=profile_update_frequency,
        rollup=UPDATE_FREQUENCY,
        columns=("user_id", "total_profile_updates", "first_update", "last_update"),
        keys=("user_id",),
        date_keyed=False,
        description="One row per user who updated their profile, over all history: the number of "
                    "UPDATE_PROFILE events and the times of the first and last one.",
    ),
    View(
        name="profile_field_changes",
        group=GROUP,
        function=profile_field_changes,
        rollup=FIELD_CHANGES,
        columns=("field_name", "total_updates", "unique_users_updating"),
        keys=("field_name",),
        date_keyed=False,
        description="One row per profile field ever updated: the number of UPDATE_PROFILE events that list "
                    "the field in updated_fields, and the number of distinct users who updated it.",
        deviation="The original grouped by a field_name the producer never sends (one null row). Here "
                  "updated_fields is exploded into one row per entry, named field_name; a field listed twice in "
                  "one event counts once, null entries and empty lists add nothing.",
    ),
    View(
        name="profile_avatar_changes",
        group=GROUP,
        function=profile_avatar_changes,
        rollup=AVATAR_CHANGES,
        columns=("user_id", "avatar_changes_count", "first_change", "last_change"),
        keys=("user_id",),
        date_keyed=False,
        description="One row per user who changed their profile picture, over all history: the number of "
                    "PROFILE_PICTURE_UPDATED events and the times of the first and last one.",
        deviation="The original counted CHANGE_AVATAR events, which are never produced (always empty); here "
                  "PROFILE_PICTURE_UPDATED events are counted as avatar changes.",
    ),
    View(
        name="profile_daily_activity",
        group=GROUP,
        function=profile_daily_activity,
        columns=("date", "event_type", "unique_users", "event_count"),
        keys=("date", "event_type"),
        date_keyed=True,
        description="One row per UTC day and profile event type: the number of distinct users and of events.",
    ),
    View(
        name="notification_delivery_stats",
        group=GROUP,
        function=notification_delivery_stats,
        rollup=DELIVERY_STATS,
        columns=("notification_type", "total_sent", "unique_recipients"),
        keys=("notification_type",),
        date_keyed=False,
        description="One row per notification type, over all history: the number of NOTIFICATION_SENT events "
                    "and of distinct recipients.",
    ),
    View(
        name="notification_engagement",
        group=GROUP,
        function=notification_engagement,
        rollup=ENGAGEMENT,
        columns=("user_id", "notification_type", "notifications_clicked"),
        keys=("user_id", "notification_type"),
        date_keyed=False,
        description="One row per user and notification type with clicks, over all history: the number of "
                    "NOTIFICATION_CLICKED events (every click, repeated or without a matching send).",
    ),
    View(
        name="notification_click_through_rate",
        group=GROUP,
        function=notification_click_through_rate,
        rollup=CLICK_THROUGH,
        columns=("notification_type", "total_sent", "total_clicked", "click_through_rate"),
        keys=("notification_type",),
        date_keyed=False,
        description="One row per notification type that was sent, over all history: the number of sent "
                    "notifications, how many of them their recipient clicked, and clicked / sent x 100 as "
                    "decimal(5,2).",
        deviation=_MATCHED_CLICKS,
        rates=("click_through_rate",),
    ),
    View(
        name="notification_user_preferences",
        group=GROUP,
        function=notification_user_preferences,
        rollup=USER_PREFERENCES,
        columns=("user_id", "notification_type", "notifications_received", "notifications_clicked",
                 "engagement_rate"),
        keys=("user_id", "notification_type"),
        date_keyed=False,
        description="One row per user and notification type they were sent, over all history: notifications "
                    "received, how many of them the user clicked, and clicked / received x 100 as decimal(5,2). "
                    "Pairs with clicks but no sends are left out.",
        deviation=_MATCHED_CLICKS,
        rates=("engagement_rate",),
    ),
    View(
        name="notification_daily_activity",
        group=GROUP,
        function=notification_daily_activity,
        columns=("date", "event_type", "notification_type", "unique_users", "event_count"),
        keys=("date", "event_type", "notification_type"),
        date_keyed=True,
        description="One row per UTC day, notification event type (sent, opened, clicked) and notification "
                    "type: the number of distinct users and of events with a notification_id.",
    ),
    View(
        name="notification_user_summary",
        group=GROUP,
        function=notification_user_summary,
        rollup=USER_SUMMARY,
        columns=("user_id", "total_received", "total_clicked", "overall_engagement_rate"),
        keys=("user_id",),
        date_keyed=False,
        description="One row per user with a sent or clicked notification, over all history: notifications "
                    "received, how many of them the user clicked, and clicked / received x 100 as decimal(5,2), "
                    "null when nothing was received.",
        deviation=_MATCHED_CLICKS,
        rates=("overall_engagement_rate",),
    ),
]
