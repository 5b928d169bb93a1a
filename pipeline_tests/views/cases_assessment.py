"""Hand-computed cases for the assessment views (#6-#12). C1/C2/C3 stand for COURSE001/002/003."""

from __future__ import annotations

from datetime import date

from pipeline_tests.views.fixtures import Case, collected, event

C1, C2, C3 = "COURSE001", "COURSE002", "COURSE003"


def _submit(user: str, assignment: str, course: str, time: str, event_type: str = "SUBMIT_ASSIGNMENT") -> dict:
    return event(event_type, user, time, assignment_id=assignment, course_id=course,
              file_url=f"s3://submissions/{user}_{assignment}.pdf")


def _view(user: str, assignment: str, course: str, time: str, kind: str = "homework") -> dict:
    return event("VIEW_ASSIGNMENT_FIRST_TIME", user, time, assignment_id=assignment, course_id=course,
              assignment_type=kind)


def _quiz(user: str, quiz: str, course: str, correct: int, time: str) -> dict:
    return event("QUIZ_COMPLETED", user, time, quiz_id=quiz, course_id=course, correct_answers=correct)


def _grade(teacher: str, student: str, assignment: str, course: str, score: int, time: str) -> dict:
    return event("GRADE_ASSIGNMENT", teacher, time, student_id=student, assignment_id=assignment, course_id=course,
              score=score)


def _work(teacher: str, student: str, course: str, time: str) -> dict:
    return event("VIEW_STUDENT_WORK", teacher, time, student_id=student, assignment_id="ASM001", course_id=course)


CASES: dict[str, Case] = {
    "assessment_student_submissions": Case(
        inputs={"assessment": [
            _submit("SV001", "ASM001", C1, "2026-11-24 08:00:00"),
            _submit("SV001", "ASM001", C1, "2026-11-24 09:30:00"),
            _submit("SV001", "ASM002", C1, "2026-11-25 10:00:00"),
            _submit("SV001", "ASM003", C2, "2026-11-24 12:00:00"),
            _submit("SV002", "ASM001", C1, "2026-11-23 07:15:00"),
            _submit("SV002", "ASM001", C1, "2026-11-26 07:15:00", event_type="EDIT_ASSIGNMENT"),
            _view("SV003", "ASM001", C1, "2026-11-24 08:00:00"),
        ]},
        expected=[
            ("SV001", C1, 2, 3, collected("2026-11-24 08:00:00"), collected("2026-11-25 10:00:00")),
            ("SV001", C2, 1, 1, collected("2026-11-24 12:00:00"), collected("2026-11-24 12:00:00")),
            ("SV002", C1, 1, 1, collected("2026-11-23 07:15:00"), collected("2026-11-23 07:15:00")),
        ],
        note="SV001/C1: ASM001 twice (resubmission) + ASM002 = 2 distinct, 3 submissions, first 11-24 08:00, last "
             "11-25 10:00. SV001/C2: one ASM003. SV002/C1: one submit; its EDIT_ASSIGNMENT on 11-26 is not a "
             "submission (else last would be 11-26). SV003's view gives no row.",
    ),
    "assessment_engagement_timeline": Case(
        inputs={"assessment": [
            # SV001 ASM001: first view 11-20 08:00 in C1; a later duplicate view in C3 is ignored.
            _view("SV001", "ASM001", C1, "2026-11-20 08:00:00"),
            _view("SV001", "ASM001", C3, "2026-11-21 08:00:00"),
            _submit("SV001", "ASM001", C1, "2026-11-20 06:00:00"),  # before the view: ignored
            _submit("SV001", "ASM001", C1, "2026-11-20 14:00:00"),  # first at/after the view: 6 h
            _submit("SV001", "ASM001", C1, "2026-11-22 08:00:00"),  # resubmission: ignored
            _view("SV001", "ASM002", C1, "2026-11-21 10:00:00"),
            _submit("SV001", "ASM002", C1, "2026-11-21 10:00:00"),  # same instant: 0 h
            _view("SV001", "ASM003", C1, "2026-11-22 00:00:00"),
            _submit("SV001", "ASM003", C1, "2026-11-23 12:00:00"),  # 36 h
            _view("SV001", "ASM004", C2, "2026-11-22 09:00:00"),  # never submitted
            _view("SV001", "ASM005", C2, "2026-11-22 09:00:00"),
            _submit("SV001", "ASM005", C2, "2026-11-22 10:30:00"),  # 1.5 h
            # SV002: only a submission before the view, an edit after it, and a submit without a view.
            _view("SV002", "ASM001", C1, "2026-11-24 12:00:00"),
            _submit("SV002", "ASM001", C1, "2026-11-24 11:00:00"),
            _submit("SV002", "ASM001", C1, "2026-11-24 13:00:00", event_type="EDIT_ASSIGNMENT"),
            _submit("SV002", "ASM006", C1, "2026-11-24 13:00:00"),
            # SV003: the submit names another course; the row takes the view's course.
            _view("SV003", "ASM001", C3, "2026-11-24 00:00:00"),
            _submit("SV003", "ASM001", C2, "2026-11-24 03:00:00"),
        ]},
        expected=[
            ("SV001", C1, 3, 14.0, 0.0, 36.0),
            ("SV001", C2, 1, 1.5, 1.5, 1.5),
            ("SV003", C3, 1, 3.0, 3.0, 3.0),
        ],
        note="SV001/C1: ASM001 first view 11-20 08:00 -> first submit at/after it 14:00 = 6 h (the 06:00 submit "
             "is earlier, the 11-22 one later, the C3 view is not the first); ASM002 0 h; ASM003 11-22 00:00 -> "
             "11-23 12:00 = 36 h: 3 assignments, avg (6+0+36)/3 = 14, min 0, max 36. The original's "
             "many-to-many join would give 2x3 pairs for ASM001 alone, two of them negative. SV001/C2: ASM005 "
             "1.5 h; ASM004 never submitted. SV002: no submit at/after its view (EDIT is not a submit, ASM006 "
             "has no view) -> no row. SV003: 00:00 -> 03:00 = 3 h, course C3 from the view.",
    ),
    "assessment_quiz_performance": Case(
        inputs={"assessment": [
            _quiz("SV001", "QUIZ001", C1, 10, "2026-11-24 08:00:00"),
            _quiz("SV001", "QUIZ002", C1, 20, "2026-11-24 09:00:00"),
            _quiz("SV001", "QUIZ001", C1, 15, "2026-11-25 08:00:00"),
            _quiz("SV001", "QUIZ003", C2, 7, "2026-11-24 10:00:00"),
            _quiz("SV002", "QUIZ001", C1, 5, "2026-11-24 11:00:00"),
            _quiz("SV002", "QUIZ004", C1, 50, "2026-11-24 12:00:00"),
            _grade("GV001", "SV002", "ASM001", C1, 90, "2026-11-24 13:00:00"),
            _submit("SV003", "ASM001", C1, "2026-11-24 14:00:00"),
        ]},
        expected=[
            ("SV001", C1, 3, 15.0, 45, 10, 20),
            ("SV001", C2, 1, 7.0, 7, 7, 7),
            ("SV002", C1, 2, 27.5, 55, 5, 50),
        ],
        note="SV001/C1: 10, 20 and a repeat of QUIZ001 with 15 -> 3 quizzes, sum 45, avg 15, min 10, max 20. "
             "SV001/C2: one quiz of 7. SV002/C1: 5 and 50 -> sum 55, avg 27.5. The grade and the submit are "
             "not quizzes (no GV001 or SV003 row).",
    ),
    "assessment_grading_stats": Case(
        inputs={"assessment": [
            _grade("GV001", "SV001", "ASM001", C1, 80, "2026-11-24 08:00:00"),
            _grade("GV002", "SV001", "ASM002", C1, 90, "2026-11-24 09:00:00"),
            _grade("GV001", "SV001", "ASM001", C1, 70, "2026-11-25 08:00:00"),
            _grade("GV001", "SV002", "ASM001", C1, 41, "2026-11-24 10:00:00"),
            _grade("GV001", "SV001", "ASM003", C2, 100, "2026-11-24 11:00:00"),
            _grade("GV001", "SV001", "ASM004", C2, 45, "2026-11-24 12:00:00"),
            _work("GV001", "SV003", C1, "2026-11-24 13:00:00"),
        ]},
        expected=[
            ("SV001", C1, 3, 80.0, 70, 90, 240),
            ("SV002", C1, 1, 41.0, 41, 41, 41),
            ("SV001", C2, 2, 72.5, 45, 100, 145),
        ],
        note="Keyed by student_id, whoever grades. SV001/C1: 80 (GV001), 90 (GV002), a regrade 70 -> 3, sum 240, "
             "avg 80, min 70, max 90. SV002/C1: 41. SV001/C2: 100 and 45 -> sum 145, avg 72.5. GV001's "
             "VIEW_STUDENT_WORK of SV003 is not a grade (no SV003 row).",
    ),
    "assessment_teacher_workload": Case(
        inputs={"assessment": [
            _work("GV001", "SV001", C1, "2026-11-24 08:00:00"),
            _work("GV001", "SV002", C1, "2026-11-24 09:00:00"),
            _work("GV001", "SV001", C1, "2026-11-25 08:00:00"),
            _grade("GV001", "SV001", "ASM001", C1, 60, "2026-11-24 10:00:00"),
            _grade("GV001", "SV002", "ASM001", C1, 90, "2026-11-24 11:00:00"),
            _grade("GV001", "SV003", "ASM002", C2, 55, "2026-11-24 12:00:00"),
            _work("GV002", "SV001", C1, "2026-11-24 13:00:00"),
            _quiz("SV001", "QUIZ001", C1, 10, "2026-11-24 14:00:00"),
        ]},
        expected=[
            ("GV001", C1, 3, 2, 75.0),
            ("GV001", C2, None, 1, 55.0),
            ("GV002", C1, 1, None, None),
        ],
        note="GV001/C1: 3 works viewed, 2 grades (60+90)/2 = 75. GV001/C2: a grade but no view -> viewed stays "
             "null (full outer join). GV002/C1: a view but no grade -> graded count and average null. The "
             "student's QUIZ_COMPLETED is neither (no SV001 row).",
    ),
    "assessment_submission_distribution": Case(
        inputs={
            "assessment": [
                _view("SV001", "ASM001", C1, "2026-11-24 08:00:00", kind="homework"),
                _view("SV002", "ASM001", C1, "2026-11-24 09:00:00", kind="lab"),
                _view("SV003", "ASM002", C1, "2026-11-24 10:00:00", kind="project"),
                _view("SV004", "ASM002", C1, "2026-11-24 10:00:00", kind="essay"),
                _submit("SV001", "ASM001", C1, "2026-11-24 08:30:00"),
                _submit("SV001", "ASM001", C1, "2026-11-24 09:30:00"),
                _submit("SV002", "ASM001", C1, "2026-11-24 10:00:00"),
                _submit("SV003", "ASM002", C1, "2026-11-24 11:00:00"),
                _submit("SV001", "ASM003", C2, "2026-11-24 23:59:59"),
                _submit("SV002", "ASM009", C2, "2026-11-24 13:00:00"),
                _submit("SV001", "ASM001", C1, "2026-11-25 00:00:00"),
                _submit("SV002", "ASM001", C1, "2026-11-24 12:00:00", event_type="EDIT_ASSIGNMENT"),
            ],
            # The whole history: the day's first views plus one of ASM003 days earlier.
            "assessment_history": [
                _view("SV005", "ASM003", C2, "2026-11-20 08:00:00", kind="project"),
                _view("SV001", "ASM001", C1, "2026-11-24 08:00:00", kind="homework"),
                _view("SV002", "ASM001", C1, "2026-11-24 09:00:00", kind="lab"),
                _view("SV003", "ASM002", C1, "2026-11-24 10:00:00", kind="project"),
                _view("SV004", "ASM002", C1, "2026-11-24 10:00:00", kind="essay"),
            ],
        },
        expected=[
            (date(2026, 11, 24), C1, "homework", 3, 2),
            (date(2026, 11, 24), C1, "essay", 1, 1),
            (date(2026, 11, 24), C2, "project", 1, 1),
            (date(2026, 11, 24), C2, "unknown", 1, 1),
            (date(2026, 11, 25), C1, "homework", 1, 1),
        ],
        note="Types from the history: ASM001 -> homework (SV001's 08:00 view is earliest; SV002's later `lab` "
             "loses); ASM002 -> essay (two views at 10:00, smallest type wins over project); ASM003 -> project "
             "(viewed on the 20th, not on the day); ASM009 was never viewed -> unknown. 11-24/C1/homework: SV001 "
             "twice + SV002 = 3 submissions, 2 students (the EDIT is not counted). 11-24/C1/essay: SV003. "
             "11-24/C2: ASM003 at 23:59:59 stays on the 24th (project), ASM009 (unknown). 11-25 00:00:00 starts "
             "the 25th: homework, 1.",
    ),
    "assessment_student_overall_performance": Case(
        inputs={"assessment": [
            _quiz("SV001", "QUIZ001", C1, 12, "2026-11-24 08:00:00"),
            _quiz("SV001", "QUIZ002", C1, 18, "2026-11-24 09:00:00"),
            _quiz("SV002", "QUIZ003", C2, 30, "2026-11-24 10:00:00"),
            _grade("GV001", "SV001", "ASM001", C1, 70, "2026-11-24 11:00:00"),
            _grade("GV002", "SV001", "ASM002", C1, 80, "2026-11-24 12:00:00"),
            _grade("GV001", "SV001", "ASM003", C1, 90, "2026-11-25 08:00:00"),
            _grade("GV001", "SV003", "ASM001", C1, 65, "2026-11-24 13:00:00"),
            _work("GV001", "SV002", C2, "2026-11-24 14:00:00"),
            _submit("SV002", "ASM001", C1, "2026-11-24 15:00:00"),
        ]},
        expected=[
            ("SV001", C1, 2, 15.0, 3, 80.0),
            ("SV002", C2, 1, 30.0, None, None),
            ("SV003", C1, None, None, 1, 65.0),
        ],
        note="SV001/C1: quizzes 12, 18 -> 2, avg 15; grades 70, 80, 90 -> 3, avg 80. SV002/C2: quiz only -> "
             "grade columns null. SV003/C1: grade only (keyed by student_id, not the teacher's user_id) -> quiz "
             "columns null. The VIEW_STUDENT_WORK and the SUBMIT_ASSIGNMENT add nothing (no GV or SV002/C1 row).",
    ),
}
