"""Hand-computed cases for the serving views (#38-#41), all over one small set of tables.

GV* users are teachers: their own events never count. The fixture (2026, UTC):
course
  c1  11-24 09:00 SV001 COURSE_ENROLLED   C1
  c2  11-24 10:00 SV002 COURSE_ENROLLED   C1
  c3  11-26 09:00 SV001 COURSE_ENROLLED   C1   (SV001 enrols in C1 again)
  c4  11-24 11:00 SV001 COURSE_ENROLLED   C2
  c5  11-25 09:00 SV003 COURSE_ENROLLED   C3
  c6  11-25 09:00 SV003 COURSE_ENROLLED   C3   (a second event at the same instant)
  c7  11-24 08:30 GV001 COURSE_ENROLLED   C1   (teacher)
  c8  11-24 12:00 SV001 DOWNLOAD_MATERIAL C1 MAT1
  c9  11-25 12:00 SV001 DOWNLOAD_MATERIAL C1 MAT2
  c10 11-25 13:00 SV002 DOWNLOAD_MATERIAL C2 MAT3  (SV002 is not enrolled in C2)
  c11 11-25 14:00 GV001 DOWNLOAD_MATERIAL C1 MAT1  (teacher)
  c12 11-27 08:00 SV001 COURSE_VIEW       C1
video (VIDEO_WATCHED)
  v1 11-24 13:00 SV001 C1 VID1  300 s     v4 11-25 14:00 SV002 C2 VID3   90 s
  v2 11-25 13:00 SV001 C1 VID2  600 s     v5 11-25 15:00 SV003 C4 VID4 1200 s  (nobody enrolled in C4)
  v3 11-26 13:00 SV001 C1 VID1  120 s     v6 11-25 16:00 GV002 C1 VID1 1800 s  (teacher)
assessment
  a1 SV001 SUBMIT ASM1 C1; a2 SV001 SUBMIT ASM2 C2; a3 SV002 SUBMIT ASM1 C1; a4 SV003 QUIZ_COMPLETED C3
  g1 GV001 GRADE SV001 ASM1 C1 score 80; g2 GV001 GRADE SV001 ASM2 C2 score 91; g3 GV002 GRADE SV002 ASM1 C1 70
auth
  l1 SV001 LOGIN; l2 SV001 LOGIN; l3 SV001 LOGOUT; l4 SV003 LOGIN; l5 GV001 LOGIN; l6 SV005 LOGIN (never enrols)
"""

from __future__ import annotations


from pipeline_tests.views.fixtures import Case, collected, event


def _row(event_type: str, user_id: str, when: str, **fields) -> dict:
    return event(event_type, user_id, f"2026-{when}:00", **fields)


COURSE = [
    _row("COURSE_ENROLLED", "SV001", "11-24 09:00", course_id="C1"),
    _row("COURSE_ENROLLED", "SV002", "11-24 10:00", course_id="C1"),
    _row("COURSE_ENROLLED", "SV001", "11-26 09:00", course_id="C1"),
    _row("COURSE_ENROLLED", "SV001", "11-24 11:00", course_id="C2"),
    _row("COURSE_ENROLLED", "SV003", "11-25 09:00", course_id="C3"),
    _row("COURSE_ENROLLED", "SV003", "11-25 09:00", course_id="C3"),
    _row("COURSE_ENROLLED", "GV001", "11-24 08:30", course_id="C1"),
    _row("DOWNLOAD_MATERIAL", "SV001", "11-24 12:00", course_id="C1", material_id="MAT1"),
    _row("DOWNLOAD_MATERIAL", "SV001", "11-25 12:00", course_id="C1", material_id="MAT2"),
    _row("DOWNLOAD_MATERIAL", "SV002", "11-25 13:00", course_id="C2", material_id="MAT3"),
    _row("DOWNLOAD_MATERIAL", "GV001", "11-25 14:00", course_id="C1", material_id="MAT1"),
    _row("COURSE_VIEW", "SV001", "11-27 08:00", course_id="C1"),
]


def _watched(user_id: str, when: str, course_id: str, video_id: str, seconds: int) -> dict:
    return _row("VIDEO_WATCHED", user_id, when, course_id=course_id, video_id=video_id,
                session_id=f"S-{user_id}-{when}", watch_duration_seconds=seconds)


VIDEO = [
    _watched("SV001", "11-24 13:00", "C1", "VID1", 300),
    _watched("SV001", "11-25 13:00", "C1", "VID2", 600),
    _watched("SV001", "11-26 13:00", "C1", "VID1", 120),
    _watched("SV002", "11-25 14:00", "C2", "VID3", 90),
    _watched("SV003", "11-25 15:00", "C4", "VID4", 1200),
    _watched("GV002", "11-25 16:00", "C1", "VID1", 1800),
]

ASSESSMENT = [
    _row("SUBMIT_ASSIGNMENT", "SV001", "11-24 16:00", assignment_id="ASM1", course_id="C1", file_url="s3://a"),
    _row("SUBMIT_ASSIGNMENT", "SV001", "11-25 16:00", assignment_id="ASM2", course_id="C2", file_url="s3://b"),
    _row("SUBMIT_ASSIGNMENT", "SV002", "11-24 17:00", assignment_id="ASM1", course_id="C1", file_url="s3://c"),
    _row("QUIZ_COMPLETED", "SV003", "11-25 10:00", quiz_id="QUIZ1", course_id="C3", correct_answers=20),
    _row("GRADE_ASSIGNMENT", "GV001", "11-26 10:00", student_id="SV001", assignment_id="ASM1", course_id="C1",
         score=80),
    _row("GRADE_ASSIGNMENT", "GV001", "11-26 11:00", student_id="SV001", assignment_id="ASM2", course_id="C2",
         score=91),
    _row("GRADE_ASSIGNMENT", "GV002", "11-26 12:00", student_id="SV002", assignment_id="ASM1", course_id="C1",
         score=70),
]

AUTH = [
    _row("LOGIN", "SV001", "11-24 07:00", session_id="S1"),
    _row("LOGIN", "SV001", "11-25 07:00", session_id="S2"),
    _row("LOGOUT", "SV001", "11-25 09:00", session_id="S2"),
    _row("LOGIN", "SV003", "11-25 08:00", session_id="S3"),
    _row("LOGIN", "GV001", "11-24 07:30", session_id="S4"),
    _row("LOGIN", "SV005", "11-24 07:45", session_id="S5"),
]

CASES = {
    "course_overview": Case(
        {"course": COURSE, "video": VIDEO},
        [("C1", 2, 3, 2), ("C2", 1, 1, 1), ("C3", 1, 0, 0)],
        "C1: enrolled {SV001 (c1, c3), SV002 (c2)} = 2 (teacher c7 left out); videos v1, v2, v3 = 3 (teacher v6 "
        "left out); downloads c8, c9 = 2 (teacher c11 left out). C2: enrolled {SV001} = 1; video v4 = 1; "
        "download c10 = 1 (counted though SV002 is not enrolled there). C3: enrolled {SV003} = 1 (c5, c6); no "
        "video, no download -> 0, 0. C4 has a video (v5) but no enrolment: no row.",
    ),
    "student_overview": Case(
        {"course": COURSE, "video": VIDEO, "assessment": ASSESSMENT, "auth": AUTH},
        [("SV001", 2, 3, 2, 85.5, 2), ("SV002", 1, 1, 1, 70.0, 0), ("SV003", 1, 1, 0, None, 1)],
        "SV001: courses {C1, C2} = 2; videos v1-v3 = 3; submits a1, a2 = 2; grades g1, g2 -> (80 + 91) / 2 = 85.5 "
        "(the original's average over submits would be 0); logins l1, l2 = 2 (logout l3 left out). SV002: {C1} = 1; "
        "v4 = 1; a3 = 1; g3 -> 70.0; no login -> 0. SV003: {C3} = 1; v5 = 1; no submit (a4 is a quiz) -> 0; never "
        "graded -> null; l4 = 1. GV001 (teacher enrolment c7) and SV005 (login only, no enrolment): no row.",
    ),
    "student_course_enrollment": Case(
        {"course": COURSE, "video": VIDEO},
        [("SV001", "C1", collected("2026-11-24 09:00:00"), 3), ("SV001", "C1", collected("2026-11-26 09:00:00"), 3),
         ("SV002", "C1", collected("2026-11-24 10:00:00"), 0), ("SV001", "C2", collected("2026-11-24 11:00:00"), 0),
         ("SV003", "C3", collected("2026-11-25 09:00:00"), 0)],
        "One row per enrolment: SV001/C1 twice (c1, c3), each with SV001's C1 videos v1, v2, v3 = 3; SV002/C1 (c2): "
        "its only video v4 is in C2 -> 0; SV001/C2 (c4): no C2 video -> 0; SV003/C3: c5 and c6 share the instant "
        "-> one row, its video v5 is in C4 -> 0. Teacher GV001's c7: no row.",
    ),
    "student_course_detailed": Case(
        {"course": COURSE, "video": VIDEO},
        [("SV001", "C1", 3, 2, collected("2026-11-27 08:00:00"), 17.0),
         ("SV002", "C2", 1, 1, collected("2026-11-25 13:00:00"), 1.5),
         ("SV003", "C4", 1, 0, None, 20.0)],
        "SV001/C1: videos v1, v2, v3 = 3, (300 + 600 + 120) / 60 = 17.0 min; downloads c8, c9 = 2; latest course "
        "event of SV001 in C1 is the view c12 at 11-27 08:00. SV002/C2: v4 = 1, 90 / 60 = 1.5; download c10 = 1; "
        "latest c10 at 11-25 13:00. SV003/C4: v5 = 1, 1200 / 60 = 20.0; no download -> 0; no course event in C4 "
        "-> null. Teacher GV002's v6 is left out; SV001/C2 and SV003/C3 have course events but no video: no row.",
    ),
}
