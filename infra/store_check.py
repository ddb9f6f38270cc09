"""Before a command opens the event log: is it there, is it an event log, can it be reached?

Read commands must create nothing (no empty `paddock.db`, no tables); a file that is not a SQLite
database, a directory or an unreadable file is named as such; PostgreSQL problems are named at
once (the connection pool would retry for seconds, then only say it got no connection).
Messages carry the store URL with its password masked (`redact_url`), never the password.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config import redact_url
from infra.store import store_settings

if TYPE_CHECKING:
    from psycopg import Connection

SQLITE_HEADER = b"SQLite format 3\x00"
EVENTS_TABLES = ("stored_events", "paddock_events")  # SQLite, PostgreSQL (eventsourcing's names)
CONNECT_TIMEOUT = 5  # seconds: an unreachable host fails within this


class StoreError(Exception):
    """The event log could not be opened or written (exit status 3)."""


def check_store(url: str, *, create: bool) -> None:
    """Raise StoreError unless the store can be opened; with create=False it must already hold
    an event log. Creates nothing itself."""
    settings = store_settings(url)
    if "SQLITE_DBNAME" in settings:
        _check_sqlite(Path(settings["SQLITE_DBNAME"]), create=create)
    elif "POSTGRES_DBNAME" in settings:
        _check_postgres(url, settings, create=create)


def _check_sqlite(path: Path, *, create: bool) -> None:
    if not path.exists():
        if create:
            return
        raise StoreError(f"no event log at {path}: nothing has been recorded there (commands "
                         "that record, e.g. `paddock season register`, create it); nothing was "
                         "created")
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a SQLite event log: name a file in it, "
                         f"e.g. sqlite:///{path / 'paddock.db'}")
    if not path.is_file():
        raise StoreError(f"{path} is not a regular file (a device, FIFO or socket), "
                         "not a SQLite event log")
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreError(f"cannot read the event log {path}: {error.strerror}") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database, so not an event log: check --store "
                         "(or $PADDOCK_STORE)")
    if not create and not _sqlite_has_log(path):
        raise StoreError(f"{path} holds no event log (no events table): nothing has been "
                         "recorded there")


def _sqlite_has_log(path: Path) -> bool:
    """Read-only look at the schema: opening this way cannot create or change anything."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise StoreError(f"cannot read the event log {path}: {error}") from None
    return bool(names & set(EVENTS_TABLES))


def _check_postgres(url: str, settings: dict[str, str], *, create: bool) -> None:
    import psycopg

    where = redact_url(url.split("?", 1)[0])
    database = settings["POSTGRES_DBNAME"]
    try:
        conn = psycopg.connect(
            host=settings["POSTGRES_HOST"], port=settings["POSTGRES_PORT"], dbname=database,
            user=settings["POSTGRES_USER"], password=settings["POSTGRES_PASSWORD"] or None,
            connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as error:
        raise StoreError(_connect_problem(error, settings, where)) from None
    with conn:
        schema = settings.get("POSTGRES_SCHEMA", "public")
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            raise StoreError(f'schema "{schema}" does not exist in database "{database}" '
                             f'({where}): create it first, e.g. psql -c \'CREATE SCHEMA "{schema}"\'')
        if not create and not _postgres_has_log(conn, schema):
            raise StoreError(f'schema "{schema}" of database "{database}" ({where}) holds no '
                             "event log: nothing has been recorded there")


def _postgres_has_log(conn: Connection[Any], schema: str) -> bool:
    found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                         (schema, list(EVENTS_TABLES))).fetchone()
    return bool(found and found[0])


def _connect_problem(error: Exception, settings: dict[str, str], where: str) -> str:
    """One line a user can act on; psycopg's text never includes the password, but is scrubbed
    again by the caller's output."""
    state = getattr(getattr(error, "diag", None), "sqlstate", None)
    host, port = settings["POSTGRES_HOST"], settings["POSTGRES_PORT"]
    if state == "3D000" or "does not exist" in str(error) and "database" in str(error):
        return (f'database "{settings["POSTGRES_DBNAME"]}" does not exist on {host}:{port} '
                f"({where}): create it (createdb, or CREATE DATABASE) or fix --store")
    if state in ("28P01", "28000"):
        return f"PostgreSQL at {host}:{port} refused the login ({where}): check the user and password"
    reason = " ".join(str(error).split()) or type(error).__name__
    return f"cannot connect to PostgreSQL at {host}:{port} ({where}): {reason}"
