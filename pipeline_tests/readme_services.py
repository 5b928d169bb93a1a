"""Services started by one of the README's blocks, verbatim, in a scratch folder: `test_auth.py` (`up --auth`) and
`test_cluster_faults.py` (`up --cluster`) run their tests against them, beside the session's own services."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.services.dagster_dev import ROOT

PIPELINE = str(ROOT / ".venv" / "bin" / "pipeline")


def readme_block(command: str) -> str:
    """The lines of the README's bash block that holds `command`, up to the one that loads the settings it wrote
    (`set -a; . ...; set +a`)."""
    [block] = [b for b in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
               if command in b]
    lines = block.splitlines()
    return "\n".join(lines[:next(i for i, line in enumerate(lines) if line.startswith("set -a")) + 1])


@contextmanager
def started_as_the_readme_says(folder: Path, command: str, where: dict[str, str],
                               timeout: float = 900) -> Iterator[tuple[subprocess.CompletedProcess, dict, Path]]:
    """Run the block in `folder` (so `.services` is a scratch SERVICES_HOME) with the settings `where` (the
    loopback addresses to use); yield its outcome, the environment it left and the home. The services are
    stopped at the end."""
    (folder / ".venv").symlink_to(ROOT / ".venv")
    env = {**{k: v for k, v in os.environ.items() if k != "SERVICES_HOME"}, **where}
    up = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block(command) + "\nenv -0 > loaded.env"],
                        env=env, cwd=folder, capture_output=True, text=True, timeout=timeout)
    home = folder / ".services"
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        loaded = dict(item.split("=", 1) for item in (folder / "loaded.env").read_text().split("\0") if "=" in item)
        yield up, loaded, home
    finally:
        subprocess.run([PIPELINE, "services", "down"], env={**env, "SERVICES_HOME": str(home)}, cwd=ROOT,
                       capture_output=True, timeout=300)
