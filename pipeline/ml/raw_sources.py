"""The raw zone of a CSV source: a real copy when one is configured, otherwise the seeded generator's files."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pipeline.lake import Lake

Report = TypeVar("Report")


class SourceFilesMissing(FileNotFoundError):
    pass


def copy_or_generate(lake: Lake, source: str, file_names: Sequence[str], copy_from: str | None,
                     generate: Callable[[str], Report]) -> Report | None:
    """`raw/<source>/<file>` for each of `file_names`: copied from the folder `copy_from` when it is set (None is
    returned), else written by `generate(folder)` into a temporary folder (its report is returned)."""
    if copy_from:
        folder = Path(copy_from)
        missing = [name for name in file_names if not (folder / name).is_file()]
        if missing:
            raise SourceFilesMissing(f"{folder} lacks {', '.join(missing)}: a {source} copy needs "
                                     f"{', '.join(file_names)}")
        for name in file_names:
            lake.write_file(folder / name, "raw", source, name)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        report = generate(tmp)
        for name in file_names:
            lake.write_file(Path(tmp) / name, "raw", source, name)
    return report
