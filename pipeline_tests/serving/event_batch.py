"""A batch for `POST /events`: valid events (one without an id) and one broken event per rule, with the verdicts
the landing's rules give them, written out by hand."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

NOW = datetime.now(timezone.utc).replace(microsecond=0)
LOGIN = {"event_id": str(uuid.uuid4()), "event_category": "AUTH", "event_type": "LOGIN", "user_id": "S1",
         "role": "student", "timestamp": NOW.isoformat(), "session_id": str(uuid.uuid4())}
VIDEO_WITHOUT_ID = {"event_category": "VIDEO", "event_type": "VIDEO_WATCHED", "user_id": "S2", "role": "student",
                    "timestamp": (NOW - timedelta(minutes=5)).isoformat(), "video_id": "VID001",
                    "course_id": "COURSE001", "session_id": str(uuid.uuid4()), "watch_duration_seconds": 300}
BATCH = [
    LOGIN,
    {**LOGIN, "event_id": str(uuid.uuid4()), "event_category": "GAME"},  # no such category
    {k: v for k, v in LOGIN.items() if k != "user_id"} | {"event_id": str(uuid.uuid4())},
    VIDEO_WITHOUT_ID,
    {**LOGIN, "event_id": str(uuid.uuid4()), "timestamp": (NOW + timedelta(days=1)).isoformat()},
    {**LOGIN, "event_id": str(uuid.uuid4()), "user_id": 5},
]
EXPECTED = [("accepted", None), ("rejected", "invalid_value"), ("rejected", "missing_field"), ("accepted", None),
            ("rejected", "future_timestamp"), ("rejected", "wrong_type")]
