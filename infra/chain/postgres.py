"""The hash-chained PostgreSQL application recorder.

Appends: like eventsourcing's recorder, one pipelined transaction takes `LOCK TABLE <events> IN
EXCLUSIVE MODE` before inserting, which serialises every writer (the lock is held until commit,
so notification ids are issued and committed in order). The previous digest is read after the
insert, under that lock, so it is the last one committed by any writer: the chain stays linear
with any number of concurrent writers. The chain rows go in the same transaction.

`insert_events` is eventsourcing's own, re-stated: the library's version keeps an exception
raised after the INSERT (in `_fetch_ids_after_insert_events`) until its transaction has
committed, which would store events without digests if the chain step failed. Here any failure
rolls the whole append back. POSTGRES_ENABLE_DB_FUNCTIONS (inserts through a stored function,
bypassing this code) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, TupleRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from infra.chain import (
    CHAIN_SUFFIX,
    PAGE,
    ChainRecorder,
    ChainStart,
    as_bytes,
    links_after,
    needs_genesis,
    next_links,
    originator_text,
)
from infra.chain.index import INDEX_SUFFIX, PartitionIndex, check_partitions, index_rows
from infra.retrying import retry_conflicts
from services.audit_chain import GENESIS, Link, content_bytes


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder, ChainRecorder, PartitionIndex):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise OSError("POSTGRES_ENABLE_DB_FUNCTIONS=yes inserts events through a stored "
                          "function that skips the hash chain; unset it for Paddock stores")
        self.chain_table_name = events_table_name + CHAIN_SUFFIX
        self.index_table_name = events_table_name + INDEX_SUFFIX
        self.check_identifier_length(self.chain_table_name)
        self.check_identifier_length(self.index_table_name + "_position")
        schema, chain = Identifier(datastore.schema), Identifier(self.chain_table_name)
        index = Identifier(self.index_table_name)
        events = Identifier(events_table_name)
        self.sql_create_statements = [
            SQL("SELECT pg_advisory_xact_lock(hashtext({0}))").format(
                Literal(f"paddock-create:{datastore.schema}.{events_table_name}")),
            *(s for s in self.sql_create_statements if not _db_function_ddl(s))]
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0}.{1} (position bigint PRIMARY KEY, "
            "previous text NOT NULL, digest text NOT NULL)").format(schema, chain))
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0}.{1} (partition text NOT NULL, position bigint NOT NULL, "
            "effective_at timestamptz, recorded_at timestamptz, PRIMARY KEY (partition, position))"
        ).format(schema, index))
        self.sql_create_statements.append(SQL(
            "CREATE INDEX IF NOT EXISTS {0} ON {1}.{2} (position)").format(
                Identifier(self.index_table_name + "_position"), schema, index))
        self._sql_insert_index = SQL("INSERT INTO {0}.{1} VALUES (%s, %s, %s, %s)").format(schema, index)
        self._sql_partitions = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {0}.{1} "
            "WHERE notification_id IN (SELECT position FROM {0}.{2} WHERE partition = ANY(%s) "
            "AND position > %s AND position <= %s) ORDER BY notification_id LIMIT %s"
        ).format(schema, events, index)
        self._sql_index = SQL("SELECT position, partition FROM {0}.{1} WHERE position > %s AND "
                              "position <= %s ORDER BY position").format(schema, index)
        self._sql_index_head = SQL("SELECT max(position) AS head FROM {0}.{1}").format(schema, index)
        self._sql_like = SQL("SELECT DISTINCT partition FROM {0}.{1} WHERE starts_with(partition, %s) "
                             "ORDER BY partition LIMIT %s").format(schema, index)
        self._sql_clear_index = SQL("DELETE FROM {0}.{1}").format(schema, index)
        self._sql_genesis = SQL("INSERT INTO {0}.{1} VALUES (0, %s, %s) ON CONFLICT DO NOTHING"
                                ).format(schema, chain)
        self._sql_chain_start = SQL(
            "SELECT (SELECT max(notification_id) FROM {0}.{2}) AS last_event, "
            "(SELECT max(position) FROM {0}.{1}) AS chain_head, "
            "(SELECT previous FROM {0}.{1} WHERE position = 0) AS previous, "
            "(SELECT digest FROM {0}.{1} WHERE position = 0) AS digest").format(schema, chain, events)
        self._sql_last_link = SQL(
            "SELECT position, digest, (SELECT max(notification_id) FROM {0}.{2} "
            "WHERE notification_id < %s) AS last_event FROM {0}.{1} "
            "ORDER BY position DESC LIMIT 1").format(schema, chain, events)
        self._sql_insert_link = SQL("INSERT INTO {0}.{1} (position, previous, digest) "
                                    "VALUES (%s, %s, %s)").format(schema, chain)
        self._sql_links = SQL("SELECT position, previous, digest FROM {0}.{1} WHERE position > %s"
                              ).format(schema, chain)
        self._sql_events = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {0}.{1} WHERE notification_id > %s").format(schema, events)

    def create_table(self) -> None:
        """Create what is missing; processes opening the store at once take turns (the advisory
        lock above) and a conflict left over is retried, never shown to the user."""
        retry_conflicts(super().create_table)

    # -- appending -----------------------------------------------------------------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        with (self.datastore.get_connection() as conn, conn.pipeline() as pipeline,
              conn.transaction(), conn.cursor() as curs):
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)  # lock, notify, insert
            pipeline.sync()  # a version conflict raises IntegrityError here, and rolls back
            ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            assert ids is not None and len(ids) == len(stored_events)
            uuid_ids = self.datastore.originator_id_type == "uuid"
            self._append(curs, [
                (i, content_bytes(i, originator_text(s.originator_id, uuid_ids=uuid_ids),
                                  s.originator_version, s.topic, s.state))
                for i, s in zip(ids, stored_events, strict=True)])
            curs.executemany(self._sql_insert_index, index_rows(ids, stored_events, kwargs))
            return ids

    def _append(self, curs: Cursor[DictRow], contents: list[tuple[int, bytes]]) -> None:
        """Chain new events; the caller holds the events table's lock."""
        if not contents:
            return
        curs.execute(self._sql_last_link, (min(position for position, _ in contents),), prepare=True)
        row = curs.fetchone()
        head = (int(row["position"]), str(row["digest"]), row["last_event"]) if row else None
        curs.executemany(self._sql_insert_link, next_links(head, contents, self._where))

    @property
    def _where(self) -> str:
        return f"PostgreSQL table {self.datastore.schema}.{self.chain_table_name}"

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        """Create the tables; a new, empty log gets its chain's genesis row, a log with events
        that no chain covers is refused (the transaction, table creation included, rolls back)."""
        super()._create_table(curs)
        if needs_genesis(self._read_start(curs), self._where):  # usually not: no lock taken
            self._lock_table(curs)
            if needs_genesis(self._read_start(curs), self._where):  # no other writer now
                curs.execute(self._sql_genesis, (GENESIS, GENESIS))

    def _read_start(self, curs: Cursor[DictRow]) -> ChainStart:
        curs.execute(self._sql_chain_start)
        row = curs.fetchone()
        assert row is not None
        genesis = None if row["previous"] is None else (row["previous"], row["digest"])
        return ChainStart(row["last_event"], row["chain_head"], genesis)

    def chain_start(self) -> ChainStart:
        with self.datastore.transaction(commit=False) as curs:
            return self._read_start(curs)

    # -- reading -------------------------------------------------------------------------------

    def _events_query(self, after: int, until: int | None) -> tuple[Composed, list[int]]:
        statement = SQL("{0}").format(self._sql_events)
        params = [after]
        if until is not None:
            statement += SQL(" AND notification_id <= %s")
            params.append(until)
        return statement + SQL(" ORDER BY notification_id"), params

    def _content(self, row: Sequence[Any]) -> tuple[int, bytes]:
        uuid_ids = self.datastore.originator_id_type == "uuid"
        position, originator, version, topic, state = row
        return int(position), content_bytes(int(position), originator_text(originator, uuid_ids=uuid_ids),
                                            int(version), str(topic or ""), as_bytes(state))

    @contextmanager
    def _chain_rows(self, after: int, until: int | None, chained: bool
                    ) -> Iterator[tuple[Iterable[tuple[int, bytes]], Iterable[Link]]]:
        links_query = SQL("{0}").format(self._sql_links)
        params = [links_after(after)]
        if until is not None:
            links_query += SQL(" AND position <= %s")
            params.append(until)
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with (conn.cursor(name="paddock_chain_events", row_factory=tuple_row) as events,
                  conn.cursor(name="paddock_chain_links", row_factory=tuple_row) as links):
                events.itersize = links.itersize = PAGE
                events.execute(*self._events_query(after, until))
                if chained:
                    links.execute(links_query + SQL(" ORDER BY position"), params)
                yield ((self._content(row) for row in events),
                       (_link(row) for row in links) if chained else ())

    def missing_tables(self) -> list[str]:
        wanted = [self.events_table_name, self.chain_table_name]
        present = self._present(*wanted)
        return [name for name in wanted if name not in present]

    def _present(self, *wanted: str) -> set[str]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
                         (self.datastore.schema, list(wanted)))
            return {str(row[0]) for row in curs.fetchall()}


    # -- the partition index (reads retried as eventsourcing's are: a pooled connection that
    # the database closed, e.g. after an outage, is replaced) ---------------------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_partitions(self, partitions: Sequence[str], after: int, until: int | None,
                          limit: int) -> list[Notification]:
        wanted = check_partitions(partitions)
        bound = until if until is not None else 2**63 - 1
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_partitions, (wanted, after, bound, limit), prepare=True)
            return [Notification(id=row["notification_id"], originator_id=row["originator_id"],
                                 originator_version=row["originator_version"],
                                 topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_index(self, after: int, until: int) -> list[tuple[int, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_index, (after, until), prepare=True)
            return [(int(row["position"]), str(row["partition"])) for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def index_head(self) -> int | None:
        if self.index_table_name not in self._present(self.index_table_name):
            return None
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_index_head)
            row = curs.fetchone()
            return int(row["head"] or 0) if row else 0

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def partitions_like(self, prefix: str, limit: int) -> list[str]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_like, (prefix, limit))
            return [str(row["partition"]) for row in curs.fetchall()]

    def write_index(self, rows: Sequence[tuple[str, int, datetime | None, datetime | None]],
                    *, replace: bool) -> None:
        with self.datastore.transaction(commit=True) as curs:
            if replace:
                curs.execute(self._sql_clear_index)
            curs.executemany(self._sql_insert_index, rows)


def _db_function_ddl(statement: Composed) -> bool:
    """eventsourcing's stored insert function: Paddock never calls it (refused above), and
    `CREATE OR REPLACE FUNCTION` rewrites its catalog row on every open, so two processes
    opening the store at once failed with "tuple concurrently updated"."""
    return "CREATE OR REPLACE FUNCTION" in statement.as_string()


def _link(row: TupleRow) -> Link:
    return Link(int(row[0]), str(row[1]), str(row[2]))

