"""What the benchmarks share: their command line, timing a step, a scratch folder for the lake (and a Dagster
home), and the local services with a Spark session. Scratch Cassandra keyspaces come from
`pipeline_tests.keyspaces`, the helper the tests use.

The benchmarks run as scripts (`python bench/<name>.py`), so they import this module as `common`. It imports
nothing heavy at the top (the serving benchmark's load generator imports it in a process of its own), and
nothing that reads the settings before a benchmark has set its environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

# The scripts run as `python bench/<name>.py`, so this folder leads sys.path, where bench/pipeline.py would shadow
# the `pipeline` package: look here last. Every script imports this module before anything of `pipeline`.
_HERE = Path(__file__).resolve().parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from pipeline.services.dagster_dev import BIN, ROOT  # noqa: E402 - after the sys.path fix above

T = TypeVar("T")


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, whose help is its module docstring (usage, steps, targets) as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def timed(label: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """`fn(*args, **kwargs)`, printing the seconds it took after `label`."""
    started = time.monotonic()
    value = fn(*args, **kwargs)
    print(f"  {label}: {time.monotonic() - started:.1f}s", flush=True)
    return value


@contextmanager
def scratch_folder(prefix: str, keep: bool, dagster_home: bool = False,
                   **env: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary folder holding the lake (LAKE_ROOT) and, with `dagster_home`, a DAGSTER_HOME with the
    project's dagster.yaml. These variables and `env` are set in this process's environment (so enter this
    before reading the settings); the folder and the whole environment, for the processes a benchmark starts,
    are yielded.
    The folder is removed at the end unless `keep`; after a failure it is kept, for the logs in it."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    env = {"LAKE_ROOT": str(work / "lake"), **env}
    if dagster_home:
        env["DAGSTER_HOME"] = str(work / "dagster_home")
    os.environ.update(env)
    if dagster_home:
        subprocess.run([str(BIN / "pipeline"), "dagster-home"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    try:
        yield work, dict(os.environ)
    except BaseException:
        print(f"kept {work} after the failure", flush=True)
        raise
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


def services_and_spark():
    """Start the local Kafka and Cassandra (unless they run already), and return the settings, the lake and a
    Spark session built as the assets' resources build them."""
    from pipeline import services
    from pipeline.lake import Lake
    from pipeline.settings import get_settings
    from resources import build_resources

    print(services.up(), flush=True)
    settings = get_settings()
    return settings, Lake.from_settings(settings), build_resources(settings)["spark"].get_session()
