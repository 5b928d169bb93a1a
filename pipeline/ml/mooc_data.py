"""A seeded generator of the MOOC source: the seed's `user.csv`, `course.csv`, `user_course.csv`, `course_map.csv`.

The seed's files are not redistributable (two were never published), so this writes files with their names,
headers and shapes: ids like `U_15773538` and `C_584313`, mostly blank `school` and `year_of_birth`, more
catalogue courses than enrolled ones, heavy-tailed course popularity (the seed: 5 to 18,379 users per course,
mean about 706) and about 20 enrolments per user at increasing times over 2019-2021.

Enrolments carry structure a collaborative-filtering model can learn: every enrolled course has one of the
seed's 119 topics (fewer when scaled down), every user prefers one to three topics and takes 80% of their
courses from them, the rest by global popularity. A popularity ranking cannot see the topics, so a model that
does beats it on the seed's leave-last-out protocol. A small share of malformed and duplicate enrolment rows
exercises the quarantine; the report says how many of each kind were injected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd

SEED_TOPICS = 119
# Lognormal popularity of topics, and of courses inside a topic: at the seed's size the courses get from 5-15
# up to 14,000-28,000 users (by seed) around the mean of 706, like the seed's 5 to 18,379.
TOPIC_SIGMA, COURSE_SIGMA = 1.2, 1.2
# Users favour topics by the square root of their popularity: popular topics have more fans, but not so many
# that popularity alone would tell a user's courses.
FAVOURITE_EXPONENT = 0.5
TOPIC_SHARE = 0.8  # of a user's enrolments drawn from their favourite topics
MIN_USERS_PER_COURSE = 5  # the seed's minimum
MIN_PER_USER = 3  # the seed's split needs a training, a validation and a test course per user
# The evaluation ranks a user's held-out course against 100 sampled courses outside their history, so a
# history stays 110 courses short of the catalogue, and scaled sizes keep at least 150 enrolled courses.
NEGATIVE_ROOM = 110
MIN_COURSES = 150
MALFORMED_KINDS = ("missing_user", "missing_course", "bad_timestamp", "unknown_course")
BAD_TIMESTAMPS = ("2020-13-45 99:00:00", "yesterday")
FIRST_DAY, DAYS = np.datetime64("2019-01-01", "D"), 3 * 365 + 1  # enrolments fall in 2019-2021

SUBJECTS = (  # (Vietnamese field, Chinese subject)
    ("Khoa học máy tính", "计算机科学"), ("Toán học", "数学"), ("Kinh tế học", "经济学"), ("Ngôn ngữ học", "语言学"),
    ("Vật lý", "物理学"), ("Y học", "医学"), ("Lịch sử", "历史学"), ("Triết học", "哲学"), ("Giáo dục", "教育学"),
    ("Quản trị kinh doanh", "工商管理"), ("Kỹ thuật điện", "电气工程"), ("Hóa học", "化学"), ("Sinh học", "生物学"),
    ("Văn học", "文学"), ("Luật học", "法学"), ("Nghệ thuật", "艺术学"))
LEVELS = (("Nhập môn", "导论"), ("Cơ sở", "基础"), ("Nguyên lý", "原理"), ("Nâng cao", "进阶"), ("Thực hành", "实践"),
          ("Chuyên đề", "专题"))
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Gia")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Quân", "Trang",
         "Tú", "Vy", "Khoa", "Long")
SCHOOLS = ("Đại học Bách khoa Hà Nội", "Đại học Quốc gia Hà Nội", "Đại học Quốc gia TP.HCM", "Đại học Huế",
           "Đại học Kinh tế Quốc dân", "Đại học Sư phạm Hà Nội", "Đại học Cần Thơ", "Đại học Đà Nẵng",
           "Học viện Bưu chính Viễn thông")


@dataclass(frozen=True)
class MoocSize:
    """How much to generate; `seed()` is the seed's size, `scaled(users)` keeps its proportions."""

    users: int
    courses: int  # courses with enrolments (the seed: 2,828)
    catalogue_courses: int  # rows of course.csv (the seed: 3,738); the others have no enrolments
    enrolments: int  # clean rows of user_course.csv

    def __post_init__(self) -> None:
        fewest = MIN_PER_USER * self.users + MIN_USERS_PER_COURSE * self.courses  # reserved rows, at worst
        most = (self.courses - NEGATIVE_ROOM) * self.users
        if self.users < MIN_USERS_PER_COURSE or self.courses > self.catalogue_courses or not (
                fewest <= self.enrolments <= most):
            raise ValueError(f"cannot generate {self}: needs {fewest:,} to {most:,} enrolments and no more "
                             "courses than the catalogue has")

    @classmethod
    def seed(cls) -> MoocSize:
        return cls(99_970, 2_828, 3_738, 1_996_390)

    @classmethod
    def scaled(cls, users: int) -> MoocSize:
        full = cls.seed()
        courses = max(MIN_COURSES, round(full.courses * users / full.users))
        return cls(users, courses, round(courses * full.catalogue_courses / full.courses),
                   round(full.enrolments * users / full.users))


@dataclass(frozen=True)
class MoocReport:
    """What `generate_mooc` wrote."""

    folder: Path
    rows: dict[str, int]  # file name -> data rows written
    malformed: dict[str, int]  # kind (MALFORMED_KINDS and "duplicate") -> injected rows of user_course.csv


def topics_for(size: MoocSize) -> int:
    """The seed's 119 topics, fewer when scaled down: a topic keeps at least 12 courses, yet small catalogues
    still have enough topics (12 at 150 courses) for a user's favourites to stand out from the rest."""
    return min(SEED_TOPICS, size.courses // 12)


def _rank_in_group(rows: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of the sorted `rows`."""
    sizes = np.bincount(rows)
    return np.arange(len(rows)) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _first_distinct(wanted: np.ndarray, n_values: int, draw: Callable[[np.ndarray, int], np.ndarray],
                    rows: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, value) pairs with `wanted[row]` distinct values in [0, n_values) per row: the given pairs, then the
    first new distinct values of the stream `draw(rows, attempt)`. Keeping the first distinct draws of a
    weighted stream is weighted sampling without replacement, here for all rows at once."""
    done, wanted = [], wanted.copy()
    for attempt in count():
        have = np.bincount(rows, minlength=len(wanted))
        finished = (have >= wanted)[rows]
        done.append((rows[finished], values[finished]))
        rows, values = rows[~finished], values[~finished]
        wanted[have >= wanted] = 0  # finished rows are set aside
        short = np.flatnonzero(have < wanted)
        if not len(short):
            break
        new_rows = np.repeat(short, 2 * (wanted - have)[short] + 4)
        order = np.argsort(np.concatenate([rows, new_rows]), kind="stable")  # earlier draws stay first
        rows = np.concatenate([rows, new_rows])[order]
        values = np.concatenate([values, draw(new_rows, attempt)])[order]
        _, first = np.unique(rows * n_values + values, return_index=True)
        first.sort()
        rows, values = rows[first], values[first]
        keep = _rank_in_group(rows) < wanted[rows]
        rows, values = rows[keep], values[keep]
    return np.concatenate([r for r, _ in done]), np.concatenate([v for _, v in done])


def _fit_total(rng: np.random.Generator, counts: np.ndarray, low: np.ndarray, high: np.ndarray,
               total: int) -> np.ndarray:
    """`counts` moved by ones, at random users and within [low, high], until they sum to `total`."""
    while gap := total - int(counts.sum()):
        room = np.flatnonzero(counts < high if gap > 0 else counts > low)
        counts[rng.choice(room, min(abs(gap), len(room)), replace=False)] += np.sign(gap)
    return counts


def _enrolments(rng: np.random.Generator, size: MoocSize) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user index, course index) of every enrolment, and each enrolled course's topic."""
    n_topics = topics_for(size)
    course_topic = rng.permutation(np.arange(size.courses) % n_topics)  # every topic has courses
    topic_weight = rng.lognormal(0.0, TOPIC_SIGMA, n_topics)
    within = rng.lognormal(0.0, COURSE_SIGMA, size.courses)
    weight = topic_weight[course_topic] * within / np.bincount(course_topic, within, n_topics)[course_topic]
    # One to three distinct favourite topics per user: a weighted sample without replacement (Gumbel top-3).
    keys = FAVOURITE_EXPONENT * np.log(topic_weight) + rng.gumbel(size=(size.users, n_topics))
    top = np.argpartition(keys, -3, axis=1)[:, -3:]
    user_topics = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)
    topic_count = rng.integers(1, 4, size.users)

    # Every course first gets five distinct users among its topic's fans (any users if it has too few).
    fan = np.arange(3) < topic_count[:, None]
    fans = np.nonzero(fan)[0][np.argsort(user_topics[fan], kind="stable")]  # users grouped by topic
    topic_fans = np.bincount(user_topics[fan], minlength=n_topics)
    few = topic_fans[course_topic] < MIN_USERS_PER_COURSE
    start = np.where(few, len(fans), (np.cumsum(topic_fans) - topic_fans)[course_topic])
    length = np.where(few, size.users, topic_fans[course_topic])
    pool = np.concatenate([fans, np.arange(size.users)])
    none = np.empty(0, np.int64)
    reserved_course, reserved_user = _first_distinct(
        np.full(size.courses, MIN_USERS_PER_COURSE), size.users,
        lambda courses, _: pool[start[courses] + (rng.random(len(courses)) * length[courses]).astype(np.int64)],
        none, none)

    # Enrolments per user: lognormal around the mean, then moved to the exact total.
    reserved = np.bincount(reserved_user, minlength=size.users)
    low = np.maximum(MIN_PER_USER, reserved)
    high = np.maximum(size.courses - NEGATIVE_ROOM, low)
    raw = rng.lognormal(0.0, 0.8, size.users)  # median about 14 at a mean of 20, a tail into the hundreds
    counts = np.clip(np.round(raw * size.enrolments / raw.sum()), low, high).astype(np.int64)
    counts = _fit_total(rng, counts, low, high, size.enrolments)

    # Courses sorted by topic: a uniform point in a topic's stretch of the cumulative weight (or in the whole
    # of it) is a popularity-weighted course of that topic (or of all).
    by_topic = np.argsort(course_topic, kind="stable")
    cumulative = np.cumsum(weight[by_topic])
    topic_high = cumulative[np.cumsum(np.bincount(course_topic, minlength=n_topics)) - 1]
    topic_low = np.concatenate([[0.0], topic_high[:-1]])

    def courses_for(users: np.ndarray, attempt: int) -> np.ndarray:
        if attempt >= 8:  # the few users still short (a small favourite topic) finish from all courses alike
            return rng.integers(0, size.courses, len(users))
        topic = user_topics[users, (rng.random(len(users)) * topic_count[users]).astype(np.int64)]
        from_topic = rng.random(len(users)) < TOPIC_SHARE
        low_end = np.where(from_topic, topic_low[topic], 0.0)
        high_end = np.where(from_topic, topic_high[topic], cumulative[-1])
        point = low_end + rng.random(len(users)) * (high_end - low_end)
        return by_topic[np.minimum(np.searchsorted(cumulative, point, side="right"), size.courses - 1)]

    users, courses = _first_distinct(counts, size.courses, courses_for, reserved_user, reserved_course)
    return users, courses, course_topic


def _enrol_times(rng: np.random.Generator, users: np.ndarray, n_users: int) -> np.ndarray:
    """Seconds since FIRST_DAY, strictly increasing per user (rows sorted by user) in a window of 2019-2021."""
    per_user = np.bincount(users, minlength=n_users)
    total = DAYS * 86_400
    start = rng.random(n_users) * 0.8 * total
    length = (total - start - per_user) * rng.uniform(0.05, 1.0, n_users)
    rank = _rank_in_group(users)
    # Sorted fractions of the window, plus the rank so that no two enrolments of a user share a second.
    fraction = np.sort(rng.random(len(users)) + users) - users  # sorts within each user's [u, u + 1)
    return np.floor(start[users] + fraction * length[users]).astype(np.int64) + rank


def _as_text(seconds: np.ndarray) -> np.ndarray:
    """`2020-07-27 15:52:39` for seconds since FIRST_DAY: a date looked up per day and a clock per second of
    the day, several times faster than formatting two million timestamps one by one."""
    day, second = np.divmod(seconds, 86_400)
    dates = np.char.add(np.datetime_as_string(FIRST_DAY + np.arange(DAYS)), " ").astype(object)
    clock = np.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)],
                     dtype=object)
    return dates[day] + clock[second]


def _users(rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    """Vietnamese names, gender codes, and a year of birth and a school for the seed's few who gave one."""
    n = len(ids)

    def pick(options: tuple[str, ...]) -> pd.Series:
        return pd.Series(np.array(options)[rng.integers(0, len(options), n)])

    def blank(values: np.ndarray, share: float) -> np.ndarray:  # exactly the seed's share, at random rows
        values = values.astype(object)
        values[rng.permutation(n)[: round(n * share)]] = ""
        return values

    years = np.clip(np.round(rng.normal(1996, 7, n)), 1950, 2010).astype(int)
    return pd.DataFrame({
        "id": ids,
        "name_vn": (pick(FAMILY) + " " + pick(MIDDLE) + " " + pick(GIVEN)).to_numpy(),
        "gender": rng.choice(["0.0", "1.0", "2.0"], n, p=[0.4, 0.35, 0.25]),  # the spec gives only the codes
        "year_of_birth": blank(np.char.add(years.astype(str), ".0"), 99_100 / 99_970),  # floats, as pandas wrote
        "school": blank(pick(SCHOOLS).to_numpy(), 79_031 / 99_970),
    })


def _courses(rng: np.random.Generator, ids: np.ndarray, topic: np.ndarray) -> pd.DataFrame:
    """Names and descriptions from the topic's subject (a topic belongs to one subject) and a level; a second
    subject field on some courses."""
    n = len(ids)
    subject, level = topic % len(SUBJECTS), rng.integers(0, len(LEVELS), n)
    second = rng.integers(0, len(SUBJECTS), n)
    second = np.where((rng.random(n) < 0.4) & (second != subject), second, -1)
    number = pd.Series(subject * len(LEVELS) + level).groupby(subject * len(LEVELS) + level).cumcount() + 1
    rows = []
    for s, lv, extra, k in zip(subject, level, second, number, strict=True):
        (vn, cn), (level_vn, level_cn) = SUBJECTS[s], LEVELS[lv]
        fields = [vn] + ([SUBJECTS[extra][0]] if extra >= 0 else [])
        rows.append((f"{cn}{level_cn}（{k}）", f"本课程讲授{cn}的{level_cn}知识。",
                     json.dumps(fields, ensure_ascii=False),
                     f"{level_vn} {vn} ({k})", f"Khóa học {level_vn.lower()} về {vn.lower()}."))
    return pd.DataFrame(rows, columns=["name", "about", "field", "name_vn", "about_vn"]).assign(id=ids)[
        ["id", "name", "about", "field", "name_vn", "about_vn"]]


def _injected(rows: int, share: float) -> int:
    """Rows to inject for a share: at least one of a kind asked for, so each kind reaches the quarantine."""
    return max(1, round(rows * share)) if share > 0 else 0


def _inject(rng: np.random.Generator, clean: pd.DataFrame, per_kind: int, duplicates: int,
            unknown_ids: np.ndarray) -> tuple[pd.DataFrame, dict[str, int]]:
    """`clean` with malformed rows (one defect each, made from distinct clean rows) and exact duplicates
    inserted at random places, and the count of each kind."""
    kinds = np.repeat([*MALFORMED_KINDS, "duplicate"], [per_kind] * len(MALFORMED_KINDS) + [duplicates])
    bad = clean.iloc[rng.choice(len(clean), len(kinds), replace=False)].reset_index(drop=True)
    bad.loc[kinds == "missing_user", "user"] = ""
    bad.loc[kinds == "missing_course", "course"] = ""
    bad.loc[kinds == "bad_timestamp", "enroll_time"] = np.resize(BAD_TIMESTAMPS, per_kind)
    bad.loc[kinds == "unknown_course", "course"] = unknown_ids
    unique = ~bad.duplicated().to_numpy()  # two blanked users can leave the same course and second behind
    bad, kinds = bad[unique], kinds[unique]
    place = np.concatenate([np.arange(len(clean)), rng.integers(0, len(clean) + 1, len(bad))])
    frame = pd.concat([clean, bad], ignore_index=True).iloc[np.argsort(place, kind="stable")]
    return frame, {kind: int((kinds == kind).sum()) for kind in (*MALFORMED_KINDS, "duplicate")}


def generate_mooc(out_dir: str | Path, size: MoocSize, seed: int = 42, malformed_share: float = 0.002,
                  duplicate_share: float = 0.001) -> MoocReport:
    """Write the four CSV files into `out_dir`; the same seed gives byte-identical files. `malformed_share` of
    the clean enrolment count is injected as malformed rows, split evenly across MALFORMED_KINDS, and
    `duplicate_share` as exact copies of clean rows. `course_map.csv` numbers the enrolled courses 0..n-1 in
    order of their first enrolment (ties by id)."""
    rng = np.random.default_rng(seed)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    per_kind = _injected(size.enrolments, malformed_share / len(MALFORMED_KINDS))

    user_ids = np.char.add("U_", (rng.choice(99_000_000, size.users, replace=False) + 1_000_000).astype(str))
    # Catalogue and unknown course ids in one draw, so that no unknown id is in the catalogue.
    numbers = rng.choice(900_000, size.catalogue_courses + per_kind, replace=False) + 100_000
    course_ids = np.char.add("C_", numbers.astype(str))
    users, courses, course_topic = _enrolments(rng, size)
    enrolled = rng.choice(size.catalogue_courses, size.courses, replace=False)  # catalogue row of each course
    topic = rng.integers(0, topics_for(size), size.catalogue_courses)
    topic[enrolled] = course_topic

    shuffled = rng.permutation(len(users))  # then sorted by user: each user's courses in random order
    order = shuffled[np.argsort(users[shuffled], kind="stable")]
    users, courses = users[order], enrolled[courses[order]]
    times = _enrol_times(rng, users, size.users)
    # Python strings looked up from object arrays: far faster to build and write than numpy unicode columns.
    clean = pd.DataFrame({"user": user_ids.astype(object)[users], "course": course_ids.astype(object)[courses],
                          "enroll_time": _as_text(times)})
    enrolments, malformed = _inject(rng, clean, per_kind, _injected(size.enrolments, duplicate_share),
                                    course_ids[size.catalogue_courses:])
    first_time = np.full(size.catalogue_courses, np.iinfo(np.int64).max)
    np.minimum.at(first_time, courses, times)
    mapped = enrolled[np.lexsort((numbers[enrolled], first_time[enrolled]))]

    frames = {
        "user.csv": _users(rng, user_ids),
        "course.csv": _courses(rng, course_ids[: size.catalogue_courses], topic),
        "user_course.csv": enrolments,
        "course_map.csv": pd.DataFrame({"course_id": course_ids[mapped], " mapped_id": np.arange(len(mapped))}),
    }
    for name, frame in frames.items():
        frame.to_csv(folder / name, index=False, encoding="utf-8", lineterminator="\n")
    return MoocReport(folder, {name: len(frame) for name, frame in frames.items()}, malformed)
