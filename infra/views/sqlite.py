"""The view store in a SQLite file (WAL, synchronous=FULL), by default next to a SQLite log.

One connection, shared by the threads the asyncio workers run their blocking calls in, behind
a lock. Writes are `BEGIN IMMEDIATE` transactions; readers in other connections keep reading
the last committed views while a batch or a swap is written.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from infra.views import (
    StoredView,
    TrackedWrites,
    TrackingConflictError,
    ViewStore,
    ViewTables,
)
from infra.views.tracking import summary

MEMORY = ":memory:"


class SQLiteViewStore(TrackedWrites):
    def __init__(self, path: str, *, suffix: str = "") -> None:
        self.path = path if path == MEMORY else os.path.realpath(path)
        self.tables = ViewTables(suffix)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=10)
        if self.path != MEMORY:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._transaction() as cur:
            self._create(cur)

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _select(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(statement, params).fetchall()

    def _create(self, cur: sqlite3.Cursor) -> None:
        t = self.tables
        cur.execute(f"CREATE TABLE IF NOT EXISTS {t.views} (name TEXT PRIMARY KEY, "
                    "position INTEGER NOT NULL, body TEXT NOT NULL)")
        cur.execute(f"CREATE INDEX IF NOT EXISTS {t.views_index} ON {t.views} (position, name)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {t.tracking} (worker TEXT PRIMARY KEY, "
                    "position INTEGER NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {t.publish} (publisher TEXT PRIMARY KEY, "
                    "position INTEGER NOT NULL)")

    # -- views and tracking --------------------------------------------------------------------

    def position(self, worker: str) -> int:
        return summary(self.tracking()).get(worker, 0)

    def tracking(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._select(
            f"SELECT worker, position FROM {self.tables.tracking} ORDER BY worker")}

    def migrate_tracking(self, legacy: str, keys: Sequence[str]) -> None:
        t = self.tables
        with self._transaction() as cur:
            row = cur.execute(f"DELETE FROM {t.tracking} WHERE worker = ? RETURNING position",
                              (legacy,)).fetchone()
            if row is not None:
                cur.executemany(f"INSERT INTO {t.tracking} (worker, position) VALUES (?, ?) "
                                "ON CONFLICT (worker) DO NOTHING", [(k, row[0]) for k in keys])

    def _track(self, cur: sqlite3.Cursor, worker: str, position: int,
               expected: int | None) -> None:
        t = self.tables
        row = cur.execute(f"SELECT position FROM {t.tracking} WHERE worker = ?", (worker,)).fetchone()
        current = int(row[0]) if row else 0
        if expected is not None and current != expected:
            raise TrackingConflictError(
                f"worker {worker!r} expected tracked position {expected}, found {current}"
            )
        cur.execute(f"INSERT INTO {t.tracking} (worker, position) VALUES (?, ?) "
                    "ON CONFLICT (worker) DO UPDATE SET position = excluded.position",
                    (worker, position))

    def _upsert_views(self, cur: sqlite3.Cursor, position: int, views: dict[str, str]) -> None:
        cur.executemany(
            f"INSERT INTO {self.tables.views} (name, position, body) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, body = excluded.body",
            [(name, position, body) for name, body in sorted(views.items())],
        )

    def read(self, name: str) -> StoredView | None:
        rows = self._select(f"SELECT name, position, body FROM {self.tables.views} "
                            "WHERE name = ?", (name,))
        return StoredView(*rows[0]) if rows else None

    def names(self) -> list[str]:
        return [r[0] for r in self._select(f"SELECT name FROM {self.tables.views} ORDER BY name")]

    def changed_since(self, position: int, until: int | None = None) -> list[StoredView]:
        rows = self._select(f"SELECT name, position, body FROM {self.tables.views} "
                            "WHERE position > ? AND (? IS NULL OR position <= ?) "
                            "ORDER BY position, name", (position, until, until))
        return [StoredView(*r) for r in rows]

    def workers(self) -> dict[str, int]:
        return summary(self.tracking())

    # -- publishers ----------------------------------------------------------------------------

    def published_position(self, publisher: str) -> int:
        rows = self._select(f"SELECT position FROM {self.tables.publish} WHERE publisher = ?",
                            (publisher,))
        return int(rows[0][0]) if rows else 0

    def set_published(self, publisher: str, position: int) -> None:
        with self._transaction() as cur:
            cur.execute(f"INSERT INTO {self.tables.publish} (publisher, position) VALUES (?, ?) "
                        "ON CONFLICT (publisher) DO UPDATE SET position = excluded.position",
                        (publisher, position))

    def publishers(self) -> dict[str, int]:
        return dict(self._select(f"SELECT publisher, position FROM {self.tables.publish} "
                                 "ORDER BY publisher"))

    # -- rebuilds ------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._transaction() as cur:
            self._drop(cur)
            self._create(cur)

    def drop(self) -> None:
        with self._transaction() as cur:
            self._drop(cur)

    def _drop(self, cur: sqlite3.Cursor) -> None:
        cur.execute(f"DROP TABLE IF EXISTS {self.tables.views}")
        cur.execute(f"DROP TABLE IF EXISTS {self.tables.tracking}")

    def swap_from(self, other: ViewStore) -> None:
        if isinstance(other, SQLiteViewStore) and other.path == self.path != MEMORY:
            self._rename_from(other.tables)
        else:
            self._copy_from(other)

    def _rename_from(self, source: ViewTables) -> None:
        t = self.tables
        with self._transaction() as cur:
            self._drop(cur)
            cur.execute(f"DROP INDEX IF EXISTS {source.views_index}")
            cur.execute(f"ALTER TABLE {source.views} RENAME TO {t.views}")
            cur.execute(f"ALTER TABLE {source.tracking} RENAME TO {t.tracking}")
            cur.execute(f"CREATE INDEX {t.views_index} ON {t.views} (position, name)")

    def _copy_from(self, other: ViewStore) -> None:
        views, workers = other.changed_since(-1), other.tracking()
        t = self.tables
        with self._transaction() as cur:
            cur.execute(f"DELETE FROM {t.views}")
            cur.execute(f"DELETE FROM {t.tracking}")
            cur.executemany(f"INSERT INTO {t.views} (name, position, body) VALUES (?, ?, ?)",
                            [(v.name, v.position, v.body) for v in views])
            cur.executemany(f"INSERT INTO {t.tracking} (worker, position) VALUES (?, ?)",
                            sorted(workers.items()))
        other.drop()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
