"""The course group (seed-facts §2, views #20-#27): enrolments, material accesses and downloads per course.

Every function reads the cleaned `course` table. ACCESS_COURSE_MATERIAL (material_id, material_type) is
produced by our generator, and downloads are identified by their `material_id` (no event has `resource_id`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline.views.aggregate import Aggregate, count, distinct, greatest, least
from pipeline.views.common import event_date, is_type, of_type
from pipeline.views.view import View

ENROLLED = "COURSE_ENROLLED"
ACCESSED = "ACCESS_COURSE_MATERIAL"
DOWNLOADED = "DOWNLOAD_MATERIAL"


def _daily_tally(events: DataFrame, keys: list[str], events_name: str, distinct_name: str,
                 distinct_of: str) -> DataFrame:
    """Per UTC day and group: the number of events and the number of distinct `distinct_of` values."""
    return events.groupBy(event_date(), *keys).agg(F.count(F.lit(1)).alias(events_name),
                                                   F.countDistinct(distinct_of).alias(distinct_name))


def course_enrollment_stats(course: DataFrame) -> DataFrame:
    return _daily_tally(of_type(course, ENROLLED), ["course_id"], "new_enrollments", "unique_new_students", "user_id")


MATERIAL_ACCESS = Aggregate(
    keys=("user_id", "course_id"),
    where=is_type(ACCESSED),
    measures={"total_material_accesses": count(), "unique_materials_accessed": distinct("material_id"),
              "first_access": least("event_time"), "last_access": greatest("event_time")},
)
MATERIAL_POPULARITY = Aggregate(
    keys=("course_id", "material_id", "material_type"),
    where=is_type(ACCESSED),
    measures={"total_accesses": count(), "unique_accessors": distinct("user_id")},
)
DOWNLOAD_ANALYTICS = Aggregate(
    keys=("user_id", "course_id"),
    where=is_type(DOWNLOADED),
    measures={"total_downloads": count(), "unique_resources_downloaded": distinct("material_id")},
)
RESOURCE_DOWNLOAD_STATS = Aggregate(
    keys=("course_id", "resource_id"),
    where=is_type(DOWNLOADED), derive={"resource_id": lambda: F.col("material_id")},
    measures={"total_download_count": count(), "unique_downloaders": distinct("user_id")},
)
# One conditional pass: the same rows and numbers as the original's three aggregates full-outer-joined on user_id
# with nulls filled by 0 (a user appears when they have at least one of the three events).
ACTIVITY_SUMMARY = Aggregate(
    keys=("user_id",),
    where=is_type(ENROLLED, ACCESSED, DOWNLOADED),
    measures={"courses_enrolled": distinct("course_id", when=is_type(ENROLLED)),
              "total_material_accesses": count(of="event_id", when=is_type(ACCESSED)),
              "courses_with_material_access": distinct("course_id", when=is_type(ACCESSED)),
              "total_downloads": count(of="material_id", when=is_type(DOWNLOADED))},
)
OVERALL_METRICS = Aggregate(
    keys=("course_id",),
    measures={"total_enrollments": count(of="event_id", when=is_type(ENROLLED)),
              "total_material_accesses": count(of="event_id", when=is_type(ACCESSED)),
              "total_downloads": count(of="material_id", when=is_type(DOWNLOADED)),
              "unique_students_interacting": distinct("user_id", when=lambda: F.col("role") == "student")},
)


def course_material_access(course: DataFrame) -> DataFrame:
    return MATERIAL_ACCESS.full(course)


def course_material_popularity(course: DataFrame) -> DataFrame:
    return MATERIAL_POPULARITY.full(course)


def course_download_analytics(course: DataFrame) -> DataFrame:
    return DOWNLOAD_ANALYTICS.full(course)


def course_resource_download_stats(course: DataFrame) -> DataFrame:
    return RESOURCE_DOWNLOAD_STATS.full(course)


def course_activity_summary(course: DataFrame) -> DataFrame:
    return ACTIVITY_SUMMARY.full(course)


def course_daily_engagement(course: DataFrame) -> DataFrame:
    return _daily_tally(course, ["course_id", "event_type"], "event_count", "unique_users", "user_id")


def course_overall_metrics(course: DataFrame) -> DataFrame:
    return OVERALL_METRICS.full(course)


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
         deviation=_ACCESS_NOW_PRODUCED,
         rollup=MATERIAL_ACCESS),
    View("course_material_popularity", "course", course_material_popularity,
         ("course_id", "material_id", "material_type", "unique_accessors", "total_accesses"),
         ("course_id", "material_id", "material_type"), False,
         "One row per course, material and material type: the distinct users who accessed it and the number "
         "of ACCESS_COURSE_MATERIAL events.",
         deviation=_ACCESS_NOW_PRODUCED,
         rollup=MATERIAL_POPULARITY),
    View("course_download_analytics", "course", course_download_analytics,
         ("user_id", "course_id", "total_downloads", "unique_resources_downloaded"), ("user_id", "course_id"),
         False,
         "One row per user and course with downloads: the number of DOWNLOAD_MATERIAL events and the distinct "
         "material_ids (resources) downloaded.",
         deviation="The original counted resource_id, a field no event carries, so both columns were always 0; "
                   "the resource is the download's material_id.",
         rollup=DOWNLOAD_ANALYTICS),
    View("course_resource_download_stats", "course", course_resource_download_stats,
         ("course_id", "resource_id", "unique_downloaders", "total_download_count"), ("course_id", "resource_id"),
         False,
         "One row per course and downloaded resource (resource_id = the download's material_id): the distinct "
         "users who downloaded it and the number of DOWNLOAD_MATERIAL events.",
         deviation="The original grouped by resource_id, which is always null, so each course collapsed into one "
                   "row with a null resource; resource_id here is the download's material_id.",
         rollup=RESOURCE_DOWNLOAD_STATS),
    View("course_activity_summary", "course", course_activity_summary,
         ("user_id", "courses_enrolled", "total_material_accesses", "courses_with_material_access",
          "total_downloads"), ("user_id",), False,
         "One row per user with at least one enrolment, material access or download: distinct courses enrolled, "
         "ACCESS_COURSE_MATERIAL events and the distinct courses they were in, and DOWNLOAD_MATERIAL events; "
         "a part the user has no events for is 0.",
         deviation="Material accesses come from ACCESS_COURSE_MATERIAL, now produced (always 0 in the original), "
                   "and downloads are counted on material_id instead of the never-present resource_id (always 0 "
                   "in the original).",
         rollup=ACTIVITY_SUMMARY),
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
                   "counted every user, teachers included.",
         rollup=OVERALL_METRICS),
]
