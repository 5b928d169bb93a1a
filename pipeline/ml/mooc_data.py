"""A seeded generator of the MOOC source (the seed's `user.csv`, `course.csv`, `user_course.csv`, `course_map.csv`).

The seed's files are not redistributable (and two were never published), so this writes files with their
columns and shapes: ids like `U_15773538` and `C_584313`, mostly blank `school` and `year_of_birth`, more
catalogue courses than enrolled ones, power-law course popularity (the seed: 5 to 18,379 users per course),
about 20 enrolments per user with increasing enrolment times. Enrolments follow topics (the seed's courses
have 119 LDA topics): each user prefers one to three, so a collaborative-filtering model has something real to
learn and must beat a popularity ranking. A small share of malformed and duplicate rows exercises the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SEED_TOPICS = 119
FIELDS = ("Khoa học máy tính", "Toán học", "Kinh tế học", "Ngôn ngữ học", "Vật lý", "Y học", "Lịch sử", "Triết học",
          "Giáo dục", "Quản trị kinh doanh", "Kỹ thuật điện", "Hóa học")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Quân", "Trang", "Tú")
MALFORMED_KINDS = ("missing_user", "missing_course", "bad_timestamp", "unknown_course")


@dataclass(frozen=True)
class MoocSize:
    users: int
    courses: int  # courses with enrolments (the seed: 2,828)
    catalogue_courses: int  # rows of course.csv (the seed: 3,738)
    enrolments: int

    @classmethod
    def seed(cls) -> MoocSize:
        return cls(99_970, 2_828, 3_738, 1_996_390)

    @classmethod
    def scaled(cls, users: int) -> MoocSize:
        full = cls.seed()
        ratio = users / full.users
        courses = max(50, round(full.courses * ratio))
        return cls(users, courses, max(courses + 1, round(courses * full.catalogue_courses / full.courses)),
                   round(full.enrolments * ratio))


@dataclass(frozen=True)
class MoocReport:
    folder: Path
    rows: dict[str, int]
    malformed: dict[str, int] = field(default_factory=dict)  # kind -> injected rows (incl. "duplicate")


def _ids(rng: np.random.Generator, prefix: str, count: int, low: int, high: int) -> np.ndarray:
    numbers = rng.choice(np.arange(low, high), size=count, replace=False)
    return np.array([f"{prefix}_{n}" for n in numbers])


def topics_for(size: MoocSize) -> int:
    """The seed's 119 topics at full size; fewer when scaled down, so a topic keeps about a dozen courses."""
    return max(5, min(SEED_TOPICS, size.courses // 12))


def _enrolments(rng: np.random.Generator, size: MoocSize, course_topic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(user index, course index) pairs: 80% from the user's preferred topics, the rest by global popularity."""
    popularity = rng.pareto(1.1, size.courses) + 1.0  # heavy tail, like the seed's 5..18,379 users per course
    global_p = popularity / popularity.sum()
    topics_count = topics_for(size)
    by_topic = [np.flatnonzero(course_topic == t) for t in range(topics_count)]
    per_user = np.maximum(3, rng.lognormal(np.log(size.enrolments / size.users) - 0.3, 0.75, size.users).astype(int))
    users, courses = [], []
    for user, count in enumerate(per_user):
        count = min(count, size.courses // 3)  # leaves room for 100 sampled negatives at demo sizes
        topics = [t for t in rng.choice(topics_count, size=rng.integers(1, 4), replace=False) if len(by_topic[t])]
        pool = np.concatenate([by_topic[t] for t in topics]) if topics else np.arange(size.courses)
        local = popularity[pool] / popularity[pool].sum()
        from_topics = rng.choice(pool, size=min(len(pool), int(round(count * 0.8))), replace=False, p=local)
        rest = rng.choice(size.courses, size=count, replace=False, p=global_p)
        chosen = pd.unique(np.concatenate([from_topics, rest]))[:count]
        users.append(np.full(len(chosen), user))
        courses.append(rng.permutation(chosen))
    return np.concatenate(users), np.concatenate(courses)


def generate_mooc(out_dir: str | Path, size: MoocSize, seed: int = 42, malformed_share: float = 0.002,
                  duplicate_share: float = 0.001) -> MoocReport:
    rng = np.random.default_rng(seed)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)

    user_ids = _ids(rng, "U", size.users, 1_000_000, 99_999_999)
    users = pd.DataFrame({
        "id": user_ids,
        "name_vn": [f"{a} {b} {c}" for a, b, c in zip(rng.choice(FAMILY, size.users), rng.choice(MIDDLE, size.users),
                                                       rng.choice(GIVEN, size.users), strict=True)],
        "gender": rng.choice(["0.0", "1.0", "2.0"], size.users, p=[0.3, 0.45, 0.25]),
        "year_of_birth": np.where(rng.random(size.users) < 0.991, "",
                                  rng.integers(1960, 2008, size.users).astype(str)),
        "school": np.where(rng.random(size.users) < 0.79, "",
                           np.char.add("Đại học ", rng.choice(np.array(FIELDS), size.users))),
    })
    course_ids = _ids(rng, "C", size.catalogue_courses, 100_000, 999_999)
    topic = rng.integers(0, topics_for(size), size.catalogue_courses)
    fields = [f'["{FIELDS[t % len(FIELDS)]}", "{FIELDS[(t * 7 + 3) % len(FIELDS)]}"]' for t in topic]
    courses = pd.DataFrame({
        "id": course_ids, "name": [f"课程 {t}-{i}" for i, t in enumerate(topic)], "about": "",
        "field": fields, "name_vn": [f"Khóa học {FIELDS[t % len(FIELDS)]} {i}" for i, t in enumerate(topic)],
        "about_vn": [f"Chủ đề {t}" for t in topic],
    })
    # The first `size.courses` catalogue rows can be enrolled in; the others never are (as in the seed).
    user_index, course_index = _enrolments(rng, size, topic[: size.courses])
    # Every enrolled course has at least 5 users (the seed's minimum): top up thin courses with random users.
    counts = np.bincount(course_index, minlength=size.courses)
    for course in np.flatnonzero(counts < 5):
        taken = set(user_index[course_index == course])
        extra = [u for u in rng.choice(size.users, 12, replace=False) if u not in taken][: 5 - counts[course]]
        user_index = np.append(user_index, extra)
        course_index = np.append(course_index, np.full(len(extra), course))
    # Times increase per user: a start in 2019–2020, then gaps of hours to weeks.
    order = np.lexsort((rng.random(len(user_index)), user_index))
    user_index, course_index = user_index[order], course_index[order]
    gaps = rng.exponential(5 * 86_400, len(user_index))
    start = pd.Timestamp("2019-01-01").value // 10**9 + rng.integers(0, 540 * 86_400, size.users)
    offsets = pd.Series(gaps).groupby(user_index).cumsum().to_numpy()
    times = pd.to_datetime(start[user_index] + offsets.astype(np.int64), unit="s")
    enrolments = pd.DataFrame({"user": user_ids[user_index], "course": course_ids[course_index],
                               "enroll_time": times.strftime("%Y-%m-%d %H:%M:%S")})

    malformed = {kind: int(round(len(enrolments) * malformed_share / len(MALFORMED_KINDS)))
                 for kind in MALFORMED_KINDS}
    bad_rows = []
    for kind, count in malformed.items():
        sample = enrolments.sample(count, random_state=int(rng.integers(2**31))).copy()
        if kind == "missing_user":
            sample["user"] = ""
        elif kind == "missing_course":
            sample["course"] = ""
        elif kind == "bad_timestamp":
            sample["enroll_time"] = np.where(np.arange(count) % 2 == 0, "2020-13-45 99:00:00", "yesterday")
        else:
            sample["course"] = [f"C_{n}" for n in rng.integers(1_000_000, 9_999_999, count)]
        bad_rows.append(sample)
    duplicates = enrolments.sample(int(round(len(enrolments) * duplicate_share)), random_state=seed)
    malformed["duplicate"] = len(duplicates)
    enrolments = pd.concat([enrolments, *bad_rows, duplicates])
    enrolments = enrolments.iloc[rng.permutation(len(enrolments))]

    enrolled = pd.unique(course_ids[np.sort(np.unique(course_index))])
    course_map = pd.DataFrame({"course_id": enrolled, " mapped_id": np.arange(len(enrolled))})
    frames = {"user.csv": users, "course.csv": courses, "user_course.csv": enrolments, "course_map.csv": course_map}
    for name, frame in frames.items():
        frame.to_csv(folder / name, index=False)
    return MoocReport(folder, {name: len(frame) for name, frame in frames.items()}, malformed)
