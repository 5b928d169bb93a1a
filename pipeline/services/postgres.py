"""PostgreSQL for Dagster's storage (runs, event log, schedules), from Debian's `postgresql` package.

`pipeline services up --postgres` starts it on 127.0.0.1:5433 (5432 is left to a system server), with its
own cluster under `<services_home>/postgres/data`, created once by `initdb` with a superuser `dagster` whose
password is generated then and kept in `<services_home>/postgres/url` (mode 600, the whole connection URL):
nothing prints it. Point Dagster at it with `export DAGSTER_POSTGRES_URL=$(cat .services/postgres/url)`;
`pipeline dagster-home` then gives the instance Postgres storage. The server refuses to run as root, so under
root it runs as the package's `postgres` user. Ready = `SELECT 1` answers in the `dagster` database.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from contextlib import closing
from pathlib import Path

from pipeline.services.jvm import HOST, JvmService
from pipeline.services.process import Progress, ServiceError, port_open, tail

PORT = 5433
USER = DATABASE = "dagster"


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise ServiceError("PostgreSQL is not installed: apt-get install postgresql (`make tools` does, as root)")
    return Path(found[-1]).parent


class Postgres(JvmService):
    """Not a JVM: the life cycle is the same (pid file, spawn, probe, stop); the launch is the server's own."""

    name = "postgres"
    ready_timeout = 60.0
    download_size = "nothing"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client (the daemon) to leave

    def __init__(self, settings):
        super().__init__(settings)
        self.url_file = self.home / "url"

    @property
    def main_class(self) -> str:  # what `is_ours` looks for in the process's arguments
        return str(server_bin() / "postgres")

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{PORT}"

    def ports(self) -> dict[int, str]:
        return {PORT: "PostgreSQL (Dagster storage)"}

    def command(self, java: str, progress: Progress) -> list[str]:
        run_as = _server_user()
        socket_dir = self.home / "run"
        socket_dir.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            self._init_cluster(run_as, progress)
        for path in (self.home, socket_dir, self.log_dir):
            shutil.chown(path, run_as.pw_uid, run_as.pw_gid)
        return [self.main_class, "-D", str(self.data_dir), "-h", HOST, "-p", str(PORT), "-k", str(socket_dir)]

    def environment(self, java: str) -> dict[str, str] | None:
        return None

    def spawn_user(self) -> int | None:
        return _server_user().pw_uid if os.geteuid() == 0 else None

    def _init_cluster(self, run_as: pwd.struct_passwd, progress: Progress) -> None:
        progress("postgres: creating the database cluster (first start only)")
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True)
        password = secrets.token_urlsafe(24)
        password_file = self.home / "initdb.password"
        password_file.write_text(password + "\n")
        for path in (self.home, self.data_dir, password_file):
            shutil.chown(path, run_as.pw_uid, run_as.pw_gid)
        log = self.log_dir / "initdb.log"
        command = [str(server_bin() / "initdb"), "-D", str(self.data_dir), "-U", USER, f"--pwfile={password_file}",
                   "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
        try:
            with open(log, "w") as out:
                code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=120,
                                      user=run_as.pw_uid if os.geteuid() == 0 else None).returncode
        finally:
            password_file.unlink(missing_ok=True)
        if code != 0:
            raise ServiceError(f"postgres: initdb failed (exit code {code}); last lines of {log}:\n{tail(log)}")
        self.url_file.write_text(f"postgresql+psycopg2://{USER}:{password}@{HOST}:{PORT}/{DATABASE}\n")
        self.url_file.chmod(0o600)

    def url(self) -> str | None:
        """The SQLAlchemy URL of this server (None before its first start)."""
        return self.url_file.read_text().strip() if self.url_file.exists() else None

    def libpq_url(self) -> str | None:
        url = self.url()
        return libpq(url) if url else None

    def probe(self, timeout: float) -> bool:
        url = self.libpq_url()
        if url is None or not port_open(HOST, PORT):
            return False
        import psycopg2

        seconds = max(1, int(timeout))
        try:
            with closing(psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=seconds)) as server:
                server.autocommit = True  # CREATE DATABASE runs outside a transaction
                with server.cursor() as cursor:
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                    if cursor.fetchone() is None:
                        cursor.execute(f"CREATE DATABASE {DATABASE}")
            with closing(psycopg2.connect(url, connect_timeout=seconds)) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone() == (1,)
        except psycopg2.Error:
            return False


def libpq(url: str) -> str:
    """A SQLAlchemy `postgresql+psycopg2://` URL as libpq (psycopg2.connect) reads it."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def _server_user() -> pwd.struct_passwd:
    """Who runs the server: this user, or under root the package's `postgres` (the server refuses root)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError("postgres: running as root needs the `postgres` user that Debian's postgresql package "
                           "creates (apt-get install postgresql)") from None
