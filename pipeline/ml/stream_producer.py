"""Publish records like the seed's demo producers: movie ratings (JSON), course enrolments (key = user id,
value = course id) and purchase feature records (JSON), for existing users and items taken from the lake."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq
from confluent_kafka import Producer

from pipeline.kafka import ensure_topics
from pipeline.lake import Lake
from pipeline.ml import mooc, movielens
from pipeline.ml.csv_tables import CsvTable

Message = tuple[bytes | None, bytes | None]  # (key, value)
# One malformed record of each kind the parsers quarantine, cycled when malformed records are asked for.
BAD_RATINGS: tuple[bytes, ...] = (b"{not json", b"[1, 2]", b'{"userId": 1, "movieId": 2, "timestamp": 3}',
                                  b'{"userId": "one", "movieId": 2, "rating": 3.0, "timestamp": 3}',
                                  b'{"userId": 1, "movieId": 2, "rating": 9.5, "timestamp": 3}')
BAD_ENROLMENTS: tuple[Message, ...] = ((None, b"C_1"), (b"U_1", None), (b"student-7", b"C_1"), (b"U_1", b"course"))
BAD_FEATURES: tuple[bytes, ...] = (b"user_id,product_id", b'{"product_id": "7", "features": "1,2"}',
                                   b'{"user_id": "1", "product_id": "7", "features": "1,2,3"}',
                                   b'{"user_id": "1", "product_id": "7", "features": "' + b",".join([b"x"] * 18) + b'"}')


def _column(lake: Lake, table: CsvTable, column: str) -> np.ndarray:
    path = lake.path(*table.cleaned_parts)
    try:
        values = pq.read_table(path, columns=[column], filesystem=lake.filesystem).column(0)
    except (FileNotFoundError, OSError) as exc:
        raise RuntimeError(f"no {table.name} table in the lake: materialise cleaned/{table.name} first") from exc
    return np.unique(values.to_numpy(zero_copy_only=False))


def _malformed_slots(count: int, share: float, rng: np.random.Generator) -> set[int]:
    return set(rng.choice(count, size=int(round(count * share)), replace=False).tolist()) if share else set()


def rating_messages(lake: Lake, count: int, seed: int = 42, users: list[int] | None = None,
                    malformed_share: float = 0.0) -> list[Message]:
    """The seed's producer: a random existing user (or one of `users`) and movie, rating uniform in 0.5–5.0
    rounded to 0.1, timestamp now (epoch seconds)."""
    rng = np.random.default_rng(seed)
    user_pool = np.asarray(users) if users else _column(lake, movielens.RATINGS, "userId")
    movies = _column(lake, movielens.RATINGS, "movieId")  # the catalogue is optional: the rated movies
    bad = _malformed_slots(count, malformed_share, rng)
    now = int(time.time())
    messages = []
    for i in range(count):
        if i in bad:
            messages.append((None, BAD_RATINGS[len(messages) % len(BAD_RATINGS)]))
            continue
        record = {"userId": int(rng.choice(user_pool)), "movieId": int(rng.choice(movies)),
                  "rating": round(float(rng.uniform(0.5, 5.0)), 1), "timestamp": now}
        messages.append((str(record["userId"]).encode(), json.dumps(record).encode()))
    return messages


def enrolment_messages(lake: Lake, count: int, seed: int = 42, users: list[str] | None = None,
                       malformed_share: float = 0.0) -> list[Message]:
    """The seed's topic format: key = user id, value = course id, plain strings."""
    rng = np.random.default_rng(seed)
    # From the enrolments: the learner and course tables are optional.
    user_pool = np.asarray(users) if users else _column(lake, mooc.ENROLMENTS, "user_id")
    courses = _column(lake, mooc.ENROLMENTS, "course_id")
    bad = _malformed_slots(count, malformed_share, rng)
    return [BAD_ENROLMENTS[i % len(BAD_ENROLMENTS)] if i in bad
            else (str(rng.choice(user_pool)).encode(), str(rng.choice(courses)).encode()) for i in range(count)]


def feature_messages(lake: Lake, count: int, seed: int = 42, users: list[int] | None = None,
                     malformed_share: float = 0.0) -> list[Message]:
    """The seed's producer: feature records of candidate pairs (of `users`, else of any test user), as
    {"user_id", "product_id", "features"} with ids as strings, keyed by user."""
    from pipeline.ml.purchase.features import FEATURES
    from pipeline.ml.purchase.orders import feature_text
    from pipeline.ml.purchase.reorder_model import read_candidates

    rng = np.random.default_rng(seed)
    pool = read_candidates(lake, None if users else "test")
    if users:
        pool = pool[pool["user_id"].isin(users)]
    if pool.empty:
        raise RuntimeError(f"no candidate pairs for users {users}" if users else "the candidate set has no test users")
    picked = pool.iloc[rng.integers(0, len(pool), count)]
    bad = _malformed_slots(count, malformed_share, rng)
    messages = []
    for i, row in enumerate(picked.itertuples(index=False)):
        if i in bad:
            messages.append((None, BAD_FEATURES[len(messages) % len(BAD_FEATURES)]))
            continue
        record = {"user_id": str(row.user_id), "product_id": str(row.product_id),
                  "features": feature_text(getattr(row, name) for name in FEATURES)}
        messages.append((record["user_id"].encode(), json.dumps(record).encode()))
    return messages


@dataclass(frozen=True)
class Sent:
    topic: str
    records: int
    seconds: float


def send(kafka_config: dict[str, str], topic: str, messages: list[Message], replication_factor: int = -1) -> Sent:
    """Create the topic if needed (1 partition, as the seed's) and deliver every message, or raise."""
    ensure_topics(kafka_config, [(topic, 1, {})], replication_factor=replication_factor)
    producer = Producer({**kafka_config, "linger.ms": 5, "enable.idempotence": True})
    failures: list[str] = []
    started = time.monotonic()
    for key, value in messages:
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda err, _msg: failures.append(str(err)) if err else None)
        producer.poll(0)
    remaining = producer.flush(30)
    if failures or remaining:
        raise RuntimeError(f"{len(failures) + remaining} of {len(messages)} records to {topic} were not delivered"
                           + (f": {failures[0]}" if failures else ""))
    return Sent(topic, len(messages), time.monotonic() - started)
