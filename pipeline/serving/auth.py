"""Who is calling: the `X-API-Key` header checked against `api_keys` (`pipeline.serving.api_keys`) on the routes
that declare `caller(scope)`. 401 without a key or with an unknown one, 403 for a revoked key or a read-only key on
a write, 429 past the key's rate. Keys are looked up through the app's prepared statements and kept
CACHE_SECONDS, so a revocation takes effect within that time without a Cassandra read per request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from pipeline.serving.api_keys import ApiKey, RateLimit, Scope, key_of_row, parse_token
from pipeline.serving.problem import Problem

CACHE_SECONDS = 5.0
MAX_CACHED_KEYS = 10_000
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="api_key",
                          description="A key from `pipeline api-keys create`: lp_<key id>_<secret>.")
AUTH_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No API key, or a key this API does not know."},
    403: {"model": Problem, "description": "The key was revoked, or it may only read."},
    429: {"model": Problem, "description": "Over the key's rate (API_KEY_RATE_PER_SECOND): retry after the "
                                           "Retry-After header's seconds."},
}


class KeyRing:
    """The keys, looked up by id with `lookup` (the app's prepared statement) and kept CACHE_SECONDS; the rate."""

    def __init__(self, lookup: Callable[[str], Awaitable[list[dict]]], rate: RateLimit):
        self.lookup, self.rate = lookup, rate
        self.cache: dict[str, tuple[ApiKey | None, float]] = {}

    async def key(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self.cache.get(key_id)
        if cached and cached[1] > now:
            return cached[0]
        rows = await self.lookup(key_id)
        key = key_of_row(rows[0]) if rows else None
        if len(self.cache) >= MAX_CACHED_KEYS:  # unknown ids are cached too: callers cannot grow it without bound
            self.cache.clear()
        self.cache[key_id] = (key, now + CACHE_SECONDS)
        return key


def _refused(status: int, detail: str, **headers: str) -> HTTPException:
    return HTTPException(status_code=status, detail=detail, headers=headers or None)


def caller(scope: Scope, required: bool = True):
    """A dependency naming the calling key (None when `required` is False and no key was sent); the key's id is
    kept in `request.state.caller` for the access log."""

    async def dependency(request: Request, token: str | None = Security(KEY_HEADER)) -> ApiKey | None:
        if token is None:
            if required:
                raise _refused(401, "an API key is required: send it in the X-API-Key header",
                               **{"WWW-Authenticate": "ApiKey"})
            return None
        ring: KeyRing = request.app.state.key_ring
        parsed = parse_token(token)
        key = await ring.key(parsed[0]) if parsed else None
        if key is None or not key.matches(parsed[1]):
            raise _refused(401, "unknown API key", **{"WWW-Authenticate": "ApiKey"})
        request.state.caller = key.key_id
        if key.revoked:
            raise _refused(403, f"API key {key.key_id} was revoked")
        if not key.allows(scope):
            raise _refused(403, f"API key {key.key_id} may only read")
        if not ring.rate.allow(key.key_id):
            raise _refused(429, f"API key {key.key_id} is over {ring.rate.per_second:g} requests/s",
                           **{"Retry-After": "1"})
        return key

    return dependency
