"""MOOC (the seed's BIG_MOOC data): the four CSV tables, their ids, and the Kafka enrolment records.

The data comes from the seeded generator (`pipeline.ml.mooc_data`), or from a real copy in the seed's layout
(`MOOC_DIR`). Models need integer ids: users and courses use the number in their id (`U_15773538` → 15773538,
`C_584313` → 584313), so a user or course first seen on the stream needs no lookup table. A bare number is the
same id (`15773538` in a file or a message is `U_15773538` in the lake and in Cassandra). Only `user_course.csv`
is needed to train: `course.csv` names the courses, `user.csv` and `course_map.csv` (the seed's contiguous course
index) are cleaned and kept for reference when a copy has them.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F

from pipeline.ml.csv_tables import Column, CsvTable, prefixed_id
from pipeline.ml.streams import InteractionStream

SOURCE = "mooc"

USERS = CsvTable(
    name="mooc/users",
    file_name="user.csv",
    columns=(
        Column("id", "string", name="user_id", aliases=("user_id",), prefix="U"),
        Column("name_vn", "string", name="name", required=False),
        Column("gender", "int", required=False, between=(0, 2)),
        Column("year_of_birth", "int", required=False, between=(1900, 2030)),
        Column("school", "string", required=False),
    ),
    key=("user_id",),
    optional=True,  # no model reads the learners' details
    description="MOOC learners (the seed's users table: user_id, name, gender, year_of_birth, school).",
)
COURSES = CsvTable(
    name="mooc/courses",
    file_name="course.csv",
    columns=(
        Column("id", "string", name="course_id", aliases=("course_id",), prefix="C"),
        Column("name", "string", required=False),
        Column("about", "string", required=False),
        Column("field", "string", required=False),
        Column("name_vn", "string", required=False),
        Column("about_vn", "string", required=False),
    ),
    key=("course_id",),
    optional=True,  # names only label the recommendations
    description="MOOC course catalogue (names, descriptions and subject fields, original and Vietnamese).",
)
ENROLMENTS = CsvTable(
    name="mooc/enrolments",
    file_name="user_course.csv",
    columns=(
        Column("user", "string", name="user_id", aliases=("user_id",), prefix="U"),
        Column("course", "string", name="course_id", aliases=("course_id",), prefix="C"),
        Column("enroll_time", "timestamp"),
    ),
    key=("user_id", "course_id"),
    references=(("user_id", USERS), ("course_id", COURSES)),
    description="Enrolments, one per (user, course): the first in the file when a user enrolled twice.",
)
COURSE_MAP = CsvTable(
    name="mooc/course_map",
    file_name="course_map.csv",
    columns=(Column("course_id", "string", prefix="C"), Column("mapped_id", "int", required=False)),
    key=("course_id",),
    optional=True,  # kept for reference: the models number courses by their id
    references=(("course_id", COURSES),),
    description="The seed's contiguous index of the enrolled courses (header `course_id, mapped_id`).",
)
TABLES = (USERS, COURSES, ENROLMENTS, COURSE_MAP)


def numeric_id(column: str) -> SparkColumn:
    """The number in a `U_…` / `C_…` id, as the model's integer id (null when there is none)."""
    return F.regexp_extract(F.col(column), r"^[A-Z]+_(\d{1,9})$", 1).try_cast("int")


def text_id(prefix: str, number: int) -> str:
    return f"{prefix}_{number}"


# Kafka topic user_course_interact: key = user id, value = course id, both plain UTF-8 strings (the seed's).
ENROLMENT_TOPIC = "user_course_interact"
ENROLMENT_RECORD_SCHEMA = pa.schema([("user_id", pa.string()), ("course_id", pa.string()),
                                     ("enroll_time", pa.timestamp("ms", tz="UTC"))])


def parse_enrolment(key: bytes | None, value: bytes | None, kafka_ms: int | None) -> tuple[dict | None, str | None, str]:
    """(record, None, "") for a good enrolment message, else (None, reason, detail); the Kafka timestamp is the
    enrolment time (the seed's message carries none). Never raises."""
    try:
        user = key.decode().strip() if key else ""
        course = value.decode().strip() if value else ""
    except UnicodeDecodeError as exc:
        return None, "invalid_utf8", str(exc)[:200]
    if not user:
        return None, "missing_field", "user_id (message key)"
    if not course:
        return None, "missing_field", "course_id (message value)"
    user_id, course_id = prefixed_id(user, "U"), prefixed_id(course, "C")
    if user_id is None:
        return None, "invalid_value", f"user_id={user[:50]!r}"
    if course_id is None:
        return None, "invalid_value", f"course_id={course[:50]!r}"
    when = datetime.fromtimestamp((kafka_ms or 0) / 1000, timezone.utc)
    return {"user_id": user_id, "course_id": course_id, "enroll_time": when}, None, ""


ENROLMENT_STREAM = InteractionStream(ENROLMENT_TOPIC, parse_enrolment, ENROLMENT_RECORD_SCHEMA,
                                     user_field="user_id")
