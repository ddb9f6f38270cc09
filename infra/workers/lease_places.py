"""Where a deployment's leases live, and the one way to open them (infra/workers/leases.py).

A lease protects something stored: the ingest groups of a log and a NATS prefix, the views of
one set of view tables. Its place is the store's own lock, beside what it protects, and its key
space is named `<scope>.<role>.<space>` with `scope` the deployment's part of the store (the
NATS prefix for ingest, the view table for projections and the publisher), so that two
deployments sharing a store (other schemas, prefixes or view tables) never contend:
- PostgreSQL: session advisory locks, first key `crc32("paddock-lease:<name>@<schema>")`, on a
  connection of the holder's own with TCP keepalives on both ends (a vanished host's locks go
  within ~11 s, and a dead server is noticed as soon);
- SQLite: `flock` files `<name>-<key>.lease` in `<file>.leases/` beside the file (the log for
  ingest, `<log>.views.db` for views);
- memory:// (one process): an in-process table (infra.workers.leases.LocalLeases).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.store import store_settings
from infra.workers.leases import AdvisoryLeases, FileLeases, Leases, LocalLeases, namespace

if TYPE_CHECKING:
    from infra.views import ViewStore
    from infra.views.postgres import PostgresTarget

SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 5", "SET tcp_keepalives_interval = 2",
                    "SET tcp_keepalives_count = 3")
"""Server side: the locks of a holder whose host vanished are released within ~11 s."""


@dataclass
class Opened:
    """Leases on some key spaces, and how to let go of what holds them (the connection)."""

    leases: list[Leases]
    close: Callable[[], None] = field(default=lambda: None)
    one_process: bool = False  # memory://: no peers to count, the first holder owns every key


Opener = Callable[[Sequence[tuple[str, int]]], Opened]
"""[(key space, keys)] → leases on each, sharing one database session where there is one."""


def advisory_namespace(name: str, schema: str) -> int:
    """The first key of the advisory locks of key space `name` in `schema`."""
    return namespace(f"paddock-lease:{name}@{schema}")


def store_leases(store_url: str, scope: str) -> Opener:
    """Leases beside a log's store (ingest: `scope` is the NATS prefix)."""
    settings = store_settings(store_url)
    module = settings["PERSISTENCE_MODULE"]
    if module.endswith("postgres"):
        from infra.views.factory import postgres_target

        return _advisory(postgres_target(settings), scope)
    if module.endswith("sqlite"):
        return _files(Path(settings["SQLITE_DBNAME"]), scope)
    return _local(scope)


def view_leases(views: ViewStore) -> Opener | None:
    """Leases beside a view store, scoped by its view table; None for an in-memory store (one
    process, whose one projection worker owns every group and whose publisher publishes)."""
    from infra.views.postgres import PostgresViewStore
    from infra.views.sqlite import MEMORY, SQLiteViewStore

    scope = views.tables.views
    if isinstance(views, PostgresViewStore):
        return _advisory(views.target, scope)
    if isinstance(views, SQLiteViewStore) and views.path != MEMORY:
        return _files(Path(views.path), scope)
    return None


def _advisory(target: PostgresTarget, scope: str) -> Opener:
    def opener(spaces: Sequence[tuple[str, int]]) -> Opened:
        connection = lease_connection(target)
        return Opened([AdvisoryLeases(connection, keys, first_key=advisory_namespace(
            f"{scope}.{space}", target.schema)) for space, keys in spaces], connection.close)
    return opener


def _files(beside: Path, scope: str) -> Opener:
    directory = beside.parent / f"{beside.name}.leases"

    def opener(spaces: Sequence[tuple[str, int]]) -> Opened:
        return Opened([FileLeases(directory, keys, f"{scope}.{space}") for space, keys in spaces])
    return opener


def _local(scope: str) -> Opener:
    def opener(spaces: Sequence[tuple[str, int]]) -> Opened:
        return Opened([LocalLeases(f"{scope}.{space}", keys) for space, keys in spaces],
                      one_process=True)
    return opener


def lease_connection(target: PostgresTarget) -> Any:
    """A connection of the holder's own, autocommit, kept for its session locks."""
    import psycopg

    connection = psycopg.connect(
        host=target.host, port=target.port, dbname=target.dbname, user=target.user,
        password=target.password or None, connect_timeout=target.connect_timeout,
        application_name="paddock-leases", autocommit=True,
        # client side: a lease connection to a vanished server fails within ~11 s
        keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
    for statement in SERVER_KEEPALIVE:
        connection.execute(statement)
    return connection
