"""The partition index on real SQLite and PostgreSQL: written with every event in the same
transaction, read one championship at a time, and built for a log written without one."""

from __future__ import annotations

import gc
import sqlite3
import tracemalloc
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from domain.partitions import Partitioner, championship_partition, event_partition
from infra.chain.index import UnindexedAppendError
from infra.store import store_settings
from projections.canonical import canonical_json
from projections.standings_view import standings_view
from services.demo import ASLMS, LEMANS, load_demo
from services.ledger import Ledger
from services.partition_folds import BYTES_PER_UNIT, weight
from tests.conftest import Clock


def _index(ledger: Ledger) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for position, _, partitions in ledger.read_indexed(0):
        found[position] = set(partitions)
    return found


def _expected(ledger: Ledger) -> dict[int, set[str]]:
    partitioner = Partitioner()
    return {position: set(partitioner.partitions(event)) for position, event in ledger.read_events(0)}


def test_every_event_is_indexed_under_its_partitions(ledger: Ledger) -> None:
    load_demo(ledger)
    assert ledger.partitions.indexed
    index = _index(ledger)
    assert index == _expected(ledger) and len(index) == ledger.head()
    assert any(event_partition(LEMANS) in parts and championship_partition(ASLMS) in parts
               for parts in index.values()), "a definition routing to Le Mans is in both"


def test_a_championship_is_read_from_its_own_rows_only(ledger: Ledger, store_url: str,
                                                      clock: Clock) -> None:
    load_demo(ledger)
    own = ledger.read_partitions([championship_partition(ASLMS)])
    others = [p for p, parts in _index(ledger).items() if championship_partition(ASLMS) not in parts]
    assert own and others and not {p for p, _ in own} & set(others)
    assert [p for p, _ in own] == sorted(p for p, _ in own)
    for as_of in (ledger.clock(),):
        scoped = canonical_json(ledger.standings(ASLMS, as_of=as_of))
        whole = canonical_json(standings_view(ledger.replay(), ASLMS, as_of, ledger.clock()))
        assert scoped == whole
    whole = sum(weight(event) for _, event in ledger.read_events(0))
    reader = Ledger(env=store_settings(store_url), clock=clock)  # the writer holds what it wrote
    reader.standings(ASLMS)
    assert reader.folds.scopes_held == 1 and reader.folds.units_held < whole


def test_an_append_without_its_index_is_refused_and_nothing_is_recorded(
        ledger: Ledger, store_url: str) -> None:
    load_demo(ledger)
    head = ledger.head()
    raw = StoredEvent(originator_id=uuid4(), originator_version=1, topic="tests:Appended",
                      state=b"{}")
    with pytest.raises(UnindexedAppendError, match="1 events appended with no partition index"):
        ledger.recorder.insert_events([raw])
    assert ledger.head() == head
    assert Ledger(env=store_settings(store_url)).head() == head


def test_a_log_written_without_an_index_is_read_walking_it_then_indexed_by_a_writer(
        sqlite_store: str, clock: Clock) -> None:
    writer = Ledger(env=store_settings(sqlite_store), clock=clock)
    load_demo(writer)
    expected = canonical_json(writer.standings(ASLMS, as_of=clock()))
    path = store_settings(sqlite_store)["SQLITE_DBNAME"]
    with sqlite3.connect(path) as db:  # as a log from before the index: rows gone
        db.execute(f"DELETE FROM {writer.recorder.index_table_name}")  # type: ignore[attr-defined]

    reader = Ledger(env={**store_settings(sqlite_store), "CREATE_TABLE": "no"}, clock=clock)
    assert not reader.partitions.indexed
    assert canonical_json(reader.standings(ASLMS, as_of=clock())) == expected

    Ledger(env=store_settings(sqlite_store), clock=clock)  # a writer opens it: indexed
    again = Ledger(env={**store_settings(sqlite_store), "CREATE_TABLE": "no"}, clock=clock)
    assert again.partitions.indexed
    assert _index(again) == _expected(again)
    assert canonical_json(again.standings(ASLMS, as_of=clock())) == expected


def test_the_in_memory_store_answers_by_walking_its_log(memory_ledger: Ledger) -> None:
    load_demo(memory_ledger)
    assert not memory_ledger.partitions.indexed
    assert _index(memory_ledger) == _expected(memory_ledger)
    assert memory_ledger.standings(ASLMS)["championship"] == ASLMS


def test_a_bounded_cache_answers_every_championship(ledger: Ledger, store_url: str,
                                                   clock: Clock) -> None:
    load_demo(ledger)
    bounded = Ledger(env=store_settings(store_url), clock=clock, fold_megabytes=0.001)
    answers: list[Any] = []
    for _ in range(2):
        answers.append(canonical_json(bounded.standings(ASLMS)))
        answers.append(canonical_json(bounded.invitations(LEMANS)))
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert bounded.folds.scopes_held == 1  # only the fold just used is kept beyond the bound


def test_an_unknown_championship_names_some_the_log_holds(ledger: Ledger) -> None:
    load_demo(ledger)
    with pytest.raises(Exception, match=rf"unknown championship 'nope' \(known: .*{ASLMS}"):
        ledger.standings("nope")


def test_the_memory_accounting_is_within_a_factor_of_two_of_what_is_allocated(
        sqlite_store: str, clock: Clock) -> None:
    """The bound is named in megabytes: a unit must cost about BYTES_PER_UNIT (tracemalloc),
    events decoded from the store as a running process decodes them."""
    load_demo(Ledger(env=store_settings(sqlite_store), clock=clock))
    reader = Ledger(env={**store_settings(sqlite_store), "CREATE_TABLE": "no"}, clock=clock)
    scopes = sorted({(part,) for _, _, parts in reader.read_indexed(0) for part in parts
                     if part.startswith(("championship:", "event:"))})
    gc.collect()
    tracemalloc.start()
    try:
        for scope in scopes:
            reader.scoped(scope)
        gc.collect()
        allocated, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_unit = allocated / reader.folds.units_held
    assert BYTES_PER_UNIT / 2 <= per_unit <= BYTES_PER_UNIT * 2, per_unit
