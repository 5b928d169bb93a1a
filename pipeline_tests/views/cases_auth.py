"""Hand-computed cases for the auth views (#1-#5)."""

from __future__ import annotations

from datetime import date

from pipeline_tests.views.fixtures import Case, collected, event

D23, D24 = date(2026, 11, 23), date(2026, 11, 24)


def login(user_id: str, event_time: str, session_id: str, **fields) -> dict:
    return event("LOGIN", user_id, event_time, session_id=session_id, **fields)


def logout(user_id: str, event_time: str, session_id: str) -> dict:
    return event("LOGOUT", user_id, event_time, session_id=session_id)


def signup(user_id: str, event_time: str, source: str, **fields) -> dict:
    return event("SIGNUP", user_id, event_time, email=f"{user_id.lower()}@university.edu",
              registration_source=source, **fields)


CASES: dict[str, Case] = {
    "auth_daily_active_users": Case(
        inputs={"auth": [
            login("SV001", "2026-11-23 08:00:00", "s1"),
            login("SV001", "2026-11-23 09:00:00", "s2"),
            login("SV002", "2026-11-23 10:00:00", "s3"),
            login("SV003", "2026-11-23 23:59:59", "s4"),
            login("SV001", "2026-11-24 00:00:00", "s5"),
            login("SV001", "2026-11-24 12:00:00", "s5"),
            logout("SV004", "2026-11-23 11:00:00", "s6"),
            signup("SV005", "2026-11-23 12:00:00", "web"),
        ]},
        expected=[(D23, 3, 4), (D24, 1, 1)],
        note="11-23: logins by SV001 (s1, s2), SV002 (s3), SV003 (s4 at 23:59:59) -> 3 users, 4 sessions; the "
             "LOGOUT of SV004 and the SIGNUP of SV005 are not logins. 11-24: SV001 logs in twice with the same "
             "s5 (the first at 00:00:00 belongs to 11-24) -> 1 user, 1 session.",
    ),
    "auth_hourly_login_patterns": Case(
        inputs={"auth": [
            login("SV001", "2026-11-23 08:05:00", "s1"),
            login("SV002", "2026-11-23 08:55:00", "s2"),
            login("SV001", "2026-11-23 08:59:59", "s3"),
            login("SV001", "2026-11-23 09:00:00", "s4"),
            login("SV003", "2026-11-23 23:30:00", "s5"),
            login("SV002", "2026-11-24 08:10:00", "s6"),
            logout("SV001", "2026-11-23 08:30:00", "s1"),
        ]},
        expected=[(D23, 8, 3), (D23, 9, 1), (D23, 23, 1), (D24, 8, 1)],
        note="11-23 hour 8: 08:05, 08:55, 08:59:59 -> 3 (the 08:30 LOGOUT is not counted); hour 9: 09:00:00 -> 1; "
             "hour 23: 1. 11-24 hour 8: 1 (same hour, other day, separate row).",
    ),
    "auth_user_session_metrics": Case(
        inputs={"auth": [
            login("SV001", "2026-11-23 08:00:00", "s1"), logout("SV001", "2026-11-23 08:30:00", "s1"),
            login("SV001", "2026-11-23 10:00:00", "s2"), logout("SV001", "2026-11-23 11:30:00", "s2"),
            login("SV001", "2026-11-23 12:00:00", "s3"), logout("SV001", "2026-11-23 12:00:00", "s3"),
            login("SV002", "2026-11-23 09:00:00", "s4"), logout("SV002", "2026-11-23 08:45:00", "s4"),
            login("SV002", "2026-11-23 09:00:00", "s5"), logout("SV002", "2026-11-23 09:45:00", "s5"),
            logout("SV002", "2026-11-23 10:15:00", "s5"),
            login("SV002", "2026-11-23 13:00:00", "s6"), logout("SV002", "2026-11-23 13:01:30", "s6"),
            login("SV003", "2026-11-23 07:00:00", "s7"),
            login("SV003", "2026-11-23 23:00:00", "s9"), logout("SV003", "2026-11-24 00:30:00", "s9"),
            logout("GV001", "2026-11-23 12:00:00", "s8"),
            signup("SV004", "2026-11-23 07:00:00", "web"),
        ]},
        expected=[
            ("SV001", 3, 40.0, 0.0, 90.0, 120.0),
            ("SV002", 2, 23.25, 1.5, 45.0, 46.5),
            ("SV003", 1, 90.0, 90.0, 90.0, 90.0),
        ],
        note="SV001: s1 30 min, s2 90 min, s3 0 min (logout at the login's second is not earlier, so it counts) "
             "-> 3 sessions, sum 120, avg 40, min 0, max 90. SV002: s4's logout (08:45) is before its login (09:00), "
             "so no pair (the original gave -15); s5 pairs with its earliest later logout 09:45 -> 45 (the "
             "original also added a 75-min pair from the 10:15 logout); s6 90 s = 1.5 min -> 2 sessions, sum 46.5, "
             "avg 23.25, min 1.5, max 45. SV003: s7 never logged out (left out); s9 23:00 -> 00:30 next day = 90. "
             "GV001 only logged out (s8 has no login) and SV004 only signed up: no rows.",
    ),
    "auth_user_activity_summary": Case(
        inputs={"auth": [
            signup("SV001", "2026-11-22 07:00:00", "web"),
            login("SV001", "2026-11-23 08:00:00", "s1"),
            logout("SV001", "2026-11-23 09:00:00", "s1"),
            login("SV001", "2026-11-24 10:00:00", "s2"),
            login("SV002", "2026-11-23 08:00:00", "s3"),
            login("SV002", "2026-11-23 08:10:00", "s3"),
            logout("GV001", "2026-11-23 12:00:00", "s4"),
            signup("SV003", "2026-11-23 06:00:00", "mobile"),
            login("SV004", "2026-11-23 15:00:00", "s5", role=None),
        ]},
        expected=[
            ("SV001", "student", 2, 1, collected("2026-11-22 07:00:00"), collected("2026-11-24 10:00:00"), 2),
            ("SV002", "student", 2, 0, collected("2026-11-23 08:00:00"), collected("2026-11-23 08:10:00"), 1),
            ("GV001", "teacher", 0, 1, collected("2026-11-23 12:00:00"), collected("2026-11-23 12:00:00"), 1),
            ("SV003", "student", 0, 0, collected("2026-11-23 06:00:00"), collected("2026-11-23 06:00:00"), 0),
            ("SV004", "unknown", 1, 0, collected("2026-11-23 15:00:00"), collected("2026-11-23 15:00:00"), 1),
        ],
        note="SV001: LOGINs s1, s2 and LOGOUT s1 -> 2 logins, 1 logout, 2 sessions; the SIGNUP (no session) is "
             "the first activity, the 11-24 login the last. SV002: two logins in one session -> 2, 0, 1 session. "
             "GV001 (teacher): a logout only -> 0, 1, 1. SV003: a signup only -> 0, 0, 0 sessions (null "
             "session_id not counted). SV004's event carries no role -> role 'unknown'.",
    ),
    "auth_registration_analytics": Case(
        inputs={"auth": [
            signup("SV001", "2026-11-23 08:00:00", "web"),
            signup("SV002", "2026-11-23 09:00:00", "web"),
            signup("SV003", "2026-11-23 10:00:00", "mobile"),
            signup("GV001", "2026-11-23 11:00:00", "web"),
            signup("SV004", "2026-11-24 08:00:00", "web"),
            signup("SV006", "2026-11-24 09:00:00", "admin", role=None),
            login("SV005", "2026-11-23 12:00:00", "s1"),
        ]},
        expected=[
            (D23, "web", "student", 2),
            (D23, "mobile", "student", 1),
            (D23, "web", "teacher", 1),
            (D24, "web", "student", 1),
            (D24, "admin", "unknown", 1),
        ],
        note="11-23: web students SV001, SV002 -> 2; mobile student SV003 -> 1; web teacher GV001 -> 1. 11-24: web "
             "student SV004 -> 1; SV006 (admin) has no role -> 'unknown', 1. SV005's LOGIN is not a signup.",
    ),
}
