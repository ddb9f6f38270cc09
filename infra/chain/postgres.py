"""The hash-chained PostgreSQL application recorder.

Appends: eventsourcing's recorder takes `LOCK TABLE <events> IN EXCLUSIVE MODE` in every append,
which serialises every writer of the store. This one takes instead, before inserting, a
transaction-level advisory lock on every partition the batch's events are indexed under
(`pg_advisory_xact_lock(store key, partition key)`, keys in ascending order so that two appends
never wait for each other in a cycle), held until commit. So appends of different partitions run
in parallel, and within one partition notification ids are issued and committed in order: the
previous digest of each partition is read after the insert, under its lock, and each partition's
chain stays linear. A reader of one partition never skips an id that commits later; a reader of
several (`select_partitions`) gets only what is final (cut below the appends in flight to them,
without waiting); a follower of the whole log (`select_notifications`) returns only the final
prefix of the log (infra/chain/order.py). The chain and index rows go in the same transaction.
eventsourcing's `NOTIFY` is not sent: nothing in Paddock LISTENs, and PostgreSQL serialises the
commits of every transaction that notified (a database-wide lock taken at commit, so that
notifications are queued in commit order), which would put the global serialisation back.

`insert_events` is eventsourcing's own, re-stated: the library's version keeps an exception
raised after the INSERT (in `_fetch_ids_after_insert_events`) until its transaction has
committed, which would store events without digests if the chain step failed. Here any failure
rolls the whole append back. POSTGRES_ENABLE_DB_FUNCTIONS (inserts through a stored function,
bypassing this code) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, TupleRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from infra.chain import (
    CHAIN_SUFFIX,
    PAGE,
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
)
from infra.chain.order import FinalPrefix, lock_key, store_key
from infra.retrying import retry_conflicts
from services.audit_chain import GENESIS, LEGACY, Link, content_bytes


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder, ChainRecorder, PartitionIndex):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise OSError("POSTGRES_ENABLE_DB_FUNCTIONS=yes inserts events through a stored "
                          "function that skips the hash chain; unset it for Paddock stores")
        self.chain_table_name = events_table_name + CHAIN_SUFFIX
        self.index_table_name = events_table_name + INDEX_SUFFIX
        self.check_identifier_length(self.chain_table_name + "_partition")
        self._store_key = store_key(f"{datastore.schema}.{events_table_name}")
        self._order = FinalPrefix()
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
            "previous text NOT NULL, digest text NOT NULL, partition text NOT NULL DEFAULT {2})"
        ).format(schema, chain, Literal(LEGACY)))
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0}.{1} (partition text NOT NULL, position bigint NOT NULL, "
            "effective_at timestamptz, recorded_at timestamptz, PRIMARY KEY (partition, position))"
        ).format(schema, index))
        self.sql_create_statements.append(SQL(
            "CREATE INDEX IF NOT EXISTS {0} ON {1}.{2} (position)").format(
                Identifier(self.index_table_name + "_position"), schema, index))
        for suffix, columns in (("_recorded", SQL("(recorded_at)")),
                                ("_early", SQL("(effective_at) WHERE " + EARLY))):
            self.sql_create_statements.append(SQL("CREATE INDEX IF NOT EXISTS {0} ON {1}.{2} {3}"
                                                  ).format(Identifier(self.index_table_name + suffix),
                                                           schema, index, columns))
        self._sql_insert_index = SQL("INSERT INTO {0}.{1} VALUES (%s, %s, %s, %s)").format(schema, index)
        self._sql_partitions = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {0}.{1} "
            "WHERE notification_id IN (SELECT position FROM {0}.{2} WHERE partition = ANY(%s) "
            "AND position > %s AND position <= %s) ORDER BY notification_id LIMIT %s"
        ).format(schema, events, index)
        self._sql_partitions_held = SQL(  # and where the partitions with an append in flight end
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "(SELECT min(coalesce((SELECT max(i.position) FROM {0}.{2} AS i WHERE i.partition = h.p),"
            " 0)) FROM unnest(%(held)s::text[]) AS h(p)) AS held_end FROM {0}.{1} AS e WHERE "
            "e.notification_id IN (SELECT position FROM {0}.{2} WHERE partition = ANY(%(wanted)s) "
            "AND position > %(after)s AND position <= %(bound)s) ORDER BY e.notification_id "
            "LIMIT %(limit)s").format(schema, events, index)
        self._sql_in_flight = SQL(
            "SELECT (SELECT max(notification_id) FROM {0}.{1}) AS head, ARRAY(SELECT DISTINCT "
            "objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = "
            "'ExclusiveLock' AND objsubid = 2 AND classid::bigint = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())) AS keys"
        ).format(schema, events)
        self._sql_index = SQL("SELECT position, partition FROM {0}.{1} WHERE position > %s AND "
                              "position <= %s ORDER BY position").format(schema, index)
        self._sql_index_head = SQL("SELECT max(position) AS head FROM {0}.{1}").format(schema, index)
        self._sql_like = SQL("SELECT DISTINCT partition FROM {0}.{1} WHERE starts_with(partition, %s) "
                             "ORDER BY partition LIMIT %s").format(schema, index)
        self._sql_clear_index = SQL("DELETE FROM {0}.{1}").format(schema, index)
        self._sql_latest = SQL("SELECT recorded_at AS latest FROM {0}.{1} WHERE recorded_at IS NOT "
                               "NULL AND position <= %s ORDER BY recorded_at DESC LIMIT 1"
                               ).format(schema, index)
        self._sql_waiting = SQL(
            "SELECT position, partition, effective_at FROM {0}.{1} WHERE " + EARLY + " AND "
            "effective_at > %s AND position <= %s ORDER BY position, partition").format(schema, index)
        self._sql_first = SQL("SELECT min(position) AS first FROM {0}.{1} WHERE partition = %s"
                              ).format(schema, index)
        self._sql_genesis = SQL("INSERT INTO {0}.{1} (position, previous, digest) VALUES (0, %s, %s) "
                                "ON CONFLICT DO NOTHING").format(schema, chain)
        self._sql_has_partitions = SQL(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "AND column_name = 'partition'")
        self._sql_add_partitions = SQL(
            "ALTER TABLE {0}.{1} ADD COLUMN IF NOT EXISTS partition text NOT NULL DEFAULT {2}"
        ).format(schema, chain, Literal(LEGACY))
        self._sql_partition_index = SQL("CREATE INDEX IF NOT EXISTS {0} ON {1}.{2} (partition, position)"
                                        ).format(Identifier(self.chain_table_name + "_partition"),
                                                 schema, chain)
        self._sql_lock = SQL(  # the OFFSET 0 fence: locks taken in ascending order
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM (SELECT k FROM unnest(%s::int[]) "
            "AS k ORDER BY k OFFSET 0) AS sorted")
        self._sql_partition_index_exists = SQL("SELECT to_regclass({0}) AS found").format(
            Literal(f'"{datastore.schema}"."{self.chain_table_name}_partition"'))
        self._sql_lock_timeout = SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout)
        self._sql_writers = SQL(
            "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND objsubid = 2 AND classid::bigint = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())")
        self._sql_notifications = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {0}.{1} "
            "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id LIMIT %s"
        ).format(schema, events)
        self._sql_ids = SQL("SELECT notification_id FROM {0}.{1} WHERE notification_id > %s AND "
                            "notification_id <= %s ORDER BY notification_id LIMIT %s"
                            ).format(schema, events)
        self._sql_chain_start = SQL(
            "SELECT (SELECT max(notification_id) FROM {0}.{2}) AS last_event, "
            "(SELECT max(position) FROM {0}.{1}) AS chain_head, "
            "(SELECT previous FROM {0}.{1} WHERE position = 0) AS previous, "
            "(SELECT digest FROM {0}.{1} WHERE position = 0) AS digest").format(schema, chain, events)
        self._sql_append_start = SQL(  # one round trip: the checks, then each partition's head
            "SELECT (SELECT max(position) FROM {0}.{1}) AS chain_head, "
            "(SELECT max(notification_id) FROM {0}.{2} WHERE notification_id < %(first)s) "
            "AS last_event, (SELECT min(position) FROM {0}.{1} WHERE position = ANY(%(ids)s)) "
            "AS taken, h.partition, h.digest FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
            "SELECT p.partition, c.digest FROM unnest(%(homes)s::text[]) AS p(partition) "
            "CROSS JOIN LATERAL (SELECT digest FROM {0}.{1} WHERE partition = p.partition "
            "AND position < %(first)s ORDER BY position DESC LIMIT 1) AS c) AS h ON true"
        ).format(schema, chain, events)
        self._sql_heads = SQL(
            "SELECT p.partition, c.position, c.digest FROM unnest(%s::text[]) AS p(partition) "
            "CROSS JOIN LATERAL (SELECT position, digest FROM {0}.{1} WHERE partition = p.partition "
            "AND position < %s ORDER BY position DESC LIMIT 1) AS c").format(schema, chain)
        self._sql_insert_link = SQL("INSERT INTO {0}.{1} (position, previous, digest, partition) "
                                    "VALUES (%s, %s, %s, %s)").format(schema, chain)
        self._sql_links = SQL("SELECT position, previous, digest, {2} FROM {0}.{1} WHERE position > %s")
        self._chain_ids = (schema, chain)
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
            return self.append_in(curs, stored_events, kwargs, sync=pipeline.sync)

    def append_in(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                  kwargs: dict[str, Any], sync: Callable[[], None] = lambda: None) -> list[int]:
        """Append within the caller's transaction: lock the partitions, insert, chain, index;
        returns the events' positions. (`insert_events` commits at once; a test holds the
        transaction open to show what an append in flight does to others.)"""
        entries = index_entries(stored_events, kwargs)
        self._lock_partitions(curs, [p for entry in entries for p in entry.partitions])
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events)
        sync()  # a version conflict raises IntegrityError here, and rolls back
        ids = list(self._fetch_ids_after_insert_events(curs, stored_events, **kwargs) or ())
        assert len(ids) == len(stored_events)
        uuid_ids = self.datastore.originator_id_type == "uuid"
        self._append(curs, [
            (i, home, content_bytes(i, originator_text(s.originator_id, uuid_ids=uuid_ids),
                                    s.originator_version, s.topic, s.state))
            for i, home, s in zip(ids, homes(entries), stored_events, strict=True)])
        curs.executemany(self._sql_insert_index, index_rows(ids, entries))
        return ids

    def _lock_partitions(self, curs: Cursor[DictRow], partitions: Iterable[str]) -> None:
        """Lock these partitions until the transaction ends, in ascending key order (the one
        order every append takes them in: no deadlock)."""
        curs.execute(self._sql_lock_timeout)
        curs.execute(self._sql_lock, (self._store_key.signed, sorted({lock_key(p) for p in partitions})),
                     prepare=True)

    def _append(self, curs: Cursor[DictRow], contents: list[tuple[int, str, bytes]]) -> None:
        """Chain new events; the caller holds their partitions' locks."""
        if not contents:
            return
        positions = [position for position, _, _ in contents]
        curs.execute(self._sql_append_start, {
            "first": min(positions), "ids": positions,
            "homes": sorted({home for _, home, _ in contents})}, prepare=True)
        rows = curs.fetchall()
        heads = {str(row["partition"]): str(row["digest"]) for row in rows if row["partition"]}
        found = AppendStart(rows[0]["chain_head"], rows[0]["last_event"], rows[0]["taken"], heads)
        curs.executemany(self._sql_insert_link, next_links(found, contents, self._where))

    def prior_link(self, partition: str, position: int) -> tuple[int, str]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_heads, ([partition], position), prepare=True)
            row = curs.fetchone()
            return (int(row["position"]), str(row["digest"])) if row else (0, GENESIS)

    @property
    def _where(self) -> str:
        return f"PostgreSQL table {self.datastore.schema}.{self.chain_table_name}"

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        """Create the tables; a new, empty log gets its chain's genesis row, a log with events
        that no chain covers is refused (the transaction, table creation included, rolls back)."""
        super()._create_table(curs)
        if not self._has_partitions(curs):  # a chain written before it was split per partition
            curs.execute(self._sql_add_partitions)
        curs.execute(self._sql_partition_index_exists)
        row = curs.fetchone()
        if row is None or row["found"] is None:  # (CREATE INDEX IF NOT EXISTS locks the table)
            curs.execute(self._sql_partition_index)
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

    def _has_partitions(self, curs: Cursor[Any]) -> bool:
        curs.execute(self._sql_has_partitions, (self.datastore.schema, self.chain_table_name))
        return curs.fetchone() is not None

    # -- reading the whole log: only its final prefix (infra/chain/order.py) ----------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True
                             ) -> Sequence[Notification]:
        """eventsourcing's, cut before the first id an append in flight may still fill (with
        `topics`, eventsourcing's own: Paddock filters no topics)."""
        if topics:
            found: Sequence[Notification] = super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start)
            return found
        after = 0 if start is None else start - 1 if inclusive_of_start else start
        last = stop if stop is not None else 2**63 - 1

        def select(bound: int) -> list[Notification]:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(self._sql_notifications, (after, min(bound, last), limit),
                             prepare=True)
                return [Notification(id=row["notification_id"],
                                     originator_id=row["originator_id"],
                                     originator_version=row["originator_version"],
                                     topic=row["topic"], state=bytes(row["state"]))
                        for row in curs.fetchall()]

        return self._order.read(after, select, lambda n: n.id, limit, self._writers)

    def stable_head(self, after: int) -> int | None:
        head = self.max_notification_id() or 0  # first: then the appends in flight
        return self._order.stable(after, head, self._ids_after(after), self._writers)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def final_head(self) -> int:
        """The largest committed position, read before the appends in flight are sampled (one
        statement): with none in flight, every position up to it is final (see `FinalPrefix`);
        with some, 0 (not known)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_in_flight, (self._store_key.unsigned,), prepare=True)
            row = curs.fetchone()
            return 0 if row is None or row["keys"] else int(row["head"] or 0)

    def _ids_after(self, after: int) -> Callable[[int], list[int]]:
        def select(bound: int) -> list[int]:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(self._sql_ids, (after, bound, 2**62))
                return [int(row["notification_id"]) for row in curs.fetchall()]
        return select

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _writers(self) -> frozenset[str]:
        """The appends to this store in flight now: those holding any of its advisory locks."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_writers, (self._store_key.unsigned,))
            return frozenset(str(row["virtualtransaction"]) for row in curs.fetchall())

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
        params = [links_after(after)]
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor() as curs:
                partition = SQL("partition" if chained and self._has_partitions(curs) else "''")
            links_query = self._sql_links.format(*self._chain_ids, partition)
            if until is not None:
                links_query += SQL(" AND position <= %s")
                params.append(until)
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
        """Ids of one partition commit in order (its lock); across several they do not, so a
        read of several returns only what is final, without waiting. First, in one statement:
        the largest committed id `head`, then the partitions with an append in flight (holding
        their lock); then, in a later snapshot, the rows up to `head` and up to the last
        committed id of each partition with an append in flight. Why nothing is skipped: let an
        append T to one of these partitions p hold an id g, uncommitted in the read, below a
        returned row r. r ≤ head, so T took g before `head` was read, having locked p before:
        when the locks were sampled T held p's lock (or had ended: then g is visible to the
        later read, or never will be). An append holding p's lock takes ids above every
        committed id of p, so the cut at p's last committed id is below g: r is not returned."""
        wanted = check_partitions(partitions)
        bound = until if until is not None else 2**63 - 1
        with self.datastore.transaction(commit=False) as curs:
            if len(wanted) == 1:
                curs.execute(self._sql_partitions, (wanted, after, bound, limit), prepare=True)
                return [_notification(row) for row in curs.fetchall()]
            curs.execute(self._sql_in_flight, (self._store_key.unsigned,), prepare=True)
            found = curs.fetchone()
            assert found is not None
            keys = {key if key < 2**31 else key - 2**32 for key in found["keys"]}
            held = [p for p in wanted if lock_key(p) in keys]
        with self.datastore.transaction(commit=False) as curs:  # a snapshot after the sampling
            curs.execute(self._sql_partitions_held, {
                "held": held, "wanted": wanted, "after": after, "limit": limit,
                "bound": min(bound, found["head"] or 0)}, prepare=True)
            rows = curs.fetchall()
        return [_notification(row) for row in rows if not held or row["notification_id"]
                <= rows[0]["held_end"]]

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

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_times(self, until: int) -> tuple[datetime | None, list[tuple[int, str, datetime]]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_latest, (until,), prepare=True)
            row = curs.fetchone()
            latest = row["latest"] if row else None
            if latest is None:
                return None, []
            curs.execute(self._sql_waiting, (latest, until), prepare=True)
            return latest, [(int(r["position"]), str(r["partition"]), r["effective_at"])
                            for r in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def first_position(self, partition: str) -> int | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql_first, (partition,), prepare=True)
            row = curs.fetchone()
            return None if row is None or row["first"] is None else int(row["first"])

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


def _notification(row: DictRow) -> Notification:
    return Notification(id=row["notification_id"], originator_id=row["originator_id"],
                        originator_version=row["originator_version"], topic=row["topic"],
                        state=bytes(row["state"]))


def _link(row: TupleRow) -> Link:
    return Link(int(row[0]), str(row[1]), str(row[2]), str(row[3]))

