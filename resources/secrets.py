"""Secret fields of the resources, read the same way inside and outside a run."""

from __future__ import annotations

import dagster as dg


def revealed(value: str | None) -> str | None:
    """A secret field's value. Inside a run Dagster has resolved the field already; outside one (`pipeline demo`,
    the CLI, a script) it still holds the `EnvVar`, a str whose text is the variable's *name*, not its value."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value
