"""The serving group (seed-facts §2.1, views #38-#41): per-course and per-student summaries for the serving layer.

Like the original `student_course_analytics_batch_job`, only events whose actor has role `student` count;
the one exception is the grade of a student, which a teacher's GRADE_ASSIGNMENT event carries (`student_id`).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipeline.views.aggregate import Aggregate, Joined, count, distinct, greatest, mean, total
from pipeline.views.common import is_type
from pipeline.views.view import View

STUDENT_COURSE = ["student_id", "course_id"]


def _students(*event_types: str, **derive: Callable[[], Column]) -> dict:
    """An aggregate's rows: the students' own events (of the given types, or all), with user_id also available as
    student_id (and the columns of `derive`)."""
    def where() -> Column:
        student = F.col("role") == "student"
        return student & is_type(*event_types)() if event_types else student

    return {"where": where, "derive": {"student_id": lambda: F.col("user_id"), **derive}}


def _counted(rows: dict, keys: tuple[str, ...], name: str) -> Aggregate:
    return Aggregate(keys=keys, measures={name: count()}, **rows)


COURSE_OVERVIEW = Joined(
    parts=(("course", Aggregate(keys=("course_id",), **_students("COURSE_ENROLLED"),
                                measures={"total_enrolled_students": distinct("user_id")})),
           ("video", _counted(_students("VIDEO_WATCHED"), ("course_id",), "total_videos_watched")),
           ("course", _counted(_students("DOWNLOAD_MATERIAL"), ("course_id",), "total_materials_downloaded"))),
    zero=("total_videos_watched", "total_materials_downloaded"),
)
STUDENT_OVERVIEW = Joined(
    parts=(("course", Aggregate(keys=("student_id",), **_students("COURSE_ENROLLED"),
                                measures={"total_courses_enrolled": distinct("course_id")})),
           ("video", _counted(_students("VIDEO_WATCHED"), ("student_id",), "total_videos_watched")),
           ("assessment", _counted(_students("SUBMIT_ASSIGNMENT"), ("student_id",), "total_assignments_submitted")),
           ("auth", _counted(_students("LOGIN"), ("student_id",), "total_logins")),
           # A grade is a teacher's event about a student: every role counts; a student never graded keeps a null.
           ("assessment", Aggregate(keys=("student_id",), where=is_type("GRADE_ASSIGNMENT"),
                                    measures={"avg_assignment_score": mean("score")}))),
    zero=("total_videos_watched", "total_assignments_submitted", "total_logins"),
)
STUDENT_COURSE_ENROLLMENT = Joined(
    parts=(("course", Aggregate(keys=(*STUDENT_COURSE, "enrollment_date"), measures={},
                                **_students("COURSE_ENROLLED", enrollment_date=lambda: F.col("event_time")))),
           ("video", _counted(_students("VIDEO_WATCHED"), STUDENT_COURSE, "total_videos_watched"))),
    zero=("total_videos_watched",),
)
STUDENT_COURSE_DETAILED = Joined(
    parts=(("video", Aggregate(keys=STUDENT_COURSE, **_students("VIDEO_WATCHED"),
                               measures={"videos_watched": count(),
                                         "watch_time_minutes": total("watch_duration_seconds", per=60)})),
           ("course", _counted(_students("DOWNLOAD_MATERIAL"), STUDENT_COURSE, "materials_downloaded")),
           ("course", Aggregate(keys=STUDENT_COURSE, **_students(),
                                measures={"last_activity_date": greatest("event_time")}))),
    zero=("materials_downloaded",),
)


def course_overview(course: DataFrame, video: DataFrame) -> DataFrame:
    return COURSE_OVERVIEW.full({"course": course, "video": video})


def student_overview(course: DataFrame, video: DataFrame, assessment: DataFrame, auth: DataFrame) -> DataFrame:
    return STUDENT_OVERVIEW.full({"course": course, "video": video, "assessment": assessment, "auth": auth})


def student_course_enrollment(course: DataFrame, video: DataFrame) -> DataFrame:
    return STUDENT_COURSE_ENROLLMENT.full({"course": course, "video": video})


def student_course_detailed(video: DataFrame, course: DataFrame) -> DataFrame:
    return STUDENT_COURSE_DETAILED.full({"video": video, "course": course})


VIEWS: list[View] = [
    View("course_overview", "serving", course_overview,
         ("course_id", "total_enrolled_students", "total_videos_watched", "total_materials_downloaded"),
         ("course_id",), False,
         "One row per course with at least one student enrolment: the distinct enrolled students, and the "
         "numbers of students' VIDEO_WATCHED and DOWNLOAD_MATERIAL events in the course (0 if none).",
         rollup=COURSE_OVERVIEW),
    View("student_overview", "serving", student_overview,
         ("student_id", "total_courses_enrolled", "total_videos_watched", "total_assignments_submitted",
          "avg_assignment_score", "total_logins"), ("student_id",), False,
         "One row per student with at least one enrolment: distinct courses enrolled, and the student's "
         "VIDEO_WATCHED, SUBMIT_ASSIGNMENT and LOGIN events (0 if none); avg_assignment_score is the average "
         "score of the GRADE_ASSIGNMENT events about the student, over all courses (null if never graded).",
         deviation="The original averaged `score` over submit events, which carry none, so it was always 0; we "
                   "average the teachers' GRADE_ASSIGNMENT scores whose student_id is the student, and leave it "
                   "null, not 0, when there is no grade, since 0 would read as a real score.",
         rollup=STUDENT_OVERVIEW),
    View("student_course_enrollment", "serving", student_course_enrollment,
         ("student_id", "course_id", "enrollment_date", "total_videos_watched"),
         ("student_id", "course_id", "enrollment_date"), False,
         "One row per student enrolment (COURSE_ENROLLED, enrollment_date = its event time): a student who enrols "
         "in a course again gets a further row, and every row of that pair carries the same all-time count of "
         "the student's VIDEO_WATCHED events in the course (0 if none).",
         deviation="Enrolment events of the same student and course at the same instant collapse into one row, "
                   "so that (student_id, course_id, enrollment_date) identifies a row.",
         rollup=STUDENT_COURSE_ENROLLMENT),
    View("student_course_detailed", "serving", student_course_detailed,
         ("student_id", "course_id", "videos_watched", "materials_downloaded", "last_activity_date",
          "watch_time_minutes"), STUDENT_COURSE, False,
         "One row per student and course with at least one video watched: VIDEO_WATCHED events and their "
         "seconds / 60 as watch_time_minutes, DOWNLOAD_MATERIAL events (0 if none), and the time of the "
         "student's latest COURSE event in the course (null if none; videos do not count).",
         rollup=STUDENT_COURSE_DETAILED),
]
