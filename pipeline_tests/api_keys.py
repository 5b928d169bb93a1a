"""API keys for the tests and the benchmarks (bench/ imports it too), created as `pipeline api-keys create` does,
in the settings' analytics keyspace."""

from __future__ import annotations

from pipeline.serving.api_keys import Scope, create_key, ensure_keys_table
from pipeline.settings import Settings
from resources import build_resources


def new_key(settings: Settings, scope: Scope = "write", name: str = "test") -> dict[str, str]:
    """The headers of a request sent with a new key."""
    with build_resources(settings)["cassandra"].session() as session:
        ensure_keys_table(session, settings.cassandra_analytics_keyspace)
        _, token = create_key(session, settings.cassandra_analytics_keyspace, name, scope)
    return {"X-API-Key": token}
