"""The project's code as one archive that a Spark session ships to its executors.

On a cluster, Python functions that run on executors (the top-N scoring's `mapInPandas`, for one) import
`pipeline`, which a worker machine does not have: a session adds this archive to `spark.submit.pyFiles`
(classic) or `addArtifacts(..., pyfile=True)` (Spark Connect), and Spark puts it on the executors'
`sys.path`. It holds what the wheel holds (the packages below), built from the code this process runs, so
the driver and the executors never run different versions (an editable install has no built wheel to ship).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
from pathlib import Path

# The project's top-level packages: what pyproject.toml's wheel target packages, and what executors import.
PROJECT_PACKAGES = ("pipeline", "assets", "resources", "sensors")


def package_files() -> list[tuple[str, Path]]:
    """(name inside the archive, file) for every file of the project's packages, caches excluded, sorted."""
    files = []
    for package in PROJECT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"the project's package {package!r} is not importable here; is the project installed?")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((f"{package}/{path.relative_to(root).as_posix()}", path))
    return sorted(files)


def code_archive(folder: Path) -> Path:
    """A zip of the project's packages in `folder`, named by its content (built once per version of the code)."""
    files = package_files()
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    archive = folder / f"learning_platform_pipeline-{digest.hexdigest()[:16]}.zip"
    if not archive.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, path in files:
                zf.write(path, name)
        partial.replace(archive)  # atomic: a concurrent session never ships half an archive
    return archive
