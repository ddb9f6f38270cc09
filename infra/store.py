"""Store URLs (`sqlite:///path`, `postgresql://…`, `memory://`) → eventsourcing settings.

SQLite and PostgreSQL logs are written by the hash-chained recorders of `infra.chain` (set as
eventsourcing's APPLICATION_RECORDER_TOPIC, so PERSISTENCE_MODULE still names the backend)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInputError
from infra.config import redact_url

STORE_ENV = "PADDOCK_STORE"
EXAMPLES = "sqlite:///path/to/paddock.db, postgresql://user@host:5432/dbname, memory://"
SQLITE_RECORDER = "infra.chain.sqlite:ChainedSQLiteApplicationRecorder"
POSTGRES_RECORDER = "infra.chain.postgres:ChainedPostgresApplicationRecorder"
TRANSCODER = "infra.transcoder:PaddockTranscoder"  # writes encoded classification rows as they are


def store_settings(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL; raises with examples when malformed."""
    try:
        return {**_settings(url), "TRANSCODER_TOPIC": TRANSCODER}
    except ValueError as error:  # urllib: a port that is not a number, a broken IPv6 address
        raise InvalidInputError(f"store URL '{redact_url(url)}': {error} "
                                f"(examples: {EXAMPLES})") from None


def _settings(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        return _sqlite(url, parts.netloc, parts.path)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres(url)
    raise InvalidInputError(f"store URL '{redact_url(url)}' has an unknown scheme "
                            f"(examples: {EXAMPLES})")


def _sqlite(url: str, netloc: str, path: str) -> dict[str, str]:
    if netloc or not path or path == "/":
        raise InvalidInputError(
            f"store URL '{url}': a SQLite URL names a file after three slashes, "
            "e.g. sqlite:///paddock.db (relative) or sqlite:////var/lib/paddock.db (absolute)"
        )
    file = Path(unquote(path[1:]))
    if file.parent and not file.parent.exists():
        raise InvalidInputError(f"store URL '{url}': directory '{file.parent}' does not exist")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
        "SQLITE_DBNAME": str(file),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def _postgres(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if not parts.hostname or not dbname:
        raise InvalidInputError(
            f"store URL '{redact_url(url)}': a PostgreSQL URL needs a host and a database, "
            "e.g. postgresql://postgres@127.0.0.1:5432/test"
        )
    settings = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER,
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }
    schema = parse_qs(parts.query).get("schema")
    if schema:
        settings["POSTGRES_SCHEMA"] = schema[0]
    return settings


def store_from_env(explicit: str | None) -> str | None:
    """`--store` wins over PADDOCK_STORE; None means neither was given."""
    return explicit or os.environ.get(STORE_ENV) or None
