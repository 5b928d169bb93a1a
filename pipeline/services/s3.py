"""A local S3 server for an s3:// lake: moto's standalone server (PyPI `moto[s3]`), on 127.0.0.1:9000.

`pipeline services up --s3` starts it and creates the bucket `lake`; then

    export LAKE_ROOT=s3://lake/<prefix> S3_ENDPOINT_URL=http://127.0.0.1:9000 \
           AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local

puts the whole lake (Spark through S3A, the landing through pyarrow) on it. Moto speaks the S3 REST API
with the semantics the lake depends on (multipart uploads that stay invisible until completed, which the S3A
magic committer relies on; listings; deletes) and takes any keys. It keeps objects in memory: stopping it
empties the lake, so it is for tests and trials; MinIO (docker-compose.yml) or S3 itself is for keeping data.
Why moto rather than MinIO or S3Proxy: it installs from PyPI into the project's environment, with no binary
download and no JVM of its own.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.services.jvm import HOST, JvmService
from pipeline.services.process import Progress, cmdline

PORT = 9000
BUCKET = "lake"
ENDPOINT = f"http://{HOST}:{PORT}"
# The settings that point the lake's clients at this server (moto accepts any key pair), LAKE_ROOT aside.
SETTINGS = {"S3_ENDPOINT_URL": ENDPOINT, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class S3Server(JvmService):
    """Not a JVM: the life cycle is the same (pid file, spawn, probe, stop); the launch is moto's own."""

    name = "s3"
    main_class = "moto.server"
    ready_timeout = 60.0
    download_size = "nothing"

    @property
    def endpoint(self) -> str:
        return ENDPOINT

    def ports(self) -> dict[int, str]:
        return {PORT: "S3 (moto)"}

    def command(self, java: str, progress: Progress) -> list[str]:
        return [sys.executable, "-m", self.main_class, "-H", HOST, "-p", str(PORT)]

    def is_ours(self, pid: int) -> bool:
        """Moto takes no data folder to name in its arguments: ours runs in our home folder."""
        try:
            return self.main_class in cmdline(pid) and Path(f"/proc/{pid}/cwd").resolve() == self.home
        except OSError:
            return False

    def probe(self, timeout: float) -> bool:
        """The server answers and has the bucket `lake` (created here the first time)."""
        url = f"{ENDPOINT}/{BUCKET}"
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            return True
        except urllib.error.HTTPError as missing:
            if missing.code != 404:
                return False
        except OSError:
            return False
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="PUT"), timeout=timeout).close()
            return True
        except OSError:
            return False


def usage() -> str:
    """The settings that put the lake on the local S3 server, for `pipeline services up --s3` to print."""
    settings = " ".join(f"{name}={value}" for name, value in SETTINGS.items())
    return (f"put the lake on the local S3 server (in memory: `services down` empties it):\n"
            f"  export LAKE_ROOT=s3://{BUCKET}/lake {settings}\n"
            f"(start the Spark Connect server after these are set: it reads the S3 settings when it starts)")
