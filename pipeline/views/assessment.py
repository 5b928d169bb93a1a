"""Assessment views (#6-#12 of seed-facts §2): submissions, view-to-submit times, quizzes and grades."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline.views.aggregate import (Aggregate, DayState, Paired, count, distinct, first_per_group, greatest, least,
                                      mean, seconds, total, with_day)
from pipeline.views.common import event_date, is_type, of_type
from pipeline.views.view import View

UNKNOWN_TYPE = "unknown"  # assignment_type of a submission whose assignment has no first-view event


STUDENT_SUBMISSIONS = Aggregate(
    keys=("user_id", "course_id"),
    where=is_type("SUBMIT_ASSIGNMENT"),
    measures={"total_assignments_submitted": distinct("assignment_id"), "total_submissions": count(),
              "first_submission": least("event_time"), "last_submission": greatest("event_time")},
)


def assessment_student_submissions(assessment: DataFrame) -> DataFrame:
    return STUDENT_SUBMISSIONS.full(assessment)


def assessment_engagement_timeline(assessment: DataFrame) -> DataFrame:
    # The first view of each (student, assignment); its course is the row's course (earliest course_id on ties).
    first_view = (
        of_type(assessment, "VIEW_ASSIGNMENT_FIRST_TIME")
        .groupBy("user_id", "assignment_id")
        .agg(F.min(F.struct("event_time", "course_id")).alias("first"))
        .select("user_id", "assignment_id", F.col("first.event_time").alias("view_time"), "first.course_id")
    )
    submits = of_type(assessment, "SUBMIT_ASSIGNMENT").select(
        "user_id", "assignment_id", F.col("event_time").alias("submit_time"))
    # ... paired with the first submission at or after it: one pair per (student, assignment) at most.
    pairs = (
        first_view.join(submits, ["user_id", "assignment_id"])
        .filter(F.col("submit_time") >= F.col("view_time"))
        .groupBy("user_id", "assignment_id", "course_id", "view_time")
        .agg(F.min("submit_time").alias("submit_time"))
        .withColumn("hours", (F.col("submit_time").cast("double") - F.col("view_time").cast("double")) / 3600)
    )
    return pairs.groupBy("user_id", "course_id").agg(
        F.count(F.lit(1)).alias("assignments_completed"),
        F.avg("hours").alias("avg_hours_to_submit"),
        F.min("hours").alias("min_hours_to_submit"),
        F.max("hours").alias("max_hours_to_submit"),
    )


# Rolled up: the first view of a (student, assignment) is the first of its days' first views; the first submission
# at or after it is on the view's day (found there) or is the first submission of the first later day with one.
def _first_views_of_day(assessment: DataFrame) -> DataFrame:
    """Per day, student and assignment: the day's first view (and its course), with the day's earliest submission
    at or after it (or null)."""
    views = (
        of_type(assessment, "VIEW_ASSIGNMENT_FIRST_TIME")
        .groupBy(event_date(), "user_id", "assignment_id")
        .agg(F.min(F.struct("event_time", "course_id")).alias("first"))
        .select("date", "user_id", "assignment_id", F.col("first.event_time").alias("view_time"), "first.course_id")
    )
    submits = of_type(assessment, "SUBMIT_ASSIGNMENT").select(
        F.to_date("event_time").alias("submit_date"), F.col("user_id").alias("submit_user"),
        F.col("assignment_id").alias("submit_assignment"), F.col("event_time").alias("submit_time"))
    paired = views.join(submits, (F.col("date") == F.col("submit_date")) & (F.col("user_id") == F.col("submit_user"))
                        & (F.col("assignment_id") == F.col("submit_assignment"))
                        & (F.col("submit_time") >= F.col("view_time")), "left")
    return with_day(paired.groupBy("date", "user_id", "assignment_id", "view_time", "course_id")
                    .agg(F.min("submit_time").alias("submit_time")))


def _submits_of_day(assessment: DataFrame) -> DataFrame:
    """Per day, student and assignment: the day's first submission."""
    return with_day(of_type(assessment, "SUBMIT_ASSIGNMENT").groupBy(event_date(), "user_id", "assignment_id")
                    .agg(F.min("event_time").alias("first_submit")))


def _engagement_timeline_rolled(tables: list[pa.Table]) -> pa.Table:
    views, submits = tables
    keys = ["user_id", "assignment_id"]
    first = first_per_group(views, keys, ["view_time", "course_id"])
    waiting = first.filter(pc.is_null(first["submit_time"])).select([*keys, "day"])
    later = waiting.join(submits.select([*keys, "day", "first_submit"]).rename_columns(
        [*keys, "submit_day", "first_submit"]), keys)
    later = later.filter(pc.greater(later["submit_day"], later["day"])).group_by(keys).aggregate(
        [("first_submit", "min")])
    paired = first.join(later, keys, join_type="left outer")
    submitted = pc.coalesce(paired["submit_time"], paired["first_submit_min"])
    hours = pc.divide(pc.subtract(seconds(submitted), seconds(paired["view_time"])), 3600)
    pairs = pa.table({"user_id": paired["user_id"], "course_id": paired["course_id"], "hours": hours})
    pairs = pairs.filter(pc.is_valid(pairs["hours"]))
    per_course = pairs.group_by(["user_id", "course_id"]).aggregate(
        [([], "count_all"), ("hours", "mean"), ("hours", "min"), ("hours", "max")])
    return per_course.rename_columns(["user_id", "course_id", "assignments_completed", "avg_hours_to_submit",
                                      "min_hours_to_submit", "max_hours_to_submit"])


ENGAGEMENT_TIMELINE = Paired(
    parts=(("assessment", DayState(_first_views_of_day)), ("assessment", DayState(_submits_of_day))),
    rollup=_engagement_timeline_rolled)


def _stats(column: str, event_type: str, keys: tuple[str, ...], **columns: str) -> Aggregate:
    """Per group of `keys`, over `event_type` events: `name="count"` or `name="<avg|sum|min|max>"` of `column`."""
    kinds = {"count": count, "avg": lambda: mean(column), "sum": lambda: total(column),
             "min": lambda: least(column), "max": lambda: greatest(column)}
    return Aggregate(keys=keys, where=is_type(event_type),
                     measures={name: kinds[kind]() for name, kind in columns.items()})


QUIZ_PERFORMANCE = _stats("correct_answers", "QUIZ_COMPLETED", ("user_id", "course_id"),
                          total_quizzes_completed="count", avg_correct_answers="avg", total_correct_answers="sum",
                          min_correct_answers="min", max_correct_answers="max")
GRADING_STATS = _stats("score", "GRADE_ASSIGNMENT", ("student_id", "course_id"),
                       total_assignments_graded="count", avg_assignment_score="avg", min_assignment_score="min",
                       max_assignment_score="max", total_assignment_score="sum")


def assessment_quiz_performance(assessment: DataFrame) -> DataFrame:
    return QUIZ_PERFORMANCE.full(assessment)


def assessment_grading_stats(assessment: DataFrame) -> DataFrame:
    return GRADING_STATS.full(assessment)


VIEWED, GRADED, QUIZ = is_type("VIEW_STUDENT_WORK"), is_type("GRADE_ASSIGNMENT"), is_type("QUIZ_COMPLETED")
# Two aggregates full-outer-joined on the keys, in one pass: a key has a row if it has events of either type, and
# the counts of a type it has none of are null, not 0.
TEACHER_WORKLOAD = Aggregate(
    keys=("user_id", "course_id"),
    where=is_type("VIEW_STUDENT_WORK", "GRADE_ASSIGNMENT"),
    measures={"total_works_viewed": count(when=VIEWED, zero_as_null=True),
              "total_assignments_graded": count(when=GRADED, zero_as_null=True),
              "avg_score_given": mean("score", when=GRADED)},
)
# Likewise, a grade counting for the student it is about (student_id), a quiz for the one who took it (user_id).
STUDENT_OVERALL_PERFORMANCE = Aggregate(
    keys=("user_id", "course_id"),
    where=is_type("QUIZ_COMPLETED", "GRADE_ASSIGNMENT"),
    derive={"user_id": lambda: F.when(GRADED(), F.col("student_id")).otherwise(F.col("user_id"))},
    measures={"quizzes_completed": count(when=QUIZ, zero_as_null=True),
              "avg_quiz_correct": mean("correct_answers", when=QUIZ),
              "assignments_graded": count(when=GRADED, zero_as_null=True),
              "avg_assignment_score": mean("score", when=GRADED)},
)


def assessment_teacher_workload(assessment: DataFrame) -> DataFrame:
    return TEACHER_WORKLOAD.full(assessment)


def assessment_submission_distribution(assessment: DataFrame, assessment_history: DataFrame) -> DataFrame:
    # One type per assignment: that of its earliest first-view event ever (smallest type on ties), any student.
    types = (
        of_type(assessment_history, "VIEW_ASSIGNMENT_FIRST_TIME")
        .groupBy("assignment_id")
        .agg(F.min(F.struct("event_time", "assignment_type")).alias("first"))
        .select("assignment_id", F.col("first.assignment_type").alias("looked_up_type"))
    )
    submits = of_type(assessment, "SUBMIT_ASSIGNMENT").drop("assignment_type").join(types, "assignment_id", "left")
    return submits.groupBy(
        event_date(),
        "course_id",
        F.coalesce("looked_up_type", F.lit(UNKNOWN_TYPE)).alias("assignment_type"),
    ).agg(F.count(F.lit(1)).alias("submissions_count"), F.countDistinct("user_id").alias("unique_students"))


def assessment_student_overall_performance(assessment: DataFrame) -> DataFrame:
    return STUDENT_OVERALL_PERFORMANCE.full(assessment)


VIEWS: list[View] = [
    View(
        name="assessment_student_submissions", group="assessment", function=assessment_student_submissions,
        rollup=STUDENT_SUBMISSIONS,
        columns=("user_id", "course_id", "total_assignments_submitted", "total_submissions", "first_submission",
                 "last_submission"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and course over all history: distinct assignments submitted, all "
                    "SUBMIT_ASSIGNMENT events including resubmissions, and the first and last submit time.",
    ),
    View(
        name="assessment_engagement_timeline", group="assessment", function=assessment_engagement_timeline,
        rollup=ENGAGEMENT_TIMELINE,
        columns=("user_id", "course_id", "assignments_completed", "avg_hours_to_submit", "min_hours_to_submit",
                 "max_hours_to_submit"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and the course of their first view of an assignment: how many "
                    "assignments were submitted after being viewed, and the mean, min and max hours from the "
                    "first view to the first submission at or after it.",
        deviation="The original inner-joined every view with every submit of the same student and assignment "
                  "(many-to-many, possibly negative hours). Here each (student, assignment) counts once: its "
                  "earliest VIEW_ASSIGNMENT_FIRST_TIME (course from that event) is paired with the earliest "
                  "SUBMIT_ASSIGNMENT at or after it; earlier submissions and assignments never submitted after "
                  "a view are left out, so hours are never negative.",
    ),
    View(
        name="assessment_quiz_performance", group="assessment", function=assessment_quiz_performance,
        rollup=QUIZ_PERFORMANCE,
        columns=("user_id", "course_id", "total_quizzes_completed", "avg_correct_answers",
                 "total_correct_answers", "min_correct_answers", "max_correct_answers"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and course over all history: QUIZ_COMPLETED events and the mean, sum, "
                    "min and max of the raw correct_answers (no percentage: quiz lengths are unknown).",
    ),
    View(
        name="assessment_grading_stats", group="assessment", function=assessment_grading_stats,
        rollup=GRADING_STATS,
        columns=("student_id", "course_id", "total_assignments_graded", "avg_assignment_score",
                 "min_assignment_score", "max_assignment_score", "total_assignment_score"),
        keys=("student_id", "course_id"), date_keyed=False,
        description="One row per graded student and course over all history: GRADE_ASSIGNMENT events and the "
                    "mean, min, max and sum of their scores.",
    ),
    View(
        name="assessment_teacher_workload", group="assessment", function=assessment_teacher_workload,
        rollup=TEACHER_WORKLOAD,
        columns=("user_id", "course_id", "total_works_viewed", "total_assignments_graded", "avg_score_given"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per teacher and course over all history: VIEW_STUDENT_WORK events, GRADE_ASSIGNMENT "
                    "events and the mean score given, full-outer-joined, so a side with no events stays null "
                    "(not 0).",
    ),
    View(
        name="assessment_submission_distribution", group="assessment",
        function=assessment_submission_distribution,
        columns=("date", "course_id", "assignment_type", "submissions_count", "unique_students"),
        keys=("date", "course_id", "assignment_type"), date_keyed=True,
        description="One row per UTC day, course and assignment type: SUBMIT_ASSIGNMENT events and distinct "
                    "submitting students. The type is looked up from the assignment's first-view events.",
        deviation="Submit events carry no assignment_type (the original's type was always null): each submission "
                  "takes the type of the earliest VIEW_ASSIGNMENT_FIRST_TIME event of the same assignment_id by "
                  "any student, on any day (smallest type on ties), and "
                  f"`{UNKNOWN_TYPE}` when the assignment was never viewed, so the key is never null.",
    ),
    View(
        name="assessment_student_overall_performance", group="assessment",
        function=assessment_student_overall_performance, rollup=STUDENT_OVERALL_PERFORMANCE,
        columns=("user_id", "course_id", "quizzes_completed", "avg_quiz_correct", "assignments_graded",
                 "avg_assignment_score"),
        keys=("user_id", "course_id"), date_keyed=False,
        description="One row per student and course over all history: QUIZ_COMPLETED count and mean "
                    "correct_answers, full-outer-joined with GRADE_ASSIGNMENT count and mean score (graded "
                    "student_id as user_id); a side with no events stays null.",
    ),
]
