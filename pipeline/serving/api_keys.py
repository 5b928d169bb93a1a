"""API keys: who is calling the HTTP API, and what they may do.

A key is shown once, when it is created (`pipeline api-keys create`): `lp_<key id>_<secret>`. Cassandra's
`api_keys` table holds the key id, a SHA-256 of the secret (never the secret: a random 256-bit secret needs no
slow hash), a name, a scope (`read`, or `write`, which may also read), and when it was created and revoked. The id
names the caller in the access log; the secret is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from cassandra.cluster import Session

from pipeline.cassandra import LOCAL_REPLICATION
from pipeline.serving.cassandra_tables import CassandraTable, ensure_tables

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
API_KEYS = CassandraTable(
    "api_keys", (("key_id", "text"), ("secret_sha256", "text"), ("name", "text"), ("scope", "text"),
                 ("created_at", "timestamp"), ("revoked_at", "timestamp")),
    ("key_id",))
_TOKEN = re.compile(r"lp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None
    secret_sha256: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, needed: Scope) -> bool:
        return self.scope == "write" or needed == "read"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_sha256, _sha256(secret))


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _TOKEN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


def ensure_keys_table(session: Session, keyspace: str, replication: str = LOCAL_REPLICATION) -> None:
    ensure_tables(session, [API_KEYS], keyspace, replication)


def key_of_row(row: dict) -> ApiKey:
    return ApiKey(row["key_id"], row["name"], row["scope"], row["created_at"], row["revoked_at"],
                  row["secret_sha256"])


def create_key(session: Session, keyspace: str, name: str, scope: Scope) -> tuple[ApiKey, str]:
    """A new key, stored hashed; returns it and its token (the only time the secret exists outside the caller)."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r}: one of {', '.join(SCOPES)}")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(key_id, name, scope, datetime.now(timezone.utc), None, _sha256(secret))
    session.execute(f"INSERT INTO {keyspace}.{API_KEYS.name} (key_id, secret_sha256, name, scope, created_at) "
                    f"VALUES (%s, %s, %s, %s, %s) IF NOT EXISTS",
                    (key.key_id, key.secret_sha256, key.name, key.scope, key.created_at))
    return key, f"lp_{key_id}_{secret}"


def list_keys(session: Session, keyspace: str) -> list[ApiKey]:
    rows = session.execute(f"SELECT * FROM {keyspace}.{API_KEYS.name}")
    return sorted((key_of_row(row._asdict()) for row in rows), key=lambda key: key.created_at)


def revoke_key(session: Session, keyspace: str, key_id: str) -> bool:
    """Mark the key revoked (it stays listed); False when there is no such key."""
    applied = session.execute(f"UPDATE {keyspace}.{API_KEYS.name} SET revoked_at = %s WHERE key_id = %s IF EXISTS",
                              (datetime.now(timezone.utc), key_id)).one()
    return bool(applied[0])


class RateLimit:
    """A token bucket per key: `per_second` requests a second on average, bursts of up to `burst`."""

    def __init__(self, per_second: float, burst: int):
        self.per_second, self.burst = per_second, burst
        self.buckets: dict[str, tuple[float, float]] = {}  # key id → (tokens, when)

    def allow(self, key_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, then = self.buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        allowed = tokens >= 1.0
        self.buckets[key_id] = (tokens - 1.0 if allowed else tokens, now)
        return allowed
