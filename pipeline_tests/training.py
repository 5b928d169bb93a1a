"""A training job run once on scratch state, for the end-to-end tests of the models (recommenders, purchase).

`trained_job` sets a fresh lake and DAGSTER_HOME, a new recommendation keyspace (dropped before and after, see
`pipeline_tests.keyspaces`) and empty stream topics, runs the job once in an ephemeral instance and yields what
the tests look at; a module-scoped fixture wraps it, so every test of the module shares one training run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import build_definitions
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.settings import get_settings
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.topics import delete_topics
from sensors.tick import console_log_level

QUIET = console_log_level("WARNING")  # run config: the run's warnings only


@dataclass
class Trained:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    lake: Lake
    result: dg.ExecuteInProcessResult


@contextmanager
def trained_job(root: Path, job: str, keyspace: str, topics: list[str], run_config: dict | None = None,
                **env: str) -> Iterator[Trained]:
    """`job` run once, with the lake and DAGSTER_HOME under `root`, CASSANDRA_RECO_KEYSPACE a new `keyspace`,
    the stream `topics` deleted (the sensors' first tick then finds only what a test sends) and the environment
    variables `env` set while the context lasts; `run_config` adds to QUIET."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"LAKE_ROOT": str(root / "lake"), "DAGSTER_HOME": str(root),
                            "CASSANDRA_RECO_KEYSPACE": keyspace, **env}.items():
            patch.setenv(name, value)
        settings = get_settings()
        delete_topics(client_config(settings), topics)
        defs = build_definitions(settings)
        with scratch_keyspaces(settings, keyspace), dg.DagsterInstance.ephemeral() as instance:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance,
                                                                  run_config={**QUIET, **(run_config or {})})
            yield Trained(defs, instance, Lake.from_settings(settings), result)
