"""The serving group (seed-facts §2.1, views #38-#41): per-course and per-student summaries for the serving layer.

Like the original `student_course_analytics_batch_job`, only events whose actor has role `student` count;
the one exception is the grade of a student, which a teacher's GRADE_ASSIGNMENT event carries (`student_id`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline.views.common import of_type
from pipeline.views.view import View

STUDENT_COURSE = ["student_id", "course_id"]


def _students(events: DataFrame, *event_types: str) -> DataFrame:
    """The students' own events (of the given types, or all), with user_id also available as student_id."""
    rows = events.where(F.col("role") == "student")
    if event_types:
        rows = of_type(rows, *event_types)
    return rows.withColumn("student_id", F.col("user_id"))


def _count(events: DataFrame, keys: list[str], name: str) -> DataFrame:
    return events.groupBy(*keys).agg(F.count(F.lit(1)).alias(name))


def _left_join_zero(base: DataFrame, keys: list[str], *others: DataFrame) -> DataFrame:
    """Left-join each aggregate onto base by keys; counts missing for a base row become 0."""
    for other in others:
        base = base.join(other, keys, "left")
    counts = [c for other in others for c in other.columns if c not in keys]
    return base.fillna(0, subset=counts)  # fillna(0) leaves non-numeric columns (timestamps) as they are


def course_overview(course: DataFrame, video: DataFrame) -> DataFrame:
    enrolled = (_students(course, "COURSE_ENROLLED").groupBy("course_id")
                .agg(F.countDistinct("user_id").alias("total_enrolled_students")))
    return _left_join_zero(enrolled, ["course_id"],
                           _count(_students(video, "VIDEO_WATCHED"), ["course_id"], "total_videos_watched"),
                           _count(_students(course, "DOWNLOAD_MATERIAL"), ["course_id"],
                                  "total_materials_downloaded"))


def student_overview(course: DataFrame, video: DataFrame, assessment: DataFrame, auth: DataFrame) -> DataFrame:
    enrolled = (_students(course, "COURSE_ENROLLED").groupBy("student_id")
                .agg(F.countDistinct("course_id").alias("total_courses_enrolled")))
    counts = _left_join_zero(
        enrolled, ["student_id"],
        _count(_students(video, "VIDEO_WATCHED"), ["student_id"], "total_videos_watched"),
        _count(_students(assessment, "SUBMIT_ASSIGNMENT"), ["student_id"], "total_assignments_submitted"),
        _count(_students(auth, "LOGIN"), ["student_id"], "total_logins"),
    )
    scores = (assessment.where(F.col("event_type") == "GRADE_ASSIGNMENT").groupBy("student_id")
              .agg(F.avg("score").alias("avg_assignment_score")))
    return counts.join(scores, ["student_id"], "left")  # a student never graded keeps a null average


def student_course_enrollment(course: DataFrame, video: DataFrame) -> DataFrame:
    enrollments = (_students(course, "COURSE_ENROLLED")
                   .select("student_id", "course_id", F.col("event_time").alias("enrollment_date")).distinct())
    return _left_join_zero(enrollments, STUDENT_COURSE,
                           _count(_students(video, "VIDEO_WATCHED"), STUDENT_COURSE, "total_videos_watched"))


def student_course_detailed(video: DataFrame, course: DataFrame) -> DataFrame:
    watched = (_students(video, "VIDEO_WATCHED").groupBy(*STUDENT_COURSE)
               .agg(F.count(F.lit(1)).alias("videos_watched"),
                    (F.sum("watch_duration_seconds") / 60.0).alias("watch_time_minutes")))
    last_activity = (_students(course).groupBy(*STUDENT_COURSE)
                     .agg(F.max("event_time").alias("last_activity_date")))
    return _left_join_zero(watched, STUDENT_COURSE,
                           _count(_students(course, "DOWNLOAD_MATERIAL"), STUDENT_COURSE, "materials_downloaded"),
                           last_activity)


VIEWS: list[View] = [
    View("course_overview", "serving", course_overview,
         ("course_id", "total_enrolled_students", "total_videos_watched", "total_materials_downloaded"),
         ("course_id",), False,
         "One row per course with at least one student enrolment: the distinct enrolled students, and the "
         "numbers of students' VIDEO_WATCHED and DOWNLOAD_MATERIAL events in the course (0 if none)."),
    View("student_overview", "serving", student_overview,
         ("student_id", "total_courses_enrolled", "total_videos_watched", "total_assignments_submitted",
          "avg_assignment_score", "total_logins"), ("student_id",), False,
         "One row per student with at least one enrolment: distinct courses enrolled, and the student's "
         "VIDEO_WATCHED, SUBMIT_ASSIGNMENT and LOGIN events (0 if none); avg_assignment_score is the average "
         "score of the GRADE_ASSIGNMENT events about the student, over all courses (null if never graded).",
         deviation="The original averaged `score` over submit events, which carry none, so it was always 0; we "
                   "average the teachers' GRADE_ASSIGNMENT scores whose student_id is the student, and leave it "
                   "null, not 0, when there is no grade, since 0 would read as a real score."),
    View("student_course_enrollment", "serving", student_course_enrollment,
         ("student_id", "course_id", "enrollment_date", "total_videos_watched"),
         ("student_id", "course_id", "enrollment_date"), False,
         "One row per student enrolment (COURSE_ENROLLED, enrollment_date = its event time): a student who enrols "
         "in a course again gets a further row, and every row of that pair carries the same all-time count of "
         "the student's VIDEO_WATCHED events in the course (0 if none).",
         deviation="Enrolment events of the same student and course at the same instant collapse into one row, "
                   "so that (student_id, course_id, enrollment_date) identifies a row."),
    View("student_course_detailed", "serving", student_course_detailed,
         ("student_id", "course_id", "videos_watched", "materials_downloaded", "last_activity_date",
          "watch_time_minutes"), STUDENT_COURSE, False,
         "One row per student and course with at least one video watched: VIDEO_WATCHED events and their "
         "seconds / 60 as watch_time_minutes, DOWNLOAD_MATERIAL events (0 if none), and the time of the "
         "student's latest COURSE event in the course (null if none; videos do not count)."),
]
