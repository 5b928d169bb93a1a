"""Hand-computed cases for the video views (#13-#19). All seven read the same fixture, `WATCHED` below.

Rows are numbered r1..r15 in the notes. C1/C2/C3 stand for COURSE001/002/003.
r12 is a START_VIDEO event (an action the original's interim job expected, never a cleaned type): every
view must ignore it; if it were counted, SV004 would gain VID008 in C1 with 1800 s.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline_tests.views.fixtures import Case

C1, C2, C3 = "COURSE001", "COURSE002", "COURSE003"


def _watch(n: int, user: str, video: str, course: str, seconds: int, time: str,
           event_type: str = "VIDEO_WATCHED") -> dict:
    return {"event_type": event_type, "user_id": user, "event_time": time, "video_id": video,
            "course_id": course, "session_id": f"S{n:02d}", "watch_duration_seconds": seconds}


WATCHED = [
    _watch(1, "SV001", "VID001", C1, 300, "2026-11-24 08:00:00"),
    _watch(2, "SV001", "VID001", C1, 600, "2026-11-24 20:00:00"),
    _watch(3, "SV001", "VID002", C1, 120, "2026-11-25 09:00:00"),
    _watch(4, "SV002", "VID001", C1, 30, "2026-11-24 10:00:00"),
    _watch(5, "SV002", "VID003", C1, 60, "2026-11-25 23:59:59"),
    _watch(6, "SV002", "VID004", C2, 1800, "2026-11-25 00:00:00"),
    _watch(7, "SV003", "VID004", C2, 1200, "2026-11-25 12:00:00"),
    _watch(8, "SV003", "VID005", C2, 30, "2026-11-24 13:00:00"),
    _watch(9, "SV003", "VID005", C2, 60, "2026-11-24 14:00:00"),
    _watch(10, "SV001", "VID006", C2, 60, "2026-11-24 15:00:00"),
    _watch(11, "SV001", "VID006", C2, 300, "2026-11-24 16:00:00"),
    _watch(12, "SV004", "VID008", C1, 1800, "2026-11-24 11:00:00", event_type="START_VIDEO"),
    _watch(13, "SV003", "VID001", C2, 120, "2026-11-25 18:00:00"),
    _watch(14, "SV004", "VID007", C3, 600, "2026-11-25 08:00:00"),
    _watch(15, "SV004", "VID001", C1, 60, "2026-11-25 08:30:00"),
]
INPUTS = {"video": WATCHED}
D24, D25 = date(2026, 11, 24), date(2026, 11, 25)

CASES: dict[str, Case] = {
    "video_total_watch_time": Case(
        inputs=INPUTS,
        expected=[
            ("SV001", "VID001", C1, 900, 2, 450.0, 600, 300, 15.0, 0.25),
            ("SV001", "VID002", C1, 120, 1, 120.0, 120, 120, 2.0, 120 / 3600),
            ("SV002", "VID001", C1, 30, 1, 30.0, 30, 30, 0.5, 30 / 3600),
            ("SV002", "VID003", C1, 60, 1, 60.0, 60, 60, 1.0, 60 / 3600),
            ("SV002", "VID004", C2, 1800, 1, 1800.0, 1800, 1800, 30.0, 0.5),
            ("SV003", "VID004", C2, 1200, 1, 1200.0, 1200, 1200, 20.0, 1200 / 3600),
            ("SV003", "VID005", C2, 90, 2, 45.0, 60, 30, 1.5, 0.025),
            ("SV001", "VID006", C2, 360, 2, 180.0, 300, 60, 6.0, 0.1),
            ("SV003", "VID001", C2, 120, 1, 120.0, 120, 120, 2.0, 120 / 3600),
            ("SV004", "VID007", C3, 600, 1, 600.0, 600, 600, 10.0, 600 / 3600),
            ("SV004", "VID001", C1, 60, 1, 60.0, 60, 60, 1.0, 60 / 3600),
        ],
        note="SV001/VID001/C1 = r1+r2: 300+600 = 900 s, 2 sessions, avg 450, max 600, min 300, 900/60 = 15 min, "
             "900/3600 = 0.25 h. SV003/VID005/C2 = r8+r9: 30+60 = 90, avg 45, 1.5 min, 0.025 h. "
             "SV001/VID006/C2 = r10+r11: 60+300 = 360, avg 180, 6 min, 0.1 h. VID001 is keyed separately in C1 "
             "and C2 (r13). The rest are single events. r12 (START_VIDEO) gives no SV004/VID008 row.",
    ),
    "video_student_engagement": Case(
        inputs=INPUTS,
        expected=[
            ("SV001", C1, 2, 1020, 3, 340.0, 1020 / 3600),
            ("SV001", C2, 1, 360, 2, 180.0, 0.1),
            ("SV002", C1, 2, 90, 2, 45.0, 0.025),
            ("SV002", C2, 1, 1800, 1, 1800.0, 0.5),
            ("SV003", C2, 3, 1410, 4, 352.5, 1410 / 3600),
            ("SV004", C3, 1, 600, 1, 600.0, 600 / 3600),
            ("SV004", C1, 1, 60, 1, 60.0, 60 / 3600),
        ],
        note="SV001/C1 = r1,r2,r3: videos {VID001, VID002} = 2, 300+600+120 = 1020 s, 3 events, avg 340. "
             "SV002/C1 = r4,r5: 30+60 = 90, avg 45. SV003/C2 = r7,r8,r9,r13: videos {VID004, VID005, VID001} = 3, "
             "1200+30+60+120 = 1410, 4 events, avg 352.5. SV004/C1 = r15 only (r12 is START_VIDEO: without the "
             "filter it would be 2 videos, 1860 s).",
    ),
    "video_popularity": Case(
        inputs=INPUTS,
        expected=[
            ("VID001", C1, 3, 990, 4, 247.5, 0.275),
            ("VID002", C1, 1, 120, 1, 120.0, 120 / 3600),
            ("VID003", C1, 1, 60, 1, 60.0, 60 / 3600),
            ("VID004", C2, 2, 3000, 2, 1500.0, 3000 / 3600),
            ("VID005", C2, 1, 90, 2, 45.0, 0.025),
            ("VID006", C2, 1, 360, 2, 180.0, 0.1),
            ("VID001", C2, 1, 120, 1, 120.0, 120 / 3600),
            ("VID007", C3, 1, 600, 1, 600.0, 600 / 3600),
        ],
        note="VID001/C1 = r1,r2,r4,r15: viewers {SV001, SV002, SV004} = 3, 300+600+30+60 = 990 s, 4 events, "
             "avg 247.5, 990/3600 = 0.275 h. VID004/C2 = r6,r7: 2 viewers, 1800+1200 = 3000, avg 1500. "
             "VID005/C2 = r8,r9 by SV003 twice: 1 viewer, 2 events, 90 s. VID001/C2 (r13) is its own row. "
             "No VID008 row (r12 is START_VIDEO).",
    ),
    "video_daily_engagement": Case(
        inputs=INPUTS,
        expected=[
            (D24, C1, 2, 1, 930, 3, 930 / 3600),
            (D24, C2, 2, 2, 450, 4, 0.125),
            (D25, C1, 3, 3, 240, 3, 240 / 3600),
            (D25, C2, 2, 2, 3120, 3, 3120 / 3600),
            (D25, C3, 1, 1, 600, 1, 600 / 3600),
        ],
        note="11-24/C1 = r1,r2,r4: watchers {SV001, SV002}, videos {VID001}, 300+600+30 = 930 s (r12 excluded). "
             "11-24/C2 = r8,r9,r10,r11: watchers {SV003, SV001}, videos {VID005, VID006}, 30+60+60+300 = 450, "
             "0.125 h. 11-25/C1 = r3,r15,r5 (23:59:59 stays on the 25th): watchers {SV001, SV004, SV002}, "
             "videos {VID002, VID001, VID003}, 120+60+60 = 240. 11-25/C2 = r6 (00:00:00 is the 25th),r7,r13: "
             "watchers {SV002, SV003}, videos {VID004, VID001}, 1800+1200+120 = 3120. 11-25/C3 = r14.",
    ),
    "video_course_metrics": Case(
        inputs=INPUTS,
        expected=[
            (C1, 3, 3, 1170, 0.325),
            (C2, 3, 4, 3570, 3570 / 3600),
            (C3, 1, 1, 600, 600 / 3600),
        ],
        note="C1 = r1-r5,r15: students {SV001, SV002, SV004}, videos {VID001, VID002, VID003} (VID008 of r12 "
             "excluded), 300+600+120+30+60+60 = 1170 s = 0.325 h. C2 = r6-r11,r13: students {SV002, SV003, "
             "SV001}, videos {VID004, VID005, VID006, VID001}, 1800+1200+30+60+60+300+120 = 3570. C3 = r14.",
    ),
    "video_student_course_summary": Case(
        inputs=INPUTS,
        expected=[
            (C1, "SV001", 2, 1020, 3, 1020 / 3600, 3, Decimal("66.67")),
            (C1, "SV002", 2, 90, 2, 0.025, 3, Decimal("66.67")),
            (C1, "SV004", 1, 60, 1, 60 / 3600, 3, Decimal("33.33")),
            (C2, "SV001", 1, 360, 2, 0.1, 4, Decimal("25.00")),
            (C2, "SV002", 1, 1800, 1, 0.5, 4, Decimal("25.00")),
            (C2, "SV003", 3, 1410, 4, 1410 / 3600, 4, Decimal("75.00")),
            (C3, "SV004", 1, 600, 1, 600 / 3600, 1, Decimal("100.00")),
        ],
        note="Per-student figures as in video_student_engagement (sessions = events here). Videos per course "
             "over all students: C1 3 (VID008 of r12 excluded, else 4), C2 4, C3 1. Coverage: 2/3 x 100 = "
             "66.666.. -> 66.67 (half-up), 1/3 -> 33.33, 1/4 -> 25.00, 3/4 -> 75.00, 1/1 -> 100.00.",
    ),
    "video_drop_off_indicators": Case(
        inputs=INPUTS,
        expected=[
            ("VID001", C1, 4, 247.5, 30, 3, "Good Engagement"),
            ("VID002", C1, 1, 120.0, 120, 1, "Medium Risk"),
            ("VID003", C1, 1, 60.0, 60, 1, "Medium Risk"),
            ("VID004", C2, 2, 1500.0, 1200, 2, "Good Engagement"),
            ("VID005", C2, 2, 45.0, 30, 1, "High Risk"),
            ("VID006", C2, 2, 180.0, 60, 1, "Good Engagement"),
            ("VID001", C2, 1, 120.0, 120, 1, "Medium Risk"),
            ("VID007", C3, 1, 600.0, 600, 1, "Good Engagement"),
        ],
        note="VID001/C1 = 990/4 = 247.5, min 30 -> Good. VID005/C2 = (30+60)/2 = 45 < 60 -> High Risk. "
             "Boundaries: VID003 avg exactly 60 is not under 60 -> Medium Risk; VID006 (60+300)/2 = 180 is not "
             "under 180 -> Good Engagement. VID002 and VID001/C2 at 120 -> Medium Risk. No VID008 (r12).",
    ),
}
