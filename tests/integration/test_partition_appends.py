"""Appends of different partitions on PostgreSQL run in parallel (issue 10 item 5), and readers
still never skip an event: shown with an append held open in one transaction (its partition's
lock held, its notification id taken, not committed) while other connections append and read.
Nothing here waits on time: what blocks is observed in `pg_locks`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from domain.partitions import IndexEntry
from infra.chain import opened_chain
from infra.chain.index import INDEX_KEYWORD
from infra.chain.order import store_key
from infra.chain.postgres import ChainedPostgresApplicationRecorder
from infra.store import store_settings
from services.ledger import Ledger
from tests.waiting import DEADLINE

pytestmark = pytest.mark.postgres
A, B = "tests:a", "tests:b"


class Abort(Exception):
    """Raised inside a held append to roll it back."""


def stored(n: int) -> StoredEvent:
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic="tests:Appended",
                       state=f"event {n}".encode())


def under(*partitions: str, count: int = 1) -> dict[str, Any]:
    return {INDEX_KEYWORD: [IndexEntry(partitions, None, None)] * count}


@pytest.fixture
def ledger(postgres_store: str) -> Ledger:
    # a lock that stays held fails the test after 20 s instead of hanging it
    return Ledger(env={**store_settings(postgres_store), "POSTGRES_LOCK_TIMEOUT": "20"})


def recorder_of(ledger: Ledger) -> ChainedPostgresApplicationRecorder:
    recorder = ledger.recorder
    assert isinstance(recorder, ChainedPostgresApplicationRecorder)
    return recorder


@contextmanager
def held_append(ledger: Ledger, *partitions: str) -> Iterator[int]:
    """An append of one event to `partitions`, in flight: its position is taken, its partitions
    locked, nothing committed until the block ends (raise Abort in it to roll it back)."""
    recorder = recorder_of(ledger)
    try:
        with (recorder.datastore.get_connection() as conn, conn.transaction(),
              conn.cursor() as curs):
            (position,) = recorder.append_in(curs, [stored(0)], under(*partitions))
            yield position
    except Abort:
        pass


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"still not so after {DEADLINE} s: {what}"
        time.sleep(0.02)


def waiting_for_locks(postgres_store: str, schema_table: str) -> int:
    """How many sessions wait for one of this store's partition locks."""
    key = store_key(schema_table).unsigned
    base = postgres_store.split("?")[0]
    with psycopg.connect(base) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
                           "granted AND classid::bigint = %s", (key,)).fetchone()
    return int(row[0]) if row else 0


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    return thread, result


def positions(ledger: Ledger, after: int = 0) -> list[int]:
    """What a follower of the whole log reads (Ledger.read_events, without decoding the test's
    raw events)."""
    return [n.id for n in ledger.recorder.select_notifications(after, 100, inclusive_of_start=False)]


def in_partitions(ledger: Ledger, *partitions: str) -> list[int]:
    """What a reader of these partitions reads (Ledger.read_partitions, undecoded)."""
    return [n.id for n in recorder_of(ledger).select_partitions(partitions, 0, None, 100)]


def table(ledger: Ledger) -> str:
    recorder = recorder_of(ledger)
    return f"{recorder.datastore.schema}.{recorder.events_table_name}"


def test_an_append_to_another_partition_does_not_wait(ledger: Ledger, postgres_store: str) -> None:
    with held_append(ledger, A) as first:
        (other,) = recorder_of(ledger).insert_events([stored(1)], **under(B))  # returns: no wait
        assert other > first
        same, done = in_thread(lambda: recorder_of(ledger).insert_events([stored(2)], **under(A)))
        wait_until(lambda: waiting_for_locks(postgres_store, table(ledger)) == 1,
                   what="the append to the same partition waits for its lock")
        assert not done
    same.join()
    assert done and done[0][0] > other
    assert positions(ledger) == [first, other, done[0][0]]
    with opened_chain(postgres_store) as chain:
        assert chain.walk_chain().ok


def test_an_event_under_two_partitions_locks_both(ledger: Ledger, postgres_store: str) -> None:
    """A championship definition routing to an event is indexed under both: an append to the
    event's partition waits for it, or a reader of that partition could pass it by."""
    with held_append(ledger, A, B):
        later, done = in_thread(lambda: recorder_of(ledger).insert_events([stored(1)], **under(B)))
        wait_until(lambda: waiting_for_locks(postgres_store, table(ledger)) == 1,
                   what="the append to the second partition waits")
        assert not done
    later.join()
    assert done


def test_a_follower_never_skips_an_append_that_commits_after_a_later_one(
        ledger: Ledger, postgres_store: str) -> None:
    (before,) = recorder_of(ledger).insert_events([stored(0)], **under(B))
    with held_append(ledger, A) as first:
        (later,) = recorder_of(ledger).insert_events([stored(1)], **under(B))
        assert before < first < later
        assert positions(ledger) == [before]  # the final prefix: not `later`, yet
        with opened_chain(postgres_store) as chain:
            assert chain.stable_head(0) == before
            assert chain.walk_chain().head_position == before  # a checkpoint would wait too
        assert in_partitions(ledger, B) == [before, later]  # one partition: no gap logic
    assert positions(ledger) == [before, first, later]
    assert positions(ledger, before) == [first, later]


def test_an_aborted_appends_gap_is_skipped_once_it_ended(ledger: Ledger,
                                                         postgres_store: str) -> None:
    with held_append(ledger, A) as gap:
        (later,) = recorder_of(ledger).insert_events([stored(1)], **under(B))
        assert positions(ledger) == []
        raise Abort
    assert positions(ledger) == [later]  # the gap is permanent now: passed over
    assert positions(ledger) == [later]  # (and known to be, without asking again)
    reader = Ledger(env={**store_settings(postgres_store), "CREATE_TABLE": "no"})
    assert positions(reader) == [later]  # a new process finds it so too
    assert gap < later
    with opened_chain(postgres_store) as chain:
        verdict = chain.walk_chain()
    assert verdict.ok and verdict.head_position == later  # a gap is not a finding


def test_a_read_of_several_partitions_returns_what_is_final_without_waiting(
        ledger: Ledger) -> None:
    """Ids of one partition commit in order (its lock); of several, not: such a read stops below
    the appends in flight to them."""
    (early,) = recorder_of(ledger).insert_events([stored(0)], **under(A))
    with held_append(ledger, A) as first:
        (later,) = recorder_of(ledger).insert_events([stored(1)], **under(B))
        assert in_partitions(ledger, B) == [later]  # one partition: all of it
        assert in_partitions(ledger, A, B) == [early]  # not `later`: `first` may commit
        assert in_partitions(ledger, B, "tests:c") == [later]  # nothing in flight there
    assert in_partitions(ledger, A, B) == [early, first, later]


def test_a_fold_counts_itself_complete_only_up_to_a_final_head(ledger: Ledger) -> None:
    """Partition folds take the head as what they are complete through after a read (and fold
    their process's own next appends straight in when these follow it): while an append is in
    flight, a lower position may still commit, so the head is not known to be final."""
    (early,) = recorder_of(ledger).insert_events([stored(0)], **under(B))
    assert recorder_of(ledger).final_head() == early
    with held_append(ledger, A):
        (later,) = recorder_of(ledger).insert_events([stored(1)], **under(B))
        assert recorder_of(ledger).final_head() == 0 and ledger.head() == later
    assert recorder_of(ledger).final_head() == later
