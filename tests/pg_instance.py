"""A private PostgreSQL server for a test that must stop and start it (an outage), never the
shared one: `initdb` into a temp directory, `pg_ctl` on a free loopback port.

    with PgInstance() as pg:
        url = pg.url          # postgresql://postgres@127.0.0.1:<port>/postgres
        pg.stop()             # the outage: clients are disconnected at once
        pg.start()

The binaries are Debian's (/usr/lib/postgresql/<version>/bin), or those in $PADDOCK_PG_BIN.
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` OS user (its data
directory is handed to that user), through `runuser`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

PG_BIN_ENV = "PADDOCK_PG_BIN"
INSTALL_HINT = ("install the PostgreSQL server binaries (Debian: apt-get install postgresql-15) "
                f"or point ${PG_BIN_ENV} at a directory holding initdb and pg_ctl")


class PgInstanceError(RuntimeError):
    """The private server could not be set up, started or stopped."""


def find_bin() -> Path | None:
    """A directory with initdb and pg_ctl: $PADDOCK_PG_BIN, else Debian's newest."""
    wanted = [Path(os.environ[PG_BIN_ENV])] if os.environ.get(PG_BIN_ENV) else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name),
        reverse=True)
    for directory in wanted:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def missing_reason() -> str | None:
    """Why no private server can run here (None: it can)."""
    if find_bin() is None:
        return f"no PostgreSQL server binaries (initdb, pg_ctl): {INSTALL_HINT}"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        return "running as root needs the `postgres` OS user and `runuser` to start PostgreSQL"
    return None


class PgInstance:
    def __init__(self, *, start_timeout: float = 30.0) -> None:
        found = find_bin()
        if found is None:
            raise PgInstanceError(f"no PostgreSQL server binaries: {INSTALL_HINT}")
        self.bin = found
        self.start_timeout = start_timeout
        self.port = _free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="paddock-pg-"))
        self.data = self._dir / "data"
        self.log_file = self._dir / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:  # the server refuses root: hand the directory to `postgres`
            owner = pwd.getpwnam("postgres")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")

    def start(self) -> None:
        # commit timestamps: a test can tell whether anything was written after a moment
        options = (f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=100 -c track_commit_timestamp=on")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options,
                  "-w", "-t", str(int(self.start_timeout)), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `fast` disconnects every client at once (an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        done = subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data),
                               "status"], capture_output=True, check=False)
        return done.returncode == 0

    def written_after(self, moment: datetime) -> dict[str, int]:
        """Rows committed after `moment`, per table of the public schema (none: empty)."""
        import psycopg
        from psycopg import sql

        late: dict[str, int] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
            for table in tables:
                row = conn.execute(sql.SQL(
                    "SELECT count(*) FROM {} WHERE pg_xact_commit_timestamp(xmin) > %s").format(
                    sql.Identifier(table)), (moment,)).fetchone()
                if row and row[0]:
                    late[table] = int(row[0])
        return late

    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""

    def close(self) -> None:
        try:
            if self.data.is_dir() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bin / program), *args], capture_output=True,
                              text=True, check=False, timeout=self.start_timeout + 10)
        if done.returncode != 0:
            raise PgInstanceError(f"{program} {' '.join(args)} failed ({done.returncode}): "
                                  f"{done.stderr or done.stdout}\n{self.log()[-2000:]}")

    def __enter__(self) -> Self:
        try:
            self.init()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())
