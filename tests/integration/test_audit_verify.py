"""`audit verify` on the real demo log, on SQLite and PostgreSQL: intact, then tampered with
directly in SQL, as someone with database access would: each change is found, with its kind and
its log position. Also: a consistent rewrite of the chain fails a kept checkpoint; concurrent
writers keep the chain linear; a chain gone, shorter than the log or with an edited genesis row
refuses writes and is a finding, never re-chained."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent

from domain.partitions import IndexEntry
from infra.chain import (
    ChainConflictError,
    ChainRecorder,
    NoChainError,
    UnchainedLogError,
    chain_of,
    opened_chain,
    originator_text,
)
from infra.chain.index import INDEX_KEYWORD
from infra.store import store_settings
from services.audit_chain import GENESIS, Checkpoint, Verdict, content_bytes, extend
from services.ledger import Ledger

P, Q = 5, 12  # the positions tampered with (the demo log has more than Q events)


class Sql:
    """Plain SQL on the store's tables, outside Paddock."""

    def __init__(self, store_url: str, chain: ChainRecorder) -> None:
        self.settings = store_settings(store_url)
        self.sqlite = "SQLITE_DBNAME" in self.settings
        self.names = {"events": chain.events_table_name, "chain": chain.chain_table_name,
                      "id": "rowid" if self.sqlite else "notification_id"}
        self.url = store_url.split("?")[0]

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        text = statement.format(**self.names)
        if self.sqlite:
            with sqlite3.connect(self.settings["SQLITE_DBNAME"]) as lite:
                rows = lite.execute(text, params).fetchall()
            lite.close()
            return rows
        import psycopg

        with psycopg.connect(self.url) as pg:
            pg.execute(f'SET search_path TO "{self.settings["POSTGRES_SCHEMA"]}"')
            cursor = pg.execute(text.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []

    def event(self, position: int) -> tuple[Any, ...]:
        (row,) = self.run("SELECT {id}, originator_id, originator_version, topic, state "
                          "FROM {events} WHERE {id} = ?", position)
        return row

    def rechain_from(self, position: int) -> None:
        """Recompute and store every digest from `position` on, as a careful attacker would."""
        previous = self.run("SELECT digest FROM {chain} WHERE position = ?", position - 1)[0][0]
        rows = self.run("SELECT {id}, originator_id, originator_version, topic, state "
                        "FROM {events} WHERE {id} >= ? ORDER BY {id}", position)
        contents = [(r[0], content_bytes(r[0], originator_text(r[1], uuid_ids=True), r[2], r[3],
                                         bytes(r[4]))) for r in rows]
        for link in extend(previous, contents):
            self.run("UPDATE {chain} SET previous = ?, digest = ? WHERE position = ?",
                     link.previous, link.digest, link.position)


@contextmanager
def tamper(store_url: str) -> Iterator[Sql]:
    with opened_chain(store_url) as chain:
        yield Sql(store_url, chain)


def verify(store_url: str, checkpoints: Sequence[Checkpoint] = ()) -> Verdict:
    with opened_chain(store_url) as chain:
        return chain.walk_chain(checkpoints)


def found(verdict: Verdict) -> list[tuple[int, str]]:
    return [(f.position, f.kind) for f in verdict.findings]


def flip_a_byte(state: bytes) -> bytes:
    middle = len(state) // 2
    return state[:middle] + bytes([state[middle] ^ 1]) + state[middle + 1:]


# -- an untouched log ---------------------------------------------------------------------------


def test_an_untouched_log_verifies(demo: Ledger, store_url: str) -> None:
    verdict = verify(store_url)
    assert verdict.ok, verdict.findings
    assert verdict.events == verdict.head_position == demo.head() > Q
    with tamper(store_url) as sql:
        stored = sql.run("SELECT digest FROM {chain} WHERE position = ?", demo.head())
        assert sql.run("SELECT previous, digest FROM {chain} WHERE position = 0") == [
            (GENESIS, GENESIS)]
    assert stored == [(verdict.head_digest,)]


def test_appending_after_a_verification_keeps_the_chain(demo: Ledger, store_url: str) -> None:
    before = verify(store_url)
    demo.record_pole("aslms-2023-24", 1, "GT", "91", actor="test", source="test",
                     effective_at=datetime(2023, 12, 3, tzinfo=UTC))  # a correction
    after = verify(store_url, [Checkpoint(before.head_position, before.head_digest)])
    assert after.ok and after.head_position > before.head_position


# -- tampering, each kind on both backends ------------------------------------------------------


def test_a_modified_payload_is_found_at_its_position(demo: Ledger, store_url: str) -> None:
    with tamper(store_url) as sql:
        state = bytes(sql.event(P)[4])
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", flip_a_byte(state), P)
    verdict = verify(store_url)
    assert found(verdict) == [(P, "modified")]
    assert verdict.first is not None and "position 5" in verdict.first.explanation


def test_a_deleted_event_is_found_at_its_position(demo: Ledger, store_url: str) -> None:
    with tamper(store_url) as sql:
        sql.run("DELETE FROM {events} WHERE {id} = ?", P)
    assert found(verify(store_url)) == [(P, "missing")]


def test_a_deleted_event_and_its_digest_break_the_next_link(demo: Ledger, store_url: str) -> None:
    with tamper(store_url) as sql:
        sql.run("DELETE FROM {events} WHERE {id} = ?", P)
        sql.run("DELETE FROM {chain} WHERE position = ?", P)
    assert found(verify(store_url)) == [(P + 1, "broken_link")]


def test_an_inserted_event_is_found_at_its_position(demo: Ledger, store_url: str) -> None:
    head = demo.head()
    with tamper(store_url) as sql:  # a copy of an event, as a later version of its aggregate
        sql.run("INSERT INTO {events} (originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version + 1000, topic, state FROM {events} "
                "WHERE {id} = ?", P)
        (inserted,) = sql.run("SELECT MAX({id}) FROM {events}")[0]
    assert inserted == head + 1
    verdict = verify(store_url)
    assert found(verdict) == [(head + 1, "unchained")]
    assert verdict.events == head + 1


def test_two_swapped_events_are_found_at_the_first(demo: Ledger, store_url: str) -> None:
    with tamper(store_url) as sql:
        _, _, _, topic_p, state_p = sql.event(P)
        _, _, _, topic_q, state_q = sql.event(Q)
        sql.run("UPDATE {events} SET topic = ?, state = ? WHERE {id} = ?", topic_q, state_q, P)
        sql.run("UPDATE {events} SET topic = ?, state = ? WHERE {id} = ?", topic_p, state_p, Q)
    verdict = verify(store_url)
    assert verdict.first is not None and (verdict.first.position, verdict.first.kind) == (
        P, "modified")
    assert found(verdict) == [(P, "modified"), (Q, "modified")]


def test_a_consistent_rewrite_passes_the_walk_but_not_a_kept_checkpoint(
        demo: Ledger, store_url: str) -> None:
    intact = verify(store_url)
    before, at_head = Checkpoint(P - 1, _digest(store_url, P - 1)), Checkpoint(
        intact.head_position, intact.head_digest, source="kept.json")
    with tamper(store_url) as sql:
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", flip_a_byte(bytes(sql.event(P)[4])), P)
        sql.rechain_from(P)
    assert verify(store_url).ok  # the chain alone cannot tell: nothing in it is inconsistent
    verdict = verify(store_url, [before, at_head])
    assert found(verdict) == [(intact.head_position, "checkpoint")]
    assert verdict.first is not None and "kept.json" in verdict.first.explanation


def test_a_truncated_tail_fails_a_checkpoint_of_the_head(demo: Ledger, store_url: str) -> None:
    intact = verify(store_url)
    cut = intact.head_position - 2  # the newest three events, with their digests
    with tamper(store_url) as sql:
        sql.run("DELETE FROM {events} WHERE {id} >= ?", cut)
        sql.run("DELETE FROM {chain} WHERE position >= ?", cut)
    checkpoint = Checkpoint(intact.head_position, intact.head_digest, source="kept.json")
    assert verify(store_url).ok  # without a checkpoint, a shorter log is a consistent log
    verdict = verify(store_url, [checkpoint])
    assert found(verdict) == [(intact.head_position, "truncated")]
    assert verdict.first is not None and f"head {cut - 1}" in verdict.first.explanation


def test_a_backdated_recorded_at_is_found_unless_rechained(demo: Ledger, store_url: str) -> None:
    """`recorded_at` lives in the event's stored state, which its digest covers."""
    intact = verify(store_url)
    with tamper(store_url) as sql:
        state = bytes(sql.event(P)[4])
        backdated = re.sub(rb'("recorded_at":\{"_type_":"datetime_iso","_data_":")\d{4}',
                           rb"\g<1>2019", state, count=1)
        assert backdated != state
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", backdated, P)
    assert found(verify(store_url)) == [(P, "modified")]
    with tamper(store_url) as sql:
        sql.rechain_from(P)
    assert verify(store_url).ok  # only a checkpoint kept before catches a recomputed chain
    kept = Checkpoint(intact.head_position, intact.head_digest)
    assert found(verify(store_url, [kept])) == [(intact.head_position, "checkpoint")]


@pytest.mark.parametrize("change", [
    "UPDATE {chain} SET digest = '" + "ab" * 32 + "' WHERE position = 0",
    "UPDATE {chain} SET previous = '" + "ab" * 32 + "', digest = '" + "ab" * 32
    + "' WHERE position = 0",
    "DELETE FROM {chain} WHERE position = 0",
], ids=["digest edited", "both edited", "deleted"])
def test_an_edited_genesis_row_is_found_and_refuses_writes(
        demo: Ledger, store_url: str, change: str) -> None:
    with tamper(store_url) as sql:
        sql.run(change)
    verdict = verify(store_url)
    assert found(verdict) == [(0, "genesis")]
    with pytest.raises(UnchainedLogError, match="paddock audit verify"):
        Ledger(env=store_settings(store_url))


# -- a chain that is gone or shorter than the log: a finding, never re-chained -------------------


def test_a_dropped_chain_table_is_not_rebuilt_over_an_edited_log(
        demo: Ledger, store_url: str) -> None:
    head = demo.head()
    with tamper(store_url) as sql:
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", flip_a_byte(bytes(sql.event(P)[4])), P)
        sql.run("DROP TABLE {chain}")
    with pytest.raises(UnchainedLogError, match=r"no hash chain.*paddock audit verify") as refused:
        Ledger(env=store_settings(store_url))  # any command opening the store to write
    assert "\n" not in str(refused.value)
    with pytest.raises(PersistenceError):
        demo.record_pole("aslms-2023-24", 1, "GT", "91", actor="test", source="test",
                         effective_at=datetime(2023, 12, 3, tzinfo=UTC))  # an open writer too
    with opened_chain(store_url) as chain:
        assert chain.missing_tables() == [chain.chain_table_name]  # nothing re-created
    verdict = verify(store_url)
    assert found(verdict) == [(1, "missing_chain")]
    assert verdict.first is not None and f"{head} event" in verdict.first.explanation
    assert verdict.events == head and demo.head() == head


def test_a_shortened_chain_refuses_writes_and_names_the_unchained(
        demo: Ledger, store_url: str) -> None:
    head = demo.head()
    with tamper(store_url) as sql:
        sql.run("DELETE FROM {chain} WHERE position >= ?", head - 1)
    with pytest.raises(UnchainedLogError, match=f"after position {head - 2}.*paddock audit verify"):
        Ledger(env=store_settings(store_url))
    with pytest.raises(UnchainedLogError, match=f"after position {head - 2}"):
        demo.record_pole("aslms-2023-24", 1, "GT", "91", actor="test", source="test",
                         effective_at=datetime(2023, 12, 3, tzinfo=UTC))  # an open writer too
    assert demo.head() == head
    assert found(verify(store_url)) == [(head - 1, "unchained"), (head, "unchained")]
def _digest(store_url: str, position: int) -> str:
    with tamper(store_url) as sql:
        return str(sql.run("SELECT digest FROM {chain} WHERE position = ?", position)[0][0])


# -- writers ------------------------------------------------------------------------------------


def stored(n: int) -> StoredEvent:
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic="tests:Appended",
                       state=f"event {n}".encode())


def indexed(events: list[StoredEvent]) -> dict[str, Any]:
    """The partition index entries a recorder requires with raw events (the Ledger makes them)."""
    return {INDEX_KEYWORD: [IndexEntry(("tests",), None, None)] * len(events)}


def insert(recorder: Any, events: list[StoredEvent]) -> Any:
    return recorder.insert_events(events, **indexed(events))


def test_concurrent_writers_keep_the_chain_linear(store_url: str) -> None:
    writers, batches = 4, 25
    ledgers = [Ledger(env=store_settings(store_url)) for _ in range(writers)]
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            start.wait()
            for batch in range(batches):
                insert(ledgers[index].recorder, [stored(batch * 10 + i) for i in range(1 + batch % 3)])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    verdict = verify(store_url)
    assert verdict.ok, verdict.findings[:3]
    assert verdict.events == writers * sum(1 + b % 3 for b in range(batches))


def test_a_failed_append_stores_neither_events_nor_digests(demo: Ledger, store_url: str) -> None:
    recorder = chain_of(demo.recorder)
    assert recorder is not None
    head = demo.head()
    first = demo.read_events(0, limit=1)[0][1]
    clash = StoredEvent(originator_id=first.originator_id, originator_version=first.originator_version,
                        topic="tests:Clash", state=b"x")
    with pytest.raises(IntegrityError):
        insert(demo.recorder, [stored(1), clash])
    assert demo.head() == head
    verdict = verify(store_url)
    assert verdict.ok and verdict.events == head


def test_sqlite_refuses_to_reuse_a_chained_position(sqlite_store: str) -> None:
    ledger = Ledger(env=store_settings(sqlite_store))
    insert(ledger.recorder, [stored(1), stored(2)])
    with tamper(sqlite_store) as sql:
        sql.run("DELETE FROM {events} WHERE {id} = 2")  # SQLite would hand out rowid 2 again
    with pytest.raises(ChainConflictError, match="position 2 is already chained"):
        insert(ledger.recorder, [stored(3)])
    assert found(verify(sqlite_store)) == [(2, "missing")]


def test_a_reader_that_creates_no_table_can_refuse_an_unchained_log(
        demo: Ledger, store_url: str) -> None:
    opened = Ledger(env={**store_settings(store_url), "CREATE_TABLE": "no"})
    reader = chain_of(opened.recorder)  # (the ledger owns the connections: keep it)
    assert reader is not None
    reader.refuse_unchained()  # an intact log: nothing to refuse
    head = demo.head()
    with tamper(store_url) as sql:
        sql.run("DELETE FROM {chain} WHERE position = ?", head)
    with pytest.raises(UnchainedLogError, match=f"after position {head - 1}"):
        reader.refuse_unchained()
    with tamper(store_url) as sql:
        sql.run("DROP TABLE {chain}")
    with pytest.raises(UnchainedLogError, match=f"up to position {head}.*no hash chain"):
        reader.refuse_unchained()


def test_a_log_written_before_the_chain_is_refused_not_chained(store_url: str) -> None:
    plain = {k: v for k, v in store_settings(store_url).items()
             if k != "APPLICATION_RECORDER_TOPIC"}
    before = Ledger(env=plain)
    insert(before.recorder, [stored(n) for n in range(5)])
    with pytest.raises(UnchainedLogError, match="up to position 5"):
        Ledger(env=store_settings(store_url))
    assert found(verify(store_url)) == [(1, "missing_chain")]


def test_an_empty_log_without_a_chain_gets_one(store_url: str) -> None:
    plain = {k: v for k, v in store_settings(store_url).items()
             if k != "APPLICATION_RECORDER_TOPIC"}
    Ledger(env=plain)  # the events table, created empty, and no chain table
    now = Ledger(env=store_settings(store_url))  # nothing to vouch for yet: the chain starts
    insert(now.recorder, [stored(1)])
    verdict = verify(store_url)
    assert verdict.ok and verdict.events == verdict.head_position == 1


def test_the_memory_store_keeps_no_chain() -> None:
    assert chain_of(Ledger(env=store_settings("memory://")).recorder) is None
    with pytest.raises(NoChainError, match="in-memory"):
        verify("memory://")
