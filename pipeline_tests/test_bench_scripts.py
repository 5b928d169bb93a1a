"""Every benchmark starts as the README runs it (`python bench/<name>.py`): its --help prints its docstring.

The scripts' folder leads sys.path, where bench/pipeline.py once shadowed the `pipeline` package for every
other script; this catches that kind of breakage without running a benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if 'if __name__ == "__main__":' in p.read_text())


def test_every_script_is_found():
    assert {"landing.py", "pipeline.py", "views.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_starts_and_prints_its_help(script):
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                          timeout=120, cwd=BENCH.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Benchmark" in done.stdout or "benchmark" in done.stdout, done.stdout[:500]
