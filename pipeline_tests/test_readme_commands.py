"""The README's Dagster commands (materialise, backfill, job execution), run verbatim as a new user would.

Each fenced `bash` block of the README that runs `.venv/bin/dagster` is run whole by bash in a scratch copy of the
checkout (its files, tracked or not ignored, with this environment's `.venv` linked in), so `$PWD/.dagster_home` and the default
lake `./.lake` are the scratch copy's. The effects checked are the ones the README says each command has.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from pipeline.services.dagster_dev import ROOT

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
DAYS = [f"2026-11-{d}" for d in range(20, 25)]  # the range the README's backfill examples use


def dagster_blocks() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if ".venv/bin/dagster " in b]


def scratch_checkout(target: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    files = [name for name in listed.stdout.split() if (ROOT / name).is_file()]
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def test_every_readme_command_that_runs_dagster_names_the_virtualenv_and_a_code_location():
    commands = [line for block in dagster_blocks() for line in block.splitlines() if "dagster " in line]
    assert commands, "the README shows no Dagster command"
    for line in commands:
        assert line.startswith((".venv/bin/dagster", "make ", "export ")), line
        if line.startswith(".venv/bin/dagster job backfill"):  # queued for the daemon: its code location
            assert " -w workspace.yaml" in line, line
        elif line.startswith(".venv/bin/dagster"):  # run in this shell
            assert " -m pipeline.definitions" in line, line


def test_the_readme_backfill_block_works_verbatim_on_a_scratch_checkout(tmp_path):
    [block] = [b for b in dagster_blocks() if "--partition-range" in b]
    checkout = scratch_checkout(tmp_path / "checkout")
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "LAKE_ROOT")}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    with dg.DagsterInstance.from_config(str(checkout / ".dagster_home")) as instance:
        def filled(*key: str) -> set[str]:
            return instance.get_materialized_partitions(dg.AssetKey(list(key)))

        for category in ("auth", "assessment", "video", "course", "profile", "notification"):
            assert set(DAYS) <= filled("cleaned", category), category
        assert set(DAYS) <= filled("views", "auth_daily_active_users")
        assert instance.get_latest_materialization_event(dg.AssetKey(["views", "video_popularity"]))
        # `dagster job backfill` only queues: one run per day, for the daemon (`make ui`) to execute.
        queued = instance.get_runs(dg.RunsFilter(job_name="refresh_learning_day"))
        assert sorted(r.tags["dagster/partition"] for r in queued) == DAYS
        assert all(r.status == dg.DagsterRunStatus.QUEUED and "dagster/backfill" in r.tags for r in queued)
