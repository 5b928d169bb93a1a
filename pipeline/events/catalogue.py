"""The learning-event catalogue: 6 categories, every event type, its fields and the rules they must satisfy.

One declarative table (`CATEGORIES`) is the source of truth for the Kafka topics, the generator, the
Spark schema of each cleaned table and the validation rules applied while cleaning (seed-facts §1).

Deviations from the original producer, made on purpose so that every analytic view has data:
- every event carries `event_id` (a UUID) and `role`; the original had neither on course events;
- COURSE adds ACCESS_COURSE_MATERIAL (`material_id`, `material_type`), which the original views read but
  the original producer never sent;
- GRADE_ASSIGNMENT sometimes carries `feedback` and PASSWORD_CHANGED a `change_reason` (both in the spec,
  never produced by the original).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import pyarrow as pa
from pyspark.sql import types as T


class FieldType(Enum):
    STRING = "string"
    INT = "int"
    STRING_ARRAY = "array<string>"

    @property
    def spark_type(self) -> T.DataType:
        return {
            FieldType.STRING: T.StringType(),
            FieldType.INT: T.LongType(),
            FieldType.STRING_ARRAY: T.ArrayType(T.StringType()),
        }[self]

    def accepts(self, value: object) -> bool:
        """Whether a parsed JSON value has this type (JSON numbers with a fraction are not ints)."""
        if self is FieldType.STRING:
            return isinstance(value, str)
        if self is FieldType.INT:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, list) and all(isinstance(v, str) for v in value)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType = FieldType.STRING
    minimum: int | None = None  # inclusive lower bound for INT fields
    maximum: int | None = None  # inclusive upper bound for INT fields
    allowed: tuple[str, ...] | None = None  # enumerated values for STRING fields
    description: str = ""  # what the field holds, for the column schema of the cleaned tables

    @property
    def described_with_rule(self) -> str:
        """The description followed by the values the field may take."""
        if self.allowed:
            return f"{self.description} One of {', '.join(self.allowed)}."
        if self.minimum is not None and self.maximum is not None:
            return f"{self.description} Between {self.minimum} and {self.maximum}."
        if self.minimum is not None:
            return f"{self.description} At least {self.minimum}."
        return self.description

    def breaks_rule(self, value: object) -> bool:
        """Whether a value of the right type is outside the field's range or allowed values."""
        return (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.allowed is not None and value not in self.allowed)
        )


@dataclass(frozen=True)
class EventType:
    name: str
    required: tuple[str, ...] = ()  # fields (beyond the envelope) every event of this type must carry
    optional: tuple[str, ...] = ()  # fields the type may carry
    roles: tuple[str, ...] = ("student", "teacher")


@dataclass(frozen=True)
class Category:
    name: str  # lower-case: cleaned table and asset name
    topic: str
    weight: int  # the original producer's category mix (seed-facts §1.0)
    partitions: int  # topic partitions (the spec's numbers)
    fields: tuple[Field, ...]  # every field of this category beyond the envelope
    event_types: tuple[EventType, ...]
    topic_config: tuple[tuple[str, str], ...] = ()

    @property
    def upper(self) -> str:
        return self.name.upper()

    @cached_property
    def field_by_name(self) -> dict[str, Field]:
        return {f.name: f for f in (*ENVELOPE, *self.fields)}

    @cached_property
    def event_type_by_name(self) -> dict[str, EventType]:
        return {e.name: e for e in self.event_types}

    @property
    def cleaned_schema(self) -> T.StructType:
        """Schema of `cleaned/<category>` (the `date` partition column lives in the folder name)."""
        return T.StructType(
            [
                T.StructField("event_id", T.StringType(), False),
                T.StructField("event_category", T.StringType(), False),
                T.StructField("event_type", T.StringType(), False),
                T.StructField("user_id", T.StringType(), False),
                T.StructField("role", T.StringType(), True),
                T.StructField("event_time", T.TimestampType(), False),
                *[T.StructField(f.name, f.type.spark_type, True) for f in (*OPTIONAL_ENVELOPE, *self.fields)],
                *LINEAGE_FIELDS,
            ]
        )

    def cleaned_column_descriptions(self) -> dict[str, str]:
        """A description of every column of `cleaned_schema`, in order: a category field's says which event
        types carry it (it is null on the others)."""
        described = {f.name: f.described_with_rule for f in (*ENVELOPE, *OPTIONAL_ENVELOPE)}
        described |= {f.name: f"{f.described_with_rule} {self._carried_by(f.name)}" for f in self.fields}
        described |= ADDED_COLUMN_DESCRIPTIONS
        return {name: described[name] for name in self.cleaned_schema.fieldNames()}

    def _carried_by(self, field: str) -> str:
        required = [e.name for e in self.event_types if field in e.required]
        optional = [e.name for e in self.event_types if field in e.optional]
        if len(required) == len(self.event_types):
            return "Carried by every event."
        text = f"Carried by {', '.join(required)}" if required else ""
        if optional:
            text += f"; optional on {', '.join(optional)}" if text else f"Optional on {', '.join(optional)}"
        return f"{text}."


ROLES = ("student", "teacher")
STUDENT = ("student",)
TEACHER = ("teacher",)

# Envelope fields every event carries. `event_id` may be absent in events from the original producer;
# cleaning then derives a deterministic id from the payload (see cleaning.py).
REQUIRED_ENVELOPE = ("event_category", "event_type", "user_id", "timestamp")
ENVELOPE = (
    Field("event_id", description="The event's UUID, unique in the table; an event of the original producer, which "
                                  "has none, gets one derived from its record (MD5 of the Kafka value)."),
    Field("event_category", description="The event's category in upper case, the same in every row of a table."),
    Field("event_type", description="What happened: one of the category's event types."),
    Field("user_id", description="The user who acted, a student or a teacher (see role)."),
    Field("role", allowed=ROLES, description="The acting user's role; null when the event carried none."),
    Field("timestamp"),  # in the cleaned tables as event_time
)
# Optional common fields of the spec; the original producer never sent them.
OPTIONAL_ENVELOPE = (
    Field("device_type", allowed=("desktop", "mobile", "tablet"),
          description="The device the event came from; null when not sent."),
    Field("ip_address", description="The client's IP address; null when not sent."),
)
# Where each cleaned row came from, kept for lineage and deterministic de-duplication.
LINEAGE_FIELDS = [
    T.StructField("kafka_topic", T.StringType(), False),
    T.StructField("kafka_partition", T.IntegerType(), False),
    T.StructField("kafka_offset", T.LongType(), False),
    T.StructField("kafka_timestamp", T.TimestampType(), True),
]
# The cleaned columns that cleaning derives rather than copies from a field of the event.
ADDED_COLUMN_DESCRIPTIONS = {
    "event_time": "When the event happened, as a UTC instant: its timestamp as sent (ISO-8601 with an offset, or a "
                  "bare local time in EVENTS_SOURCE_TIMEZONE). Its UTC day is the row's date partition.",
    "kafka_topic": "The Kafka topic the record was read from.",
    "kafka_partition": "The topic partition the record was read from.",
    "kafka_offset": "The record's offset in its partition; of several records with one event_id, the first in "
                    "(topic, partition, offset) order is kept.",
    "kafka_timestamp": "The Kafka record's timestamp (UTC): when it was produced or appended to the topic.",
}

NOTIFICATION_FIELDS = ("notification_id", "notification_type", "channel", "related_object_id")

CATEGORIES: tuple[Category, ...] = (
    Category(
        name="auth",
        topic="auth_topic",
        weight=15,
        partitions=3,
        fields=(
            Field("session_id", description="The login session: a LOGOUT carries the session_id of its LOGIN."),
            Field("email", description="The new user's email address."),
            Field("registration_source", allowed=("web", "mobile", "admin"), description="Where the user signed up."),
        ),
        event_types=(
            EventType("LOGIN", required=("session_id",)),
            EventType("LOGOUT", required=("session_id",)),
            EventType("SIGNUP", required=("email", "registration_source")),
        ),
    ),
    Category(
        name="assessment",
        topic="assessment_topic",
        weight=25,
        partitions=5,
        fields=(
            Field("assignment_id", description="The assignment."),
            Field("quiz_id", description="The completed quiz."),
            Field("course_id", description="The course of the assignment or quiz."),
            Field("assignment_type", allowed=("homework", "project", "essay", "lab"),
                  description="The assignment's type."),
            Field("file_url", description="Where the submitted or edited file is stored."),
            Field("correct_answers", FieldType.INT, minimum=0,
                  description="Correct answers in the quiz: a count, not a percentage (quiz lengths are unknown)."),
            Field("score", FieldType.INT, minimum=0, maximum=100, description="The grade given, in points."),
            Field("feedback", description="The teacher's comment on the grade."),
            Field("student_id", description="The student whose work the teacher (user_id) viewed, graded or "
                                            "reopened."),
            Field("new_due_date", description="The reopened assignment's new deadline as sent, text "
                                              "'yyyy-MM-dd HH:mm:ss' in the producer's local time (not converted)."),
        ),
        event_types=(
            EventType("VIEW_ASSIGNMENT_FIRST_TIME", ("assignment_id", "course_id", "assignment_type"), roles=STUDENT),
            EventType("SUBMIT_ASSIGNMENT", ("assignment_id", "course_id", "file_url"), roles=STUDENT),
            EventType("EDIT_ASSIGNMENT", ("assignment_id", "course_id", "file_url"), roles=STUDENT),
            EventType("DELETE_ASSIGNMENT", ("assignment_id",), roles=STUDENT),
            EventType("QUIZ_COMPLETED", ("quiz_id", "course_id", "correct_answers"), roles=STUDENT),
            EventType("VIEW_STUDENT_WORK", ("student_id", "assignment_id", "course_id"), roles=TEACHER),
            EventType("GRADE_ASSIGNMENT", ("student_id", "assignment_id", "course_id", "score"),
                      optional=("feedback",), roles=TEACHER),
            EventType("ASSIGNMENT_REOPENED", ("student_id", "assignment_id", "new_due_date"), roles=TEACHER),
        ),
    ),
    Category(
        name="video",
        topic="video_topic",
        weight=35,
        partitions=5,
        fields=(
            Field("video_id", description="The watched video."),
            Field("course_id", description="The course of the video."),
            Field("session_id", description="The viewing session (its own id, not a login session's)."),
            Field("watch_duration_seconds", FieldType.INT, minimum=0,
                  description="How long the video was watched in this event, in seconds."),
        ),
        event_types=(
            EventType("VIDEO_WATCHED", ("video_id", "course_id", "session_id", "watch_duration_seconds"),
                      roles=STUDENT),
        ),
    ),
    Category(
        name="course",
        topic="course_topic",
        weight=18,
        partitions=3,
        fields=(
            Field("course_id", description="The course."),
            Field("course_name", description="The new course's name."),
            Field("course_code", description="The new course's code (e.g. CS101)."),
            Field("semester", description="The semester the new course runs in (e.g. Fall 2025)."),
            Field("max_students", FieldType.INT, minimum=1, description="The new course's enrolment capacity."),
            Field("item_id", description="The clicked course item."),
            Field("item_type", allowed=("lesson", "module", "quiz", "assignment", "discussion"),
                  description="The clicked item's type."),
            Field("material_id", description="The downloaded or accessed course material."),
            Field("material_type", allowed=("pdf", "slides", "video", "code", "dataset"),
                  description="The accessed material's type."),
        ),
        event_types=(
            EventType("COURSE_CREATED", ("course_id", "course_name", "course_code", "semester", "max_students"),
                      roles=TEACHER),
            EventType("COURSE_DELETED", ("course_id",), roles=TEACHER),
            EventType("COURSE_VIEW", ("course_id",), roles=STUDENT),
            EventType("ITEM_CLICK", ("course_id", "item_id", "item_type"), roles=STUDENT),
            EventType("DOWNLOAD_MATERIAL", ("course_id", "material_id"), roles=STUDENT),
            EventType("ACCESS_COURSE_MATERIAL", ("course_id", "material_id", "material_type"), roles=STUDENT),
            EventType("COURSE_ENROLLED", ("course_id",), roles=STUDENT),
            EventType("COURSE_DROPPED", ("course_id",), roles=STUDENT),
        ),
    ),
    Category(
        name="profile",
        topic="profile_topic",
        weight=3,
        partitions=2,
        fields=(
            Field("email", description="The profile's email address."),
            Field("full_name", description="The user's full name."),
            Field("date_of_birth", description="The user's date of birth as sent, text 'yyyy-MM-dd'."),
            Field("gender", allowed=("male", "female", "other"), description="The user's gender."),
            Field("phone_number", description="The user's phone number."),
            Field("major", description="The student's major (students only)."),
            Field("enrollment_year", FieldType.INT, minimum=1900, maximum=2100,
                  description="The year the student enrolled at the university."),
            Field("updated_fields", FieldType.STRING_ARRAY, description="Names of the profile fields the update "
                                                                         "changed (e.g. email, phone_number)."),
            Field("old_email", description="The email address before the update."),
            Field("new_email", description="The email address after the update."),
            Field("old_phone", description="The phone number before the update."),
            Field("new_phone", description="The phone number after the update."),
            Field("picture_url", description="Where the new profile picture is stored."),
            Field("change_reason", description="Why the password was changed (e.g. forgot, periodic)."),
        ),
        event_types=(
            EventType("CREATE_PROFILE", ("email", "full_name", "date_of_birth", "gender", "phone_number"),
                      optional=("major", "enrollment_year")),
            EventType("UPDATE_PROFILE", ("updated_fields",),
                      optional=("old_email", "new_email", "old_phone", "new_phone")),
            EventType("PROFILE_PICTURE_UPDATED", ("picture_url",)),
            EventType("PASSWORD_CHANGED", optional=("change_reason",)),
        ),
        # The spec's compacted, keep-forever profile topic.
        topic_config=(("cleanup.policy", "compact"), ("retention.ms", "-1")),
    ),
    Category(
        name="notification",
        topic="notification_topic",
        weight=4,
        partitions=2,
        fields=(
            Field("notification_id", description="The notification: its send, opens and clicks share this id."),
            Field("notification_type", allowed=("assignment_reminder", "grade_posted", "course_announcement",
                                                "deadline_approaching", "new_message"),
                  description="What the notification is about."),
            Field("channel", allowed=("email", "push", "sms", "in_app"),
                  description="How the notification was delivered."),
            Field("related_object_id", description="The assignment or course the notification refers to."),
        ),
        event_types=(
            EventType("NOTIFICATION_SENT", NOTIFICATION_FIELDS),
            EventType("NOTIFICATION_OPENED", NOTIFICATION_FIELDS),
            EventType("NOTIFICATION_CLICKED", NOTIFICATION_FIELDS),
        ),
    ),
)

CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}
CATEGORY_BY_TOPIC = {c.topic: c for c in CATEGORIES}
TOPICS = tuple(c.topic for c in CATEGORIES)


class Reason(str, Enum):
    """Why a record went to quarantine. The first failing rule, in this order, is recorded.

    ROLE_NOT_ALLOWED is checked last: it needs a known event type and a role among ROLES (any other role is an
    INVALID_VALUE), so it only ever names a well-formed event sent by the wrong kind of user (seed-facts §1.1-§1.6,
    "Who"). An event without a role (the original course events had none) is not checked.
    """

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    CATEGORY_MISMATCH = "category_mismatch"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    WRONG_TYPE = "wrong_type"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    TIMESTAMP_BEFORE_START = "timestamp_before_start"
    INVALID_VALUE = "invalid_value"
    ROLE_NOT_ALLOWED = "role_not_allowed"


QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("kafka_topic", T.StringType(), False),
        T.StructField("kafka_partition", T.IntegerType(), False),
        T.StructField("kafka_offset", T.LongType(), False),
        T.StructField("kafka_timestamp", T.TimestampType(), True),
        T.StructField("kafka_key", T.StringType(), True),
        T.StructField("value", T.StringType(), True),
        T.StructField("reason", T.StringType(), False),
        T.StructField("reason_detail", T.StringType(), True),
        # True when the record is filed under its event's day, false when under its Kafka timestamp's day.
        T.StructField("dated_by_event", T.BooleanType(), False),
    ]
)


def to_arrow(schema: T.StructType) -> pa.Schema:
    """The Arrow schema of a Spark schema, for files written without Spark and read back with it."""
    def convert(data_type: T.DataType) -> pa.DataType:
        if isinstance(data_type, T.ArrayType):
            return pa.list_(convert(data_type.elementType))
        return {
            T.StringType: pa.string(),
            T.LongType: pa.int64(),
            T.IntegerType: pa.int32(),
            T.BooleanType: pa.bool_(),
            T.TimestampType: pa.timestamp("us", tz="UTC"),
        }[type(data_type)]

    return pa.schema([pa.field(f.name, convert(f.dataType), nullable=f.nullable) for f in schema.fields])
