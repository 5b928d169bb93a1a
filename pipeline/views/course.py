"""The course group (seed-facts §2, views #20-#27): enrolments, material accesses and downloads per course.

Every function reads the cleaned `course` table. ACCESS_COURSE_MATERIAL (material_id, material_type) is
produced by our generator, and downloads are identified by their `material_id` (no event has `resource_id`).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipeline.views.common import event_date, of_type
from pipeline.views.view import View

ENROLLED = "COURSE_ENROLLED"
ACCESSED = "ACCESS_COURSE_MATERIAL"
DOWNLOADED = "DOWNLOAD_MATERIAL"


def _tally(events: DataFrame, keys: list, total: str, distinct: str, distinct_of: str, *extra: Column) -> DataFrame:
    """Per group: the number of events (`total`) and the number of distinct `distinct_of` values."""
    return events.groupBy(*keys).agg(F.count(F.lit(1)).alias(total),
                                     F.countDistinct(distinct_of).alias(distinct), *extra)


def _count_where(condition: Column, column: str = "event_id") -> Column:
    return F.count(F.when(condition, F.col(column)))


def _distinct_where(condition: Column, column: str) -> Column:
    return F.countDistinct(F.when(condition, F.col(column)))


def _is(event_type: str) -> Column:
    return F.col("event_type") == event_type


def course_enrollment_stats(course: DataFrame) -> DataFrame:
    return _tally(of_type(course, ENROLLED), [event_date(), "course_id"], "new_enrollments", "unique_new_students", "user_id")


def course_material_access(course: DataFrame) -> DataFrame:
    return _tally(of_type(course, ACCESSED), ["user_id", "course_id"], "total_material_accesses",
                  "unique_materials_accessed", "material_id",
                  F.min("event_time").alias("first_access"), F.max("event_time").alias("last_access"))


def course_material_popularity(course: DataFrame) -> DataFrame:
    return _tally(of_type(course, ACCESSED), ["course_id", "material_id", "material_type"], "total_accesses",
                  "unique_accessors", "user_id")


def course_download_analytics(course: DataFrame) -> DataFrame:
    return _tally(of_type(course, DOWNLOADED), ["user_id", "course_id"], "total_downloads",
                  "unique_resources_downloaded", "material_id")


def course_resource_download_stats(course: DataFrame) -> DataFrame:
    downloads = of_type(course, DOWNLOADED).withColumn("resource_id", F.col("material_id"))
    return _tally(downloads, ["course_id", "resource_id"], "total_download_count", "unique_downloaders", "user_id")


def course_activity_summary(course: DataFrame) -> DataFrame:
    # One conditional pass: the same rows and numbers as the original's three aggregates full-outer-joined
    # on user_id with nulls filled by 0 (a user appears when they have at least one of the three events).
    return (course.where(F.col("event_type").isin(ENROLLED, ACCESSED, DOWNLOADED))
            .groupBy("user_id")
            .agg(_distinct_where(_is(ENROLLED), "course_id").alias("courses_enrolled"),
                 _count_where(_is(ACCESSED)).alias("total_material_accesses"),
                 _distinct_where(_is(ACCESSED), "course_id").alias("courses_with_material_access"),
                 _count_where(_is(DOWNLOADED), "material_id").alias("total_downloads")))


def course_daily_engagement(course: DataFrame) -> DataFrame:
    return _tally(course, [event_date(), "course_id", "event_type"], "event_count", "unique_users", "user_id")


def course_overall_metrics(course: DataFrame) -> DataFrame:
    return course.groupBy("course_id").agg(
        _count_where(_is(ENROLLED)).alias("total_enrollments"),
        _count_where(_is(ACCESSED)).alias("total_material_accesses"),
        _count_where(_is(DOWNLOADED), "material_id").alias("total_downloads"),
        _distinct_where(F.col("role") == "student", "user_id").alias("unique_students_interacting"),
    )


_ACCESS_NOW_PRODUCED = ("The original read ACCESS_COURSE_MATERIAL, which its producer never sent, so it was always "
                        "empty; our generator produces these events (material_id, material_type), so it has data.")

VIEWS: list[View] = [
    View("course_enrollment_stats", "course", course_enrollment_stats,
         ("date", "course_id", "new_enrollments", "unique_new_students"), ("date", "course_id"), True,
         "One row per UTC day and course: new_enrollments counts that day's COURSE_ENROLLED events, "
         "unique_new_students the distinct users among them (a repeated enrolment counts once)."),
    View("course_material_access", "course", course_material_access,
         ("user_id", "course_id", "total_material_accesses", "unique_materials_accessed", "first_access",
          "last_access"), ("user_id", "course_id"), False,
         "One row per user and course with material accesses: the number of ACCESS_COURSE_MATERIAL events, "
         "the distinct material_ids among them, and the first and last access time.",
         deviation=_ACCESS_NOW_PRODUCED),
    View("course_material_popularity", "course", course_material_popularity,
         ("course_id", "material_id", "material_type", "unique_accessors", "total_accesses"),
         ("course_id", "material_id", "material_type"), False,
         "One row per course, material and material type: the distinct users who accessed it and the number "
         "of ACCESS_COURSE_MATERIAL events.",
         deviation=_ACCESS_NOW_PRODUCED),
    View("course_download_analytics", "course", course_download_analytics,
         ("user_id", "course_id", "total_downloads", "unique_resources_downloaded"), ("user_id", "course_id"),
         False,
         "One row per user and course with downloads: the number of DOWNLOAD_MATERIAL events and the distinct "
         "material_ids (resources) downloaded.",
         deviation="The original counted resource_id, a field no event carries, so both columns were always 0; "
                   "the resource is the download's material_id."),
    View("course_resource_download_stats", "course", course_resource_download_stats,
         ("course_id", "resource_id", "unique_downloaders", "total_download_count"), ("course_id", "resource_id"),
         False,
         "One row per course and downloaded resource (resource_id = the download's material_id): the distinct "
         "users who downloaded it and the number of DOWNLOAD_MATERIAL events.",
         deviation="The original grouped by resource_id, which is always null, so each course collapsed into one "
                   "row with a null resource; resource_id here is the download's material_id."),
    View("course_activity_summary", "course", course_activity_summary,
         ("user_id", "courses_enrolled", "total_material_accesses", "courses_with_material_access",
          "total_downloads"), ("user_id",), False,
         "One row per user with at least one enrolment, material access or download: distinct courses enrolled, "
         "ACCESS_COURSE_MATERIAL events and the distinct courses they were in, and DOWNLOAD_MATERIAL events; "
         "a part the user has no events for is 0.",
         deviation="Material accesses come from ACCESS_COURSE_MATERIAL, now produced (always 0 in the original), "
                   "and downloads are counted on material_id instead of the never-present resource_id (always 0 "
                   "in the original)."),
    View("course_daily_engagement", "course", course_daily_engagement,
         ("date", "course_id", "event_type", "unique_users", "event_count"), ("date", "course_id", "event_type"),
         True,
         "One row per UTC day, course and course event type (all COURSE events, teachers' included): the "
         "distinct users and the number of events."),
    View("course_overall_metrics", "course", course_overall_metrics,
         ("course_id", "total_enrollments", "total_material_accesses", "total_downloads",
          "unique_students_interacting"), ("course_id",), False,
         "One row per course with any COURSE event: the numbers of COURSE_ENROLLED, ACCESS_COURSE_MATERIAL and "
         "DOWNLOAD_MATERIAL events, and the distinct students (role student) with any course event in it.",
         deviation="Accesses have data now that ACCESS_COURSE_MATERIAL is produced, and downloads count material_id "
                   "(no resource_id exists); unique_students_interacting counts students only, where the original "
                   "counted every user, teachers included."),
]
