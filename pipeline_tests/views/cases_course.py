"""Hand-computed cases for the course views (#20-#27), all over one small course table.

The fixture, event by event (GV* users are teachers, SV* students):
  e1  11-24 08:00 GV001 COURSE_CREATED         C1
  e2  11-24 09:00 SV001 COURSE_ENROLLED        C1
  e3  11-24 09:30 SV002 COURSE_ENROLLED        C1
  e4  11-24 10:00 SV001 COURSE_ENROLLED        C1   (SV001 enrols in C1 again)
  e5  11-25 09:00 SV001 COURSE_ENROLLED        C2
  e6  11-25 11:00 SV003 COURSE_ENROLLED        C2
  e7  11-24 11:00 SV001 ACCESS_COURSE_MATERIAL C1 MAT1 pdf
  e8  11-25 08:00 SV001 ACCESS_COURSE_MATERIAL C1 MAT1 pdf
  e9  11-25 12:00 SV001 ACCESS_COURSE_MATERIAL C1 MAT2 slides
  e10 11-24 13:00 SV002 ACCESS_COURSE_MATERIAL C1 MAT1 pdf
  e11 11-25 14:00 SV003 ACCESS_COURSE_MATERIAL C3 MAT3 video
  e12 11-24 12:00 SV001 DOWNLOAD_MATERIAL      C1 MAT1
  e13 11-25 09:30 SV001 DOWNLOAD_MATERIAL      C1 MAT1
  e14 11-24 14:00 SV002 DOWNLOAD_MATERIAL      C1 MAT2
  e15 11-25 15:00 SV002 DOWNLOAD_MATERIAL      C2 MAT4
  e16 11-25 15:30 SV005 DOWNLOAD_MATERIAL      C2 MAT4  (SV005 never enrols)
  e17 11-25 10:00 SV003 COURSE_VIEW            C3
  e18 11-25 16:00 SV002 ITEM_CLICK             C2 ITEM1 lesson
  e19 11-25 07:00 GV002 COURSE_CREATED         C3
  e20 11-25 17:00 SV004 COURSE_DROPPED         C2
"""

from __future__ import annotations

from datetime import date

from pipeline_tests.views.fixtures import Case, collected, event


def _event(event_type: str, user_id: str, when: str, course_id: str, **fields) -> dict:
    return event(event_type, user_id, f"2026-{when}:00", course_id=course_id, **fields)


def _access(user_id: str, when: str, course_id: str, material_id: str, material_type: str) -> dict:
    return _event("ACCESS_COURSE_MATERIAL", user_id, when, course_id, material_id=material_id,
                  material_type=material_type)


def _download(user_id: str, when: str, course_id: str, material_id: str) -> dict:
    return _event("DOWNLOAD_MATERIAL", user_id, when, course_id, material_id=material_id)


COURSE = [
    _event("COURSE_CREATED", "GV001", "11-24 08:00", "C1", course_name="Spark", course_code="CS101",
           semester="Fall 2025", max_students=30),
    _event("COURSE_ENROLLED", "SV001", "11-24 09:00", "C1"),
    _event("COURSE_ENROLLED", "SV002", "11-24 09:30", "C1"),
    _event("COURSE_ENROLLED", "SV001", "11-24 10:00", "C1"),
    _event("COURSE_ENROLLED", "SV001", "11-25 09:00", "C2"),
    _event("COURSE_ENROLLED", "SV003", "11-25 11:00", "C2"),
    _access("SV001", "11-24 11:00", "C1", "MAT1", "pdf"),
    _access("SV001", "11-25 08:00", "C1", "MAT1", "pdf"),
    _access("SV001", "11-25 12:00", "C1", "MAT2", "slides"),
    _access("SV002", "11-24 13:00", "C1", "MAT1", "pdf"),
    _access("SV003", "11-25 14:00", "C3", "MAT3", "video"),
    _download("SV001", "11-24 12:00", "C1", "MAT1"),
    _download("SV001", "11-25 09:30", "C1", "MAT1"),
    _download("SV002", "11-24 14:00", "C1", "MAT2"),
    _download("SV002", "11-25 15:00", "C2", "MAT4"),
    _download("SV005", "11-25 15:30", "C2", "MAT4"),
    _event("COURSE_VIEW", "SV003", "11-25 10:00", "C3"),
    _event("ITEM_CLICK", "SV002", "11-25 16:00", "C2", item_id="ITEM1", item_type="lesson"),
    _event("COURSE_CREATED", "GV002", "11-25 07:00", "C3", course_name="Kafka", course_code="CS102",
           semester="Fall 2025", max_students=50),
    _event("COURSE_DROPPED", "SV004", "11-25 17:00", "C2"),
]

D24, D25 = date(2026, 11, 24), date(2026, 11, 25)

CASES = {
    "course_enrollment_stats": Case(
        {"course": COURSE},
        [(D24, "C1", 3, 2), (D25, "C2", 2, 2)],
        "Only COURSE_ENROLLED (e2-e6) count; the drop e20, views, accesses and downloads do not. "
        "11-24/C1: e2, e3, e4 = 3 events, users {SV001, SV002} = 2 (SV001's second enrolment counts once). "
        "11-25/C2: e5, e6 = 2 events, users {SV001, SV003} = 2.",
    ),
    "course_material_access": Case(
        {"course": COURSE},
        [("SV001", "C1", 3, 2, collected("2026-11-24 11:00:00"), collected("2026-11-25 12:00:00")),
         ("SV002", "C1", 1, 1, collected("2026-11-24 13:00:00"), collected("2026-11-24 13:00:00")),
         ("SV003", "C3", 1, 1, collected("2026-11-25 14:00:00"), collected("2026-11-25 14:00:00"))],
        "ACCESS_COURSE_MATERIAL only (e7-e11; the downloads of the same materials do not count). "
        "SV001/C1: e7, e8, e9 = 3 accesses of {MAT1, MAT2} = 2, first e7 11-24 11:00, last e9 11-25 12:00. "
        "SV002/C1: e10 alone. SV003/C3: e11 alone. Non-empty because the access events are now produced.",
    ),
    "course_material_popularity": Case(
        {"course": COURSE},
        [("C1", "MAT1", "pdf", 2, 3), ("C1", "MAT2", "slides", 1, 1), ("C3", "MAT3", "video", 1, 1)],
        "ACCESS_COURSE_MATERIAL only. C1/MAT1/pdf: e7, e8 (SV001), e10 (SV002) = 3 accesses by 2 users. "
        "C1/MAT2/slides: e9 = 1 by 1. C3/MAT3/video: e11 = 1 by 1. Downloads of MAT1/MAT2 (e12-e14) do not count.",
    ),
    "course_download_analytics": Case(
        {"course": COURSE},
        [("SV001", "C1", 2, 1), ("SV002", "C1", 1, 1), ("SV002", "C2", 1, 1), ("SV005", "C2", 1, 1)],
        "DOWNLOAD_MATERIAL only (e12-e16), counted on material_id (the original's resource_id gave 0 and 0). "
        "SV001/C1: e12, e13 = 2 downloads, both MAT1 = 1 distinct. SV002/C1: e14 (MAT2). SV002/C2: e15 (MAT4). "
        "SV005/C2: e16 (MAT4). Accesses e7-e11 do not count.",
    ),
    "course_resource_download_stats": Case(
        {"course": COURSE},
        [("C1", "MAT1", 1, 2), ("C1", "MAT2", 1, 1), ("C2", "MAT4", 2, 2)],
        "resource_id = the download's material_id (the original's was always null). C1/MAT1: e12, e13 by SV001 = "
        "1 downloader, 2 downloads. C1/MAT2: e14 by SV002 = 1, 1. C2/MAT4: e15 (SV002), e16 (SV005) = 2, 2. "
        "Accesses of MAT1/MAT2 do not count.",
    ),
    "course_activity_summary": Case(
        {"course": COURSE},
        [("SV001", 2, 3, 1, 2), ("SV002", 1, 1, 1, 2), ("SV003", 1, 1, 1, 0), ("SV005", 0, 0, 0, 1)],
        "SV001: enrolled in {C1 (e2, e4), C2 (e5)} = 2; accesses e7, e8, e9 = 3, all in C1 = 1 course; "
        "downloads e12, e13 = 2. SV002: {C1} = 1; access e10 = 1 in C1 = 1; downloads e14, e15 = 2. "
        "SV003: {C2} = 1; access e11 = 1 in C3 = 1; no downloads -> 0. SV005: only download e16 -> 0, 0, 0, 1. "
        "SV004 (only a drop) and the teachers (only COURSE_CREATED) have none of the three event types: no row. "
        "Accesses and downloads are non-zero thanks to the ACCESS_COURSE_MATERIAL and material_id fixes.",
    ),
    "course_daily_engagement": Case(
        {"course": COURSE},
        [(D24, "C1", "COURSE_CREATED", 1, 1), (D24, "C1", "COURSE_ENROLLED", 2, 3),
         (D24, "C1", "ACCESS_COURSE_MATERIAL", 2, 2), (D24, "C1", "DOWNLOAD_MATERIAL", 2, 2),
         (D25, "C2", "COURSE_ENROLLED", 2, 2), (D25, "C1", "ACCESS_COURSE_MATERIAL", 1, 2),
         (D25, "C3", "ACCESS_COURSE_MATERIAL", 1, 1), (D25, "C1", "DOWNLOAD_MATERIAL", 1, 1),
         (D25, "C2", "DOWNLOAD_MATERIAL", 2, 2), (D25, "C3", "COURSE_VIEW", 1, 1),
         (D25, "C2", "ITEM_CLICK", 1, 1), (D25, "C3", "COURSE_CREATED", 1, 1),
         (D25, "C2", "COURSE_DROPPED", 1, 1)],
        "11-24: C1 created e1 (GV001) 1/1; enrolled e2, e3, e4 by {SV001, SV002} 2/3; accesses e7, e10 2/2; "
        "downloads e12, e14 2/2. 11-25: C2 enrolled e5, e6 2/2; C1 accesses e8, e9 by SV001 1/2; C3 access e11 "
        "1/1; C1 download e13 1/1; C2 downloads e15, e16 by {SV002, SV005} 2/2; C3 view e17, C2 click e18, "
        "C3 created e19, C2 drop e20 1/1 each. Event counts add up to the 20 events.",
    ),
    "course_overall_metrics": Case(
        {"course": COURSE},
        [("C1", 3, 4, 3, 2), ("C2", 2, 0, 2, 5), ("C3", 0, 1, 0, 1)],
        "C1: enrolled e2, e3, e4 = 3; accesses e7-e10 = 4; downloads e12, e13, e14 = 3; students {SV001, SV002} "
        "= 2 (teacher GV001 of e1 left out). C2: enrolled e5, e6 = 2; no access -> 0; downloads e15, e16 = 2; "
        "students {SV001, SV003, SV002, SV005, SV004} = 5 (the click and the drop count as interaction). "
        "C3: no enrolment -> 0; access e11 = 1; no download -> 0; students {SV003} = 1 (GV002's e19 left out; "
        "the original would say 2).",
    ),
}
