"""Where each Kafka sensor's next landing batch starts and ends, from its cursor and the end offsets.

Shared by the learning-event sensor and the interaction-stream sensors: they never consume and never commit;
a cursor maps "topic:partition" to the next offset to schedule.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from pipeline.events.landing import OffsetRange, plan_batches
from resources import LearningEventsResource


def plan_landing(context: dg.SensorEvaluationContext, offsets: dict[str, int],
                 watermarks: dict[tuple[str, int], tuple[int, int]],
                 landed_ends: Callable[[], dict[str, int]], events: LearningEventsResource) -> list[list[OffsetRange]]:
    """Batches from each partition's cursor offset to its end offset; advances `offsets` to the end offsets.

    A partition missing from the cursor resumes after what the raw zone already holds (`landed_ends`), never
    re-landing it; a partition with nothing landed starts at `events.starting_offsets`; offsets lost to
    retention are skipped with a warning; a topic re-created behind the cursor is landed again from its start.
    Batches hold at most `events.max_events_per_run` events.
    """
    if any(f"{t}:{p}" not in offsets for t, p in watermarks):
        offsets.update({**landed_ends(), **offsets})
    next_offsets, end_offsets = {}, {}
    for (topic, partition), (low, high) in watermarks.items():
        name = f"{topic}:{partition}"
        start = offsets.get(name, low if events.starting_offsets == "earliest" else high)
        if start < low:
            context.log.warning(f"{name}: offsets {start}..{low - 1} were deleted by retention before landing")
            start = low
        elif start > high:  # offsets went backwards: the topic was re-created; land the new one from its start
            context.log.warning(f"{name}: end offset {high} is behind the cursor ({start}); the topic was "
                                f"re-created, landing it from offset {low}")
            start = low
        next_offsets[(topic, partition)], end_offsets[(topic, partition)] = start, high
        offsets[name] = high
    return plan_batches(next_offsets, end_offsets, events.max_events_per_run)


def ends_of(ranges: list[OffsetRange]) -> dict[str, int]:
    """Per topic-partition, the end of the last of these landed ranges."""
    ends: dict[str, int] = {}
    for rng in ranges:
        name = f"{rng.topic}:{rng.partition}"
        ends[name] = max(ends.get(name, 0), rng.end)
    return ends
