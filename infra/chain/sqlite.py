"""The hash-chained SQLite application recorder.

Appends: eventsourcing runs `_insert_events` inside one `BEGIN … COMMIT` on the write
connection. The event INSERTs come first, so the transaction holds SQLite's single write lock
(waiting up to the lock timeout) before the previous digests are read: two writers, in one
process or several, are serialised by that lock (SQLite has no other) and every partition's
chain stays linear. The chain rows are written in the same transaction: either the events and
their digests are stored, or neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from infra.chain import (
    CHAIN_SUFFIX,
    AppendStart,
    ChainRecorder,
    ChainStart,
    as_bytes,
    links_after,
    needs_genesis,
    next_links,
    originator_text,
)
from infra.chain.index import (
    EARLY,
    INDEX_SUFFIX,
    PartitionIndex,
    check_partitions,
    homes,
    index_entries,
    index_rows,
    prefix_end,
    time_indexes,
)
from services.audit_chain import GENESIS, LEGACY, Link, content_bytes


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder, ChainRecorder, PartitionIndex):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        self.chain_table_name = events_table_name + CHAIN_SUFFIX
        self.index_table_name = events_table_name + INDEX_SUFFIX
        super().__init__(datastore, events_table_name)
        events, chain = self.events_table_name, self.chain_table_name
        self._append_start = (f"SELECT (SELECT max(position) FROM {chain}), (SELECT max(rowid) "
                              f"FROM {events} WHERE rowid < ?), (SELECT min(position) FROM {chain} "
                              "WHERE position BETWEEN ? AND ?)")
        self._head_of = (f"SELECT position, digest FROM {chain} WHERE partition = ? AND "
                         "position < ? ORDER BY position DESC LIMIT 1")
        self._chain_start = (f"SELECT (SELECT max(rowid) FROM {events}), (SELECT max(position) "
                             f"FROM {chain}), (SELECT previous FROM {chain} WHERE position = 0), "
                             f"(SELECT digest FROM {chain} WHERE position = 0)")
        self._insert_links = (f"INSERT INTO {chain} (position, previous, digest, partition) "
                              "VALUES (?,?,?,?)")
        self._insert_index = f"INSERT INTO {self.index_table_name} VALUES (?,?,?,?)"

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                (f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} (position INTEGER PRIMARY KEY, "
                 "previous TEXT NOT NULL, digest TEXT NOT NULL, "
                 f"partition TEXT NOT NULL DEFAULT '{LEGACY}')"),
                (f"CREATE TABLE IF NOT EXISTS {self.index_table_name} (partition TEXT NOT NULL, "
                 "position INTEGER NOT NULL, effective_at TEXT, recorded_at TEXT, "
                 "PRIMARY KEY (partition, position)) WITHOUT ROWID"),
                (f"CREATE INDEX IF NOT EXISTS {self.index_table_name}_position "
                 f"ON {self.index_table_name} (position)"),
                *time_indexes(self.index_table_name)]

    def _create_table(self, c: SQLiteCursor) -> None:
        """Create the tables; a new, empty log gets its chain's genesis row, a log with events
        that no chain covers is refused (the transaction, table creation included, rolls back)."""
        super()._create_table(c)
        if not self._has_partitions(c):  # a chain written before it was split per partition
            c.execute(f"ALTER TABLE {self.chain_table_name} ADD COLUMN partition TEXT NOT NULL "
                      f"DEFAULT '{LEGACY}'")
        c.execute(f"CREATE INDEX IF NOT EXISTS {self.chain_table_name}_partition ON "
                  f"{self.chain_table_name} (partition, position)")
        if needs_genesis(self._read_start(c), self._where):
            c.execute(f"INSERT OR IGNORE INTO {self.chain_table_name} (position, previous, digest) "
                      "VALUES (0, ?, ?)",
                      (GENESIS, GENESIS))

    def _read_start(self, c: SQLiteCursor) -> ChainStart:
        c.execute(self._chain_start)
        last_event, chain_head, previous, digest = c.fetchone()
        return ChainStart(last_event, chain_head, None if previous is None else (previous, digest))

    def chain_start(self) -> ChainStart:
        with self.datastore.transaction(commit=False) as c:
            return self._read_start(c)

    @property
    def _where(self) -> str:
        return f"SQLite log {self.datastore.pool.db_name} ({self.chain_table_name})"

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        entries = index_entries(stored_events, kwargs) if stored_events else []
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None and len(ids) == len(stored_events)
        uuid_ids = self.datastore.originator_id_type == "uuid"
        self._append(c, [(i, home, content_bytes(i, originator_text(s.originator_id, uuid_ids=uuid_ids),
                                                 s.originator_version, s.topic, s.state))
                         for i, home, s in zip(ids, homes(entries), stored_events, strict=True)])
        c.executemany(self._insert_index, [
            (partition, position, _text(effective), _text(recorded))
            for partition, position, effective, recorded in index_rows(ids, entries)])
        return ids

    def _append(self, c: SQLiteCursor, contents: list[tuple[int, str, bytes]]) -> None:
        if not contents:
            return
        first, last = min(p for p, _, _ in contents), max(p for p, _, _ in contents)
        c.execute(self._append_start, (first, first, last))
        chain_head, last_event, taken = c.fetchone()
        heads = {}
        for partition in {home for _, home, _ in contents}:
            c.execute(self._head_of, (partition, first))
            row = c.fetchone()
            if row is not None:
                heads[partition] = str(row[1])
        found = AppendStart(chain_head, last_event, taken, heads)
        c.executemany(self._insert_links, next_links(found, contents, self._where))

    def prior_link(self, partition: str, position: int) -> tuple[int, str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._head_of, (partition, position))
            row = c.fetchone()
            return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def _has_partitions(self, c: Any) -> bool:
        c.execute(f"SELECT 1 FROM pragma_table_info('{self.chain_table_name}') "
                  "WHERE name = 'partition'")
        return c.fetchone() is not None

    def _events_query(self, after: int, until: int | None) -> tuple[str, list[int]]:
        statement = (f"SELECT rowid, originator_id, originator_version, topic, state "
                     f"FROM {self.events_table_name} WHERE rowid > ?")
        params = [after]
        if until is not None:
            statement += " AND rowid <= ?"
            params.append(until)
        return statement + " ORDER BY rowid", params

    def _content(self, row: Any) -> tuple[int, bytes]:
        uuid_ids = self.datastore.originator_id_type == "uuid"
        version = row[2] if isinstance(row[2], int) else -1
        return row[0], content_bytes(row[0], originator_text(row[1], uuid_ids=uuid_ids), version,
                                     str(row[3] or ""), as_bytes(row[4]))

    @contextmanager
    def _chain_rows(self, after: int, until: int | None, chained: bool
                    ) -> Iterator[tuple[Iterable[tuple[int, bytes]], Iterable[Link]]]:
        with self.datastore.get_connection(commit=False) as conn, conn.transaction(commit=False):
            events = conn.cursor().sqlite_cursor
            links = conn.cursor().sqlite_cursor
            try:
                events.execute(*self._events_query(after, until))
                partition = "partition" if chained and self._has_partitions(links) else "''"
                statement = (f"SELECT position, previous, digest, {partition} FROM "
                             f"{self.chain_table_name} WHERE position > ?")
                params = [links_after(after)]
                if until is not None:
                    statement += " AND position <= ?"
                    params.append(until)
                if chained:
                    links.execute(statement + " ORDER BY position", params)
                yield ((self._content(row) for row in events),
                       (Link(row[0], str(row[1]), str(row[2]), str(row[3])) for row in links)
                       if chained else ())
            finally:
                events.close()
                links.close()

    def missing_tables(self) -> list[str]:
        present = self._present_tables()
        return [name for name in (self.events_table_name, self.chain_table_name)
                if name not in present]

    # -- the partition index -------------------------------------------------------------------

    def select_partitions(self, partitions: Sequence[str], after: int, until: int | None,
                          limit: int) -> list[Notification]:
        wanted = check_partitions(partitions)
        marks = ",".join("?" * len(wanted))
        statement = (f"SELECT rowid, originator_id, originator_version, topic, state FROM "
                     f"{self.events_table_name} WHERE rowid IN (SELECT position FROM "
                     f"{self.index_table_name} WHERE partition IN ({marks}) AND position > ?"
                     + (" AND position <= ?" if until is not None else "")
                     + ") ORDER BY rowid LIMIT ?")
        params: list[Any] = [*wanted, after, *([until] if until is not None else []), limit]
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [Notification(id=row[0], originator_id=self.convert_originator_id(row[1]),
                                 originator_version=row[2], topic=row[3], state=row[4])
                    for row in c.fetchall()]

    def select_index(self, after: int, until: int) -> list[tuple[int, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position, partition FROM {self.index_table_name} "
                      "WHERE position > ? AND position <= ? ORDER BY position", (after, until))
            return [(int(row[0]), str(row[1])) for row in c.fetchall()]

    def index_head(self) -> int | None:
        if self.index_table_name in self._present_tables():
            with self.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT max(position) FROM {self.index_table_name}")
                return int(c.fetchone()[0] or 0)
        return None

    def partitions_like(self, prefix: str, limit: int) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT DISTINCT partition FROM {self.index_table_name} WHERE partition "
                      ">= ? AND partition < ? ORDER BY partition LIMIT ?",
                      (prefix, prefix_end(prefix), limit))
            return [str(row[0]) for row in c.fetchall()]

    def select_times(self, until: int) -> tuple[datetime | None, list[tuple[int, str, datetime]]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT recorded_at FROM {self.index_table_name} INDEXED BY "
                      f"{self.index_table_name}_recorded WHERE recorded_at IS NOT NULL AND "
                      "position <= ? ORDER BY recorded_at DESC LIMIT 1", (until,))
            row = c.fetchone()
            if row is None:
                return None, []
            latest = row[0]
            c.execute(f"SELECT position, partition, effective_at FROM {self.index_table_name} "
                      f"INDEXED BY {self.index_table_name}_early WHERE {EARLY} AND "
                      "effective_at > ? AND position <= ? ORDER BY position, partition",
                      (latest, until))
            return _moment(latest), [(int(p), str(k), _moment(e)) for p, k, e in c.fetchall()]

    def first_position(self, partition: str) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT min(position) FROM {self.index_table_name} WHERE partition = ?",
                      (partition,))
            found = c.fetchone()[0]
            return None if found is None else int(found)

    def write_index(self, rows: Sequence[tuple[str, int, datetime | None, datetime | None]],
                    *, replace: bool) -> None:
        with self.datastore.transaction(commit=True) as c:
            if replace:
                c.execute(f"DELETE FROM {self.index_table_name}")
            c.executemany(self._insert_index, [(p, i, _text(e), _text(r)) for p, i, e, r in rows])

    def _present_tables(self) -> set[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {row[0] for row in c.fetchall()}


def _text(moment: datetime | None) -> str | None:
    """A time as the index stores it in SQLite: ISO 8601 in UTC, so text order is time order."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
