"""The view store in PostgreSQL: tables in the same database and schema as the event log.

One connection (autocommit; explicit transactions for writes), shared by the threads the
asyncio workers run their blocking calls in, behind a lock; reopened if it breaks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from infra.views import (
    StoredView,
    TrackedWrites,
    TrackingConflictError,
    ViewStore,
    ViewTables,
)
from infra.views.tracking import summary

_CREATE_LOCK = 0x7061646B  # advisory lock key ("padk"): concurrent first starts create once


@dataclass(frozen=True)
class PostgresTarget:
    """Where the tables live: connection parameters and schema."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str = "public"
    connect_timeout: int = 5

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.host, port=self.port, dbname=self.dbname, user=self.user,
                               password=self.password, connect_timeout=self.connect_timeout,
                               autocommit=True)

    def same_database(self, other: PostgresTarget) -> bool:
        return (self.host, self.port, self.dbname, self.schema) == (
            other.host, other.port, other.dbname, other.schema)


class PostgresViewStore(TrackedWrites):
    def __init__(self, target: PostgresTarget, *, suffix: str = "") -> None:
        self.target = target
        self.tables = ViewTables(suffix)
        self._lock = threading.Lock()
        self._conn = target.connect()
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
            self._create(cur)

    # -- plumbing ------------------------------------------------------------------------------

    def _q(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.target.schema), sql.Identifier(name))

    def _sql(self, template: str, **names: str) -> sql.Composed:
        """`template` with {placeholders} replaced by schema-qualified table names."""
        return sql.SQL(template).format(**{k: self._q(v) for k, v in names.items()})

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn.closed or self._conn.broken:
            self._conn = self.target.connect()
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                yield cur

    def _select(self, query: sql.Composed, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._connection().execute(query, params).fetchall()

    def _create(self, cur: psycopg.Cursor[Any]) -> None:
        t = self.tables
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {v} (name TEXT, position BIGINT NOT NULL, "
            "body TEXT NOT NULL, CONSTRAINT {vk} PRIMARY KEY (name))"
        ).format(v=self._q(t.views), vk=sql.Identifier(f"{t.views}_pkey")))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {v} (position, name)").format(
            i=sql.Identifier(t.views_index), v=self._q(t.views)))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {w} (worker TEXT, position BIGINT NOT NULL, "
            "CONSTRAINT {wk} PRIMARY KEY (worker))"
        ).format(w=self._q(t.tracking), wk=sql.Identifier(f"{t.tracking}_pkey")))
        cur.execute(self._sql("CREATE TABLE IF NOT EXISTS {p} (publisher TEXT PRIMARY KEY, "
                              "position BIGINT NOT NULL)", p=t.publish))

    # -- views and tracking --------------------------------------------------------------------

    def position(self, worker: str) -> int:
        return summary(self.tracking()).get(worker, 0)

    def tracking(self) -> dict[str, int]:
        rows = self._select(self._sql("SELECT worker, position FROM {w} ORDER BY worker",
                                      w=self.tables.tracking))
        return {r[0]: int(r[1]) for r in rows}

    def migrate_tracking(self, legacy: str, keys: Sequence[str]) -> None:
        w = self.tables.tracking
        with self._transaction() as cur:
            row = cur.execute(self._sql("DELETE FROM {w} WHERE worker = %s RETURNING position",
                                        w=w), (legacy,)).fetchone()
            if row is not None:
                cur.executemany(self._sql("INSERT INTO {w} (worker, position) VALUES (%s, %s) "
                                          "ON CONFLICT (worker) DO NOTHING", w=w),
                                [(k, row[0]) for k in keys])

    def _track(self, cur: psycopg.Cursor[Any], worker: str, position: int,
               expected: int | None) -> None:
        w = self.tables.tracking
        row = cur.execute(self._sql("SELECT position FROM {w} WHERE worker = %s FOR UPDATE", w=w),
                          (worker,)).fetchone()
        current = int(row[0]) if row else None
        if expected is not None and (current or 0) != expected:
            raise TrackingConflictError(
                f"worker {worker!r} expected tracked position {expected}, found {current or 0}"
            )
        cur.execute(self._sql(
            "INSERT INTO {w} AS t (worker, position) VALUES (%s, %s) ON CONFLICT (worker) "
            "DO UPDATE SET position = EXCLUDED.position "
            "WHERE %s OR t.position IS NOT DISTINCT FROM %s::BIGINT", w=w),
            (worker, position, expected is None, current))
        if cur.rowcount != 1:  # a first write raced with another writer of the same worker
            raise TrackingConflictError(f"worker {worker!r}: another writer tracked a position")

    def _track_all(self, cur: psycopg.Cursor[Any],
                   moves: Mapping[str, tuple[int | None, int]]) -> None:
        """The rows of several groups in three round trips, not two per group: the existing
        rows locked and checked, updated together, the missing ones inserted together (a
        writer that inserted one first makes this one conflict)."""
        if len(moves) == 1:
            super()._track_all(cur, moves)
            return
        keys, w = sorted(moves), self.tables.tracking
        found = dict(cur.execute(self._sql(
            "SELECT worker, position FROM {w} WHERE worker = ANY(%s) ORDER BY worker FOR UPDATE",
            w=w), (keys,)).fetchall())
        for key in keys:
            expected = moves[key][0]
            if expected is not None and int(found.get(key, 0)) != expected:
                raise TrackingConflictError(f"worker {key!r} expected tracked position "
                                            f"{expected}, found {found.get(key, 0)}")
        present = [k for k in keys if k in found]
        absent = [k for k in keys if k not in found]
        if present:
            cur.execute(self._sql(
                "UPDATE {w} AS t SET position = u.position FROM unnest(%s::text[], "
                "%s::bigint[]) AS u(worker, position) WHERE t.worker = u.worker", w=w),
                (present, [moves[k][1] for k in present]))
        if absent:
            cur.execute(self._sql(
                "INSERT INTO {w} (worker, position) SELECT * FROM unnest(%s::text[], "
                "%s::bigint[]) ON CONFLICT (worker) DO NOTHING", w=w),
                (absent, [moves[k][1] for k in absent]))
            if cur.rowcount != len(absent):
                raise TrackingConflictError(f"{absent}: another writer tracked a position")

    def _upsert_views(self, cur: psycopg.Cursor[Any], position: int, views: dict[str, str]) -> None:
        cur.executemany(
            self._sql("INSERT INTO {v} (name, position, body) VALUES (%s, %s, %s) "
                      "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, "
                      "body = EXCLUDED.body", v=self.tables.views),
            [(name, position, body) for name, body in sorted(views.items())],
        )

    def read(self, name: str) -> StoredView | None:
        rows = self._select(self._sql("SELECT name, position, body FROM {v} WHERE name = %s",
                                      v=self.tables.views), (name,))
        return StoredView(rows[0][0], int(rows[0][1]), rows[0][2]) if rows else None

    def names(self) -> list[str]:
        rows = self._select(self._sql("SELECT name FROM {v} ORDER BY name", v=self.tables.views))
        return [r[0] for r in rows]

    def changed_since(self, position: int, until: int | None = None) -> list[StoredView]:
        rows = self._select(self._sql("SELECT name, position, body FROM {v} WHERE position > %s "
                                      "AND position <= %s ORDER BY position, name",
                                      v=self.tables.views),
                            (position, until if until is not None else 2**63 - 1))
        return [StoredView(r[0], int(r[1]), r[2]) for r in rows]

    def workers(self) -> dict[str, int]:
        return summary(self.tracking())

    # -- publishers ----------------------------------------------------------------------------

    def published_position(self, publisher: str) -> int:
        rows = self._select(self._sql("SELECT position FROM {p} WHERE publisher = %s",
                                      p=self.tables.publish), (publisher,))
        return int(rows[0][0]) if rows else 0

    def set_published(self, publisher: str, position: int) -> None:
        with self._transaction() as cur:
            cur.execute(self._sql("INSERT INTO {p} (publisher, position) VALUES (%s, %s) "
                                  "ON CONFLICT (publisher) DO UPDATE SET position = "
                                  "EXCLUDED.position", p=self.tables.publish),
                        (publisher, position))

    def publishers(self) -> dict[str, int]:
        rows = self._select(self._sql("SELECT publisher, position FROM {p} ORDER BY publisher",
                                      p=self.tables.publish))
        return {r[0]: int(r[1]) for r in rows}

    # -- rebuilds ------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._transaction() as cur:
            self._drop(cur)
            self._create(cur)

    def drop(self) -> None:
        with self._transaction() as cur:
            self._drop(cur)

    def _drop(self, cur: psycopg.Cursor[Any]) -> None:
        cur.execute(self._sql("DROP TABLE IF EXISTS {v}, {w}", v=self.tables.views,
                              w=self.tables.tracking))

    def swap_from(self, other: ViewStore) -> None:
        if isinstance(other, PostgresViewStore) and other.target.same_database(self.target):
            self._rename_from(other.tables)
        else:
            self._copy_from(other)

    def _rename_from(self, source: ViewTables) -> None:
        t = self.tables
        renames = [(source.views, t.views), (source.tracking, t.tracking)]
        with self._transaction() as cur:
            cur.execute("SET LOCAL lock_timeout = '10s'")
            self._drop(cur)
            for old, new in renames:
                cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    self._q(old), sql.Identifier(new)))
                cur.execute(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    self._q(new), sql.Identifier(f"{old}_pkey"), sql.Identifier(f"{new}_pkey")))
            cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                self._q(source.views_index), sql.Identifier(t.views_index)))

    def _copy_from(self, other: ViewStore) -> None:
        views, workers = other.changed_since(-1), other.tracking()
        t = self.tables
        with self._transaction() as cur:
            cur.execute(self._sql("DELETE FROM {v}", v=t.views))
            cur.execute(self._sql("DELETE FROM {w}", w=t.tracking))
            cur.executemany(self._sql("INSERT INTO {v} (name, position, body) VALUES (%s, %s, %s)",
                                      v=t.views), [(v.name, v.position, v.body) for v in views])
            cur.executemany(self._sql("INSERT INTO {w} (worker, position) VALUES (%s, %s)",
                                      w=t.tracking), sorted(workers.items()))
        other.drop()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
