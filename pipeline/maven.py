"""Jars from Maven Central: a resolution-only POM's runtime classpath, downloaded into ~/.m2 once.

`classpath()` runs `mvn dependency:build-classpath` only when the POM changed since the last resolution (or a
cached jar is gone) and otherwise reads the classpath it wrote beside its cache stamp: after the first run
nothing is downloaded and Maven does not start. The local services' POMs and the S3A connector's use it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

MVN_BUILD_CLASSPATH = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath"


class MavenError(RuntimeError):
    """Maven is missing or could not resolve a POM."""


def classpath(pom: Path, cache_dir: Path, label: str, download_size: str,
              progress: Callable[[str], object] = print, java_home: str | None = None) -> list[str]:
    """The runtime jars (paths in ~/.m2) of `pom`, cached as `cache_dir/classpath.txt`."""
    cached, stamp = cache_dir / "classpath.txt", cache_dir / "classpath.pom.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if cached.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        jars = cached.read_text().strip().split(os.pathsep)
        if jars and all(Path(jar).is_file() for jar in jars):
            return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError(f"{label}: Maven (mvn) is not on PATH; it resolves the jars (apt-get install maven)")
    progress(f"{label}: resolving jars with Maven (the first run downloads ~{download_size} into ~/.m2)")
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    fresh, log = cached.with_suffix(".new"), cache_dir / "maven.log"
    command = [mvn, "-B", "-q", "-f", str(pom), MVN_BUILD_CLASSPATH,
               f"-Dmdep.outputFile={fresh}", "-Dmdep.includeScope=runtime"]
    env = {**os.environ, **({"JAVA_HOME": java_home} if java_home else {})}
    with open(log, "w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=1800).returncode
    if code != 0 or not fresh.exists():
        lines = log.read_text(errors="replace").splitlines()[-20:]
        raise MavenError(f"{label}: Maven could not resolve the jars of {pom} (exit code {code}); "
                         f"last lines of {log}:\n" + "\n".join(lines))
    fresh.replace(cached)
    stamp.write_text(digest)
    jars = cached.read_text().strip().split(os.pathsep)
    progress(f"{label}: {len(jars)} jars resolved in {time.monotonic() - started:.1f} s")
    return jars
