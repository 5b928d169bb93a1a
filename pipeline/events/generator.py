"""Seeded generator of learning events in the original producer's shapes (seed-facts §1).

Same id pools, category weights, value sets and Kafka keys as the original producer, with the
deviations listed in catalogue.py. Events are correlated where the views need it (a LOGOUT closes the
user's open session, submissions follow first views, clicks follow sent notifications), and timestamps
are spread over the last `days` days instead of "now", so a history can be produced in one go.

With `malformed_fraction`, some records are broken in one known way each, and the record says which
quarantine reason it must get; with `duplicate_fraction`, some records are sent twice.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from pipeline.events.catalogue import CATEGORIES, REQUIRED_ENVELOPE, Category, EventType, FieldType, Reason

STUDENTS = [f"SV{i:03d}" for i in range(1, 51)]
TEACHERS = [f"GV{i:03d}" for i in range(1, 11)]
COURSES = [f"COURSE{i:03d}" for i in range(1, 21)]
ASSIGNMENTS = [f"ASM{i:03d}" for i in range(1, 101)]
QUIZZES = [f"QUIZ{i:03d}" for i in range(1, 51)]
VIDEOS = [f"VID{i:03d}" for i in range(1, 201)]
ITEMS = [f"ITEM{i}" for i in range(1, 501)]
MATERIALS = [f"MAT{i}" for i in range(1, 201)]
WATCH_SECONDS = ([30, 60, 120, 300, 600, 1200, 1800], [10, 15, 20, 25, 15, 10, 5])
MAJORS = ["Computer Science", "Data Science", "Software Engineering", "Information Technology", "Cybersecurity"]
SEMESTERS = ["Fall 2025", "Spring 2026", "Summer 2026"]
MALFORMED_KINDS = (
    Reason.INVALID_JSON,
    Reason.MISSING_FIELD,
    Reason.WRONG_TYPE,
    Reason.UNKNOWN_EVENT_TYPE,
    Reason.FUTURE_TIMESTAMP,
)


@dataclass(frozen=True)
class GeneratedRecord:
    topic: str
    key: bytes
    value: bytes
    event_id: str
    event_time: datetime
    expected_reason: Reason | None = None  # None: the record is valid
    duplicate: bool = False  # a second copy of the record before it


class EventGenerator:
    def __init__(
        self,
        seed: int = 42,
        days: float = 1.0,
        end: datetime | None = None,
        source_timezone: str = "Asia/Ho_Chi_Minh",
        timestamp_format: str = "mixed",
        malformed_fraction: float = 0.0,
        duplicate_fraction: float = 0.0,
    ):
        if timestamp_format not in ("legacy", "iso", "mixed"):
            raise ValueError("timestamp_format must be legacy, iso or mixed")
        if not 0 <= malformed_fraction < 1 or not 0 <= duplicate_fraction < 1:
            raise ValueError("fractions must be in [0, 1)")
        self.rng = random.Random(seed)
        self.end = (end or datetime.now(timezone.utc)).replace(microsecond=0)
        self.days = days
        self.tz = ZoneInfo(source_timezone)
        self.timestamp_format = timestamp_format
        self.malformed_fraction = malformed_fraction
        self.duplicate_fraction = duplicate_fraction
        rng = self.rng
        # Stable catalogue facts the original drew independently per event; fixing them makes views coherent.
        self.assignment_course = {a: rng.choice(COURSES) for a in ASSIGNMENTS}
        self.assignment_type = {a: rng.choice(("homework", "project", "essay", "lab")) for a in ASSIGNMENTS}
        self.video_course = {v: rng.choice(COURSES) for v in VIDEOS}
        self.material_type = {m: rng.choice(("pdf", "slides", "video", "code", "dataset")) for m in MATERIALS}
        self.open_sessions: dict[str, str] = {}
        self.viewed: dict[str, list[str]] = {}
        self.sent: dict[str, list[str]] = {}

    # -- public -------------------------------------------------------------------------------------

    def generate(self, count: int) -> Iterator[GeneratedRecord]:
        """`count` records (duplicates included) with event times spread evenly over the window."""
        start = self.end - timedelta(days=self.days)
        step = (self.end - start) / max(count, 1)
        weights = [c.weight for c in CATEGORIES]
        emitted = 0
        while emitted < count:
            when = start + step * (emitted + self.rng.random())
            category = self.rng.choices(CATEGORIES, weights)[0]
            record = self._record(category, when)
            yield record
            emitted += 1
            if emitted < count and record.expected_reason is None and self.rng.random() < self.duplicate_fraction:
                yield GeneratedRecord(**{**record.__dict__, "duplicate": True})
                emitted += 1

    # -- one record ---------------------------------------------------------------------------------

    def _record(self, category: Category, when: datetime) -> GeneratedRecord:
        rng = self.rng
        event_type = rng.choice(category.event_types)
        if event_type.name == "LOGOUT" and self.open_sessions and rng.random() < 0.9:
            user = rng.choice(list(self.open_sessions))  # most logouts close a session that is open
        else:
            students = event_type.roles == ("student",) or (len(event_type.roles) == 2 and rng.random() < 0.85)
            user = rng.choice(STUDENTS if students else TEACHERS)
        role = "student" if user in STUDENTS else "teacher"
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event = {
            "event_id": event_id,
            "event_category": category.upper,
            "event_type": event_type.name,
            "user_id": user,
            "role": role,
            "timestamp": self._timestamp(when),
            **self._fields(event_type.name, user, role, when),
        }
        if rng.random() < 0.5:
            event["device_type"] = rng.choice(("desktop", "mobile", "tablet"))
        reason = None
        if rng.random() < self.malformed_fraction:
            reason = rng.choice(MALFORMED_KINDS)
            value = self._break(event, category, event_type, reason, when)
        else:
            value = json.dumps(event).encode()
        return GeneratedRecord(category.topic, user.encode(), value, event_id, when, reason)

    def _timestamp(self, when: datetime) -> str:
        local = when.astimezone(self.tz)
        iso = self.timestamp_format == "iso" or (self.timestamp_format == "mixed" and self.rng.random() < 0.5)
        return local.isoformat(timespec="seconds") if iso else local.strftime("%Y-%m-%d %H:%M:%S")

    def _break(self, event: dict, category: Category, event_type: EventType, reason: Reason, when: datetime) -> bytes:
        rng = self.rng
        if reason is Reason.INVALID_JSON:
            text = json.dumps(event)
            return text[: rng.randint(1, len(text) - 1)].encode()
        if reason is Reason.MISSING_FIELD:
            del event[rng.choice([*REQUIRED_ENVELOPE, *event_type.required])]
        elif reason is Reason.WRONG_TYPE:
            name = rng.choice(["user_id", *event_type.required])
            wrong_int = category.field_by_name[name].type is not FieldType.INT
            event[name] = rng.randint(1, 99999) if wrong_int else "not-a-number"
        elif reason is Reason.UNKNOWN_EVENT_TYPE:
            event["event_type"] = "TELEPORTED"
        elif reason is Reason.FUTURE_TIMESTAMP:
            event["timestamp"] = self._timestamp(when + timedelta(days=rng.randint(30, 3650)))
        return json.dumps(event).encode()

    def _fields(self, event_type: str, user: str, role: str, when: datetime) -> dict:
        rng = self.rng
        if event_type == "LOGIN":
            session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            self.open_sessions[user] = session
            return {"session_id": session}
        if event_type == "LOGOUT":
            session = self.open_sessions.pop(user, None) or str(uuid.UUID(int=rng.getrandbits(128), version=4))
            return {"session_id": session}
        if event_type == "SIGNUP":
            return {"email": f"{user.lower()}@university.edu", "registration_source": rng.choice(("web", "mobile", "admin"))}
        if event_type == "VIEW_ASSIGNMENT_FIRST_TIME":
            asm = rng.choice(ASSIGNMENTS)
            self.viewed.setdefault(user, []).append(asm)
            return {"assignment_id": asm, "course_id": self.assignment_course[asm], "assignment_type": self.assignment_type[asm]}
        if event_type in ("SUBMIT_ASSIGNMENT", "EDIT_ASSIGNMENT"):
            seen = self.viewed.get(user)
            asm = rng.choice(seen) if seen and rng.random() < 0.8 else rng.choice(ASSIGNMENTS)
            suffix = "_v2" if event_type == "EDIT_ASSIGNMENT" else ""
            return {"assignment_id": asm, "course_id": self.assignment_course[asm],
                    "file_url": f"s3://submissions/{user}_{asm}{suffix}.pdf"}
        if event_type == "DELETE_ASSIGNMENT":
            return {"assignment_id": rng.choice(ASSIGNMENTS)}
        if event_type == "QUIZ_COMPLETED":
            return {"quiz_id": rng.choice(QUIZZES), "course_id": rng.choice(COURSES), "correct_answers": rng.randint(5, 50)}
        if event_type in ("VIEW_STUDENT_WORK", "GRADE_ASSIGNMENT", "ASSIGNMENT_REOPENED"):
            asm = rng.choice(ASSIGNMENTS)
            fields = {"student_id": rng.choice(STUDENTS), "assignment_id": asm}
            if event_type == "ASSIGNMENT_REOPENED":
                due = when.astimezone(self.tz) + timedelta(days=rng.randint(2, 7))
                return {**fields, "new_due_date": due.strftime("%Y-%m-%d 23:59:00")}
            fields["course_id"] = self.assignment_course[asm]
            if event_type == "GRADE_ASSIGNMENT":
                fields["score"] = rng.randint(40, 100)
                if rng.random() < 0.3:
                    fields["feedback"] = rng.choice(("Well done", "Needs more detail", "Late but complete"))
            return fields
        if event_type == "VIDEO_WATCHED":
            video = rng.choice(VIDEOS)
            return {"video_id": video, "course_id": self.video_course[video],
                    "session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "watch_duration_seconds": rng.choices(*WATCH_SECONDS)[0]}
        if event_type == "COURSE_CREATED":
            course = rng.choice(COURSES)
            return {"course_id": course, "course_name": f"Course {course[-3:]}", "course_code": f"CS{rng.randint(100, 499)}",
                    "semester": rng.choice(SEMESTERS), "max_students": rng.choice((30, 50, 100, 150))}
        if event_type in ("COURSE_DELETED", "COURSE_VIEW", "COURSE_ENROLLED", "COURSE_DROPPED"):
            return {"course_id": rng.choice(COURSES)}
        if event_type == "ITEM_CLICK":
            return {"course_id": rng.choice(COURSES), "item_id": rng.choice(ITEMS),
                    "item_type": rng.choice(("lesson", "module", "quiz", "assignment", "discussion"))}
        if event_type in ("DOWNLOAD_MATERIAL", "ACCESS_COURSE_MATERIAL"):
            material = rng.choice(MATERIALS)
            fields = {"course_id": rng.choice(COURSES), "material_id": material}
            if event_type == "ACCESS_COURSE_MATERIAL":
                fields["material_type"] = self.material_type[material]
            return fields
        if event_type == "CREATE_PROFILE":
            age = rng.randint(18, 60)
            return {"email": f"{user.lower()}@university.edu", "full_name": f"User {user}",
                    "date_of_birth": f"{when.year - age}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "gender": rng.choice(("male", "female", "other")), "phone_number": f"+84{rng.randint(10**8, 10**9 - 1)}",
                    "major": rng.choice(MAJORS) if role == "student" else None,
                    "enrollment_year": rng.randint(2018, 2024) if role == "student" else None}
        if event_type == "UPDATE_PROFILE":
            changed = rng.sample(["phone_number", "email", "address", "emergency_contact"], rng.randint(1, 2))
            fields: dict = {"updated_fields": changed}
            if "email" in changed:
                fields |= {"old_email": f"{user.lower()}@university.edu", "new_email": f"{user.lower()}@mail.example"}
            if "phone_number" in changed:
                fields |= {"old_phone": f"+84{rng.randint(10**8, 10**9 - 1)}", "new_phone": f"+84{rng.randint(10**8, 10**9 - 1)}"}
            return fields
        if event_type == "PROFILE_PICTURE_UPDATED":
            return {"picture_url": f"s3://profiles/{user}_avatar.jpg"}
        if event_type == "PASSWORD_CHANGED":
            return {"change_reason": rng.choice(("forgot", "periodic", "security"))} if rng.random() < 0.5 else {}
        if event_type.startswith("NOTIFICATION_"):
            # Opens and clicks mostly refer to a notification sent to the same user before.
            sent = self.sent.get(user)
            if event_type != "NOTIFICATION_SENT" and sent and rng.random() < 0.7:
                return dict(rng.choice(sent))
            notification = {
                "notification_id": f"NOTIF{rng.randint(1, 10000)}",
                "notification_type": rng.choice(("assignment_reminder", "grade_posted", "course_announcement",
                                                 "deadline_approaching", "new_message")),
                "channel": rng.choice(("email", "push", "sms", "in_app")),
                "related_object_id": rng.choice(ASSIGNMENTS + COURSES),
            }
            if event_type == "NOTIFICATION_SENT":
                self.sent.setdefault(user, []).append(notification)
            return dict(notification)
        raise ValueError(f"no generator for event type {event_type}")
