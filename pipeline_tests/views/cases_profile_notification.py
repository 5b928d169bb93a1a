"""Hand-computed cases for the profile and notification views (#28-#37)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline_tests.views.fixtures import Case, collected, event

D23, D24 = date(2026, 11, 23), date(2026, 11, 24)


def update(user_id: str, event_time: str, *fields: str | None) -> dict:
    return event("UPDATE_PROFILE", user_id, event_time, updated_fields=list(fields))


def note(kind: str, user_id: str, event_time: str, notification_id: str | None, notification_type: str) -> dict:
    """A notification event; kind is SENT, OPENED or CLICKED."""
    return event(f"NOTIFICATION_{kind}", user_id, event_time, notification_id=notification_id,
              notification_type=notification_type, channel="email", related_object_id="ASM001")


GRADE, MESSAGE, NEWS, DEADLINE = "grade_posted", "new_message", "course_announcement", "deadline_approaching"

CASES: dict[str, Case] = {
    "profile_update_frequency": Case(
        inputs={"profile": [
            update("SV001", "2026-11-20 08:00:00", "email"),
            update("SV001", "2026-11-22 09:00:00", "phone_number"),
            update("SV001", "2026-11-24 10:00:00", "address"),
            update("SV002", "2026-11-23 12:00:00", "email"),
            update("GV001", "2026-11-21 07:30:00"),
            event("CREATE_PROFILE", "SV003", "2026-11-20 08:00:00", email="sv003@university.edu"),
            event("PROFILE_PICTURE_UPDATED", "SV001", "2026-11-25 08:00:00", picture_url="s3://profiles/a.jpg"),
        ]},
        expected=[
            ("SV001", 3, collected("2026-11-20 08:00:00"), collected("2026-11-24 10:00:00")),
            ("SV002", 1, collected("2026-11-23 12:00:00"), collected("2026-11-23 12:00:00")),
            ("GV001", 1, collected("2026-11-21 07:30:00"), collected("2026-11-21 07:30:00")),
        ],
        note="SV001: 3 updates from 11-20 08:00 to 11-24 10:00 (the later picture change is not an update). "
             "SV002: 1. GV001: an update with an empty updated_fields list is still an update -> 1. SV003 only "
             "created a profile: no row.",
    ),
    "profile_field_changes": Case(
        inputs={"profile": [
            update("SV001", "2026-11-23 08:00:00", "email", "phone_number"),
            update("SV001", "2026-11-23 09:00:00", "email"),
            update("SV002", "2026-11-23 10:00:00", "email", "address"),
            update("SV002", "2026-11-24 10:00:00", "address", "emergency_contact"),
            update("SV003", "2026-11-23 11:00:00", "phone_number", "phone_number"),
            update("SV004", "2026-11-23 12:00:00"),
            update("SV006", "2026-11-23 13:00:00", "address", None),
            event("CREATE_PROFILE", "SV005", "2026-11-23 14:00:00", updated_fields=["email"]),
        ]},
        expected=[("email", 3, 2), ("phone_number", 2, 2), ("address", 3, 2), ("emergency_contact", 1, 1)],
        note="One row per entry of updated_fields. email: SV001 twice, SV002 once -> 3 updates, 2 users. "
             "phone_number: SV001, SV003 (listed twice in one event, counted once) -> 2, 2. address: SV002 twice, "
             "SV006 (its null entry is dropped) -> 3, 2. emergency_contact: SV002 -> 1, 1. SV004's empty list adds "
             "nothing; SV005's CREATE_PROFILE is not an update.",
    ),
    "profile_avatar_changes": Case(
        inputs={"profile": [
            event("PROFILE_PICTURE_UPDATED", "SV001", "2026-11-20 08:00:00", picture_url="s3://profiles/1.jpg"),
            event("PROFILE_PICTURE_UPDATED", "SV001", "2026-11-23 09:30:00", picture_url="s3://profiles/1.jpg"),
            event("PROFILE_PICTURE_UPDATED", "GV001", "2026-11-24 07:00:00", picture_url="s3://profiles/2.jpg"),
            update("SV002", "2026-11-23 08:00:00", "email"),
            event("PASSWORD_CHANGED", "SV003", "2026-11-23 08:00:00"),
        ]},
        expected=[
            ("SV001", 2, collected("2026-11-20 08:00:00"), collected("2026-11-23 09:30:00")),
            ("GV001", 1, collected("2026-11-24 07:00:00"), collected("2026-11-24 07:00:00")),
        ],
        note="PROFILE_PICTURE_UPDATED counts as an avatar change (CHANGE_AVATAR is never produced). SV001: 2, "
             "11-20 08:00 to 11-23 09:30; GV001: 1. SV002's update and SV003's password change: no rows.",
    ),
    "profile_daily_activity": Case(
        inputs={"profile": [
            update("SV001", "2026-11-23 08:00:00", "email"),
            update("SV001", "2026-11-23 09:00:00", "address"),
            update("SV002", "2026-11-23 10:00:00", "email"),
            event("PASSWORD_CHANGED", "SV001", "2026-11-23 11:00:00", change_reason="forgot"),
            event("CREATE_PROFILE", "GV001", "2026-11-23 06:00:00", email="gv001@university.edu"),
            event("CREATE_PROFILE", "SV003", "2026-11-23 07:00:00", email="sv003@university.edu"),
            event("PROFILE_PICTURE_UPDATED", "SV004", "2026-11-23 23:59:59", picture_url="s3://profiles/4.jpg"),
            update("SV001", "2026-11-24 00:00:00", "email"),
        ]},
        expected=[
            (D23, "UPDATE_PROFILE", 2, 3),
            (D23, "PASSWORD_CHANGED", 1, 1),
            (D23, "CREATE_PROFILE", 2, 2),
            (D23, "PROFILE_PICTURE_UPDATED", 1, 1),
            (D24, "UPDATE_PROFILE", 1, 1),
        ],
        note="11-23 UPDATE_PROFILE: SV001 twice, SV002 once -> 2 users, 3 events; PASSWORD_CHANGED: SV001 -> 1, 1; "
             "CREATE_PROFILE: GV001, SV003 -> 2, 2; PROFILE_PICTURE_UPDATED at 23:59:59 -> 1, 1. 11-24: SV001's "
             "update at 00:00:00 -> 1, 1.",
    ),
    "notification_delivery_stats": Case(
        inputs={"notification": [
            note("SENT", "SV001", "2026-11-23 08:00:00", "N1", GRADE),
            note("SENT", "SV001", "2026-11-23 09:00:00", "N2", GRADE),
            note("SENT", "SV002", "2026-11-23 10:00:00", "N3", GRADE),
            note("SENT", "SV001", "2026-11-24 08:00:00", "N4", MESSAGE),
            note("CLICKED", "SV003", "2026-11-23 08:00:00", "N5", NEWS),
            note("OPENED", "SV002", "2026-11-23 11:00:00", "N3", GRADE),
        ]},
        expected=[(GRADE, 3, 2), (MESSAGE, 1, 1)],
        note="grade_posted: N1, N2 to SV001 and N3 to SV002 -> 3 sent, 2 recipients; new_message: N4 -> 1, 1. The "
             "course_announcement CLICKED and the OPENED event are not sends (no course_announcement row).",
    ),
    "notification_engagement": Case(
        inputs={"notification": [
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 10:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 11:00:00", "N4", MESSAGE),
            note("CLICKED", "SV002", "2026-11-23 12:00:00", "N9", GRADE),
            note("SENT", "SV003", "2026-11-23 08:00:00", "N5", GRADE),
            note("OPENED", "SV003", "2026-11-23 09:00:00", "N5", GRADE),
        ]},
        expected=[("SV001", GRADE, 2), ("SV001", MESSAGE, 1), ("SV002", GRADE, 1)],
        note="Every CLICKED event counts: SV001 clicked N1 twice -> grade_posted 2, N4 -> new_message 1; SV002's "
             "click on N9 (never sent) -> 1. SV003 was sent and opened N5 but never clicked: no row.",
    ),
    "notification_click_through_rate": Case(
        inputs={"notification": [
            note("SENT", "SV001", "2026-11-23 08:00:00", "N1", GRADE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N2", GRADE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N3", GRADE),
            note("SENT", "SV003", "2026-11-23 08:00:00", "N4", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 10:00:00", "N1", GRADE),
            note("CLICKED", "SV002", "2026-11-23 07:00:00", "N3", GRADE),
            note("CLICKED", "SV003", "2026-11-23 08:00:00", "N4", GRADE),
            note("CLICKED", "SV004", "2026-11-23 09:00:00", "N5", GRADE),
            note("OPENED", "SV001", "2026-11-23 09:00:00", "N2", GRADE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N6", MESSAGE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N7", MESSAGE),
            note("SENT", "SV003", "2026-11-23 08:00:00", "N8", MESSAGE),
            note("CLICKED", "SV002", "2026-11-24 08:00:00", "N7", MESSAGE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N9", NEWS),
            note("CLICKED", "SV002", "2026-11-23 09:00:00", "N9", NEWS),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N10", DEADLINE),
        ]},
        expected=[
            (GRADE, 4, 2, Decimal("50.00")),
            (MESSAGE, 3, 1, Decimal("33.33")),
            (NEWS, 1, 0, Decimal("0.00")),
        ],
        note="grade_posted: 4 sends (N1, N2, N3, N4). Clicked sends: N1 (clicked twice by SV001, counts once) and "
             "N4 (click at the send's second); N3's click is before its send, N5 was never sent, N2 was only "
             "opened -> 2 of 4 = 50.00 (the original: 5 clicks / 4 sends = 125). new_message: N7 of N6, N7, N8 -> "
             "1/3 x 100 = 33.33. course_announcement: N9 was sent to SV001 but clicked by SV002 -> 0 of 1 = 0.00. "
             "deadline_approaching has a click but no send: no row.",
    ),
    "notification_user_preferences": Case(
        inputs={"notification": [
            note("SENT", "SV001", "2026-11-23 08:00:00", "N1", GRADE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N2", GRADE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N3", MESSAGE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N4", GRADE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N5", MESSAGE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N6", MESSAGE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N7", MESSAGE),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 10:00:00", "N1", GRADE),
            note("CLICKED", "SV002", "2026-11-23 09:00:00", "N5", MESSAGE),
            note("CLICKED", "SV002", "2026-11-24 09:00:00", "N6", MESSAGE),
            note("CLICKED", "SV002", "2026-11-23 07:59:59", "N7", MESSAGE),
            note("CLICKED", "SV003", "2026-11-23 09:00:00", "N8", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N9", DEADLINE),
            note("OPENED", "SV002", "2026-11-23 09:00:00", "N4", GRADE),
        ]},
        expected=[
            ("SV001", GRADE, 2, 1, Decimal("50.00")),
            ("SV001", MESSAGE, 1, 0, Decimal("0.00")),
            ("SV002", GRADE, 1, 0, Decimal("0.00")),
            ("SV002", MESSAGE, 3, 2, Decimal("66.67")),
        ],
        note="SV001 grade_posted: N1, N2 received, N1 clicked (twice, once counted) -> 1/2 = 50.00; new_message: "
             "N3 not clicked -> 0.00. SV002 grade_posted: N4 only opened -> 0.00; new_message: N5, N6 clicked "
             "after their sends, N7's click is 1 s before its send -> 2/3 x 100 = 66.666.. -> 66.67. SV003 "
             "(grade_posted) and SV001 (deadline_approaching) have clicks without sends: dropped.",
    ),
    "notification_daily_activity": Case(
        inputs={"notification": [
            note("SENT", "SV001", "2026-11-23 08:00:00", "N1", GRADE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N2", GRADE),
            note("SENT", "SV001", "2026-11-23 09:00:00", "N3", GRADE),
            note("OPENED", "SV001", "2026-11-23 09:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:05:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:10:00", "N1", GRADE),
            note("SENT", "SV003", "2026-11-23 23:59:59", "N4", MESSAGE),
            note("SENT", "SV001", "2026-11-24 00:00:00", "N5", GRADE),
            note("OPENED", "SV002", "2026-11-24 08:00:00", None, MESSAGE),
        ]},
        expected=[
            (D23, "NOTIFICATION_SENT", GRADE, 2, 3),
            (D23, "NOTIFICATION_OPENED", GRADE, 1, 1),
            (D23, "NOTIFICATION_CLICKED", GRADE, 1, 2),
            (D23, "NOTIFICATION_SENT", MESSAGE, 1, 1),
            (D24, "NOTIFICATION_SENT", GRADE, 1, 1),
            (D24, "NOTIFICATION_OPENED", MESSAGE, 1, 0),
        ],
        note="11-23 grade_posted: SENT N1, N3 to SV001 and N2 to SV002 -> 2 users, 3; OPENED by SV001 -> 1, 1; "
             "two CLICKs by SV001 -> 1, 2. 11-23 new_message SENT at 23:59:59 -> 1, 1. 11-24: SENT N5 at 00:00:00 "
             "-> 1, 1; an OPENED event without notification_id -> 1 user, event_count 0 (count(notification_id)).",
    ),
    "notification_user_summary": Case(
        inputs={"notification": [
            note("SENT", "SV001", "2026-11-23 08:00:00", "N1", GRADE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N2", MESSAGE),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N3", NEWS),
            note("SENT", "SV001", "2026-11-23 08:00:00", "N4", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N1", GRADE),
            note("CLICKED", "SV001", "2026-11-23 09:00:00", "N2", MESSAGE),
            note("CLICKED", "SV001", "2026-11-23 10:00:00", "N2", MESSAGE),
            note("SENT", "SV002", "2026-11-23 08:00:00", "N5", GRADE),
            note("CLICKED", "SV002", "2026-11-23 07:00:00", "N5", GRADE),
            note("CLICKED", "SV003", "2026-11-23 09:00:00", "N6", GRADE),
            note("SENT", "SV004", "2026-11-23 08:00:00", "N7", GRADE),
            note("SENT", "SV004", "2026-11-23 08:00:00", "N8", GRADE),
            note("SENT", "SV004", "2026-11-23 08:00:00", "N9", GRADE),
            note("CLICKED", "SV004", "2026-11-24 08:00:00", "N7", GRADE),
            note("OPENED", "SV005", "2026-11-23 09:00:00", "N11", GRADE),
            note("SENT", "GV001", "2026-11-23 08:00:00", "N10", NEWS),
            note("CLICKED", "GV001", "2026-11-23 08:30:00", "N10", NEWS),
        ]},
        expected=[
            ("SV001", 4, 2, Decimal("50.00")),
            ("SV002", 1, 0, Decimal("0.00")),
            ("SV003", 0, 0, None),
            ("SV004", 3, 1, Decimal("33.33")),
            ("GV001", 1, 1, Decimal("100.00")),
        ],
        note="SV001: 4 received, N1 and N2 clicked (N2 twice, once counted) -> 2/4 = 50.00. SV002: N5's click is "
             "before the send -> 0/1 = 0.00. SV003 only clicked an unsent N6 -> received 0, clicked 0, rate null. "
             "SV004: N7 of N7-N9 -> 1/3 = 33.33. GV001: 1/1 = 100.00. SV005 only opened: no row.",
    ),
}
