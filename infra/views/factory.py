"""From the event log's store URL to its view store (same backend, next to the log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.store import store_settings
from infra.views import ViewStore

if TYPE_CHECKING:
    from infra.views.postgres import PostgresTarget

VIEWS_FILE_SUFFIX = ".views.db"


def views_location(store_url: str) -> str:
    """Where the views of this log live, for people (a file, a schema, or memory)."""
    settings = store_settings(store_url)
    module = settings["PERSISTENCE_MODULE"]
    if module == "eventsourcing.sqlite":
        return settings["SQLITE_DBNAME"] + VIEWS_FILE_SUFFIX
    if module == "eventsourcing.postgres":
        return (f"postgresql://{settings['POSTGRES_HOST']}:{settings['POSTGRES_PORT']}/"
                f"{settings['POSTGRES_DBNAME']} schema {settings.get('POSTGRES_SCHEMA', 'public')}")
    return "memory"


def postgres_target(settings: dict[str, str]) -> PostgresTarget:
    """The database and schema of a PostgreSQL store's settings (its views, its leases)."""
    from infra.views.postgres import PostgresTarget

    return PostgresTarget(
        host=settings["POSTGRES_HOST"], port=int(settings["POSTGRES_PORT"]),
        dbname=settings["POSTGRES_DBNAME"], user=settings["POSTGRES_USER"],
        password=settings["POSTGRES_PASSWORD"],
        schema=settings.get("POSTGRES_SCHEMA", "public"),
        connect_timeout=int(settings.get("POSTGRES_CONNECT_TIMEOUT", "5")),
    )


def open_view_store(store_url: str, *, suffix: str = "") -> ViewStore:
    """SQLite log → `<log file>.views.db`; PostgreSQL log → tables in its database and schema
    (`?schema=`); memory:// → an in-memory SQLite view store. `suffix` names a second set of
    tables (e.g. "_rebuild") in the same place."""
    settings = store_settings(store_url)
    module = settings["PERSISTENCE_MODULE"]
    if module == "eventsourcing.postgres":
        from infra.views.postgres import PostgresViewStore

        return PostgresViewStore(postgres_target(settings), suffix=suffix)
    from infra.views.sqlite import MEMORY, SQLiteViewStore

    if module == "eventsourcing.sqlite":
        return SQLiteViewStore(settings["SQLITE_DBNAME"] + VIEWS_FILE_SUFFIX, suffix=suffix)
    return SQLiteViewStore(MEMORY, suffix=suffix)
