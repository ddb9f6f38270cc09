"""Partitions: which part of the world each fact is about, the folds of a few partitions kept
within a bound, and the partitions a target event's views depend on."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from domain.aggregates.championship import Championship
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.stewards_decision import StewardsDecision
from domain.aggregates.target_event import TargetEvent
from domain.partitions import (
    Partitioner,
    championship_partition,
    event_partition,
)
from projections.ledger import LedgerFold
from projections.partition_scope import event_dependencies
from services.demo import ASLMS, LEMANS
from services.partition_folds import PartitionFolds, weight
from tests.unit.test_fold_properties import events_of

ELMS = "elms-2023"


def test_every_fact_of_the_demo_has_its_home_first() -> None:
    partitioner = Partitioner()
    homes = {type(event): partitioner.partitions(event)[0] for _, event in events_of("corrected")}
    assert homes[RaceClassification.Published] == championship_partition(ASLMS)
    assert homes[StewardsDecision.PenaltyImposed] == championship_partition(ASLMS)
    assert homes[Championship.EntryDeclared].startswith("championship:")
    assert homes[TargetEvent.Registered] == event_partition(LEMANS)
    assert homes[Invitation.Transitioned] == event_partition(LEMANS)


def test_a_championship_routing_to_an_event_is_also_in_the_events_partition() -> None:
    partitioner = Partitioner()
    routed = [partitioner.partitions(e) for _, e in events_of("demo")
              if isinstance(e, Championship.Registered) and e.definition.get("invitation_routes")]
    assert routed, "the demo's championships declare routes to Le Mans"
    for partitions in routed:
        assert partitions[0].startswith("championship:")
        assert event_partition(LEMANS) in partitions[1:]


def test_an_event_before_its_aggregate_was_created_is_named() -> None:
    decision = next(e for _, e in events_of("corrected")
                    if isinstance(e, StewardsDecision.PenaltyAmended | StewardsDecision.PenaltyRescinded))
    with pytest.raises(LookupError, match="before its aggregate was created"):
        Partitioner().partitions(decision)


def test_a_target_events_views_depend_on_the_partitions_its_routes_name() -> None:
    partitioner = Partitioner()
    events = events_of("demo")
    own = [(p, e) for p, e in events if event_partition(LEMANS) in partitioner.partitions(e)]
    state = LedgerFold().apply_all(own)
    found = event_dependencies(state, LEMANS)
    assert event_partition(LEMANS) in found
    assert championship_partition(ASLMS) in found
    assert all(p.split(":")[0] in {"championship", "event", "award"} for p in found)


# -- the fold cache ------------------------------------------------------------------------------


class CountingLog:
    """A log of events by partition that counts what is read from it."""

    def __init__(self, events: tuple[tuple[int, Any], ...]) -> None:
        partitioner = Partitioner()
        self.events = [(p, e, partitioner.partitions(e)) for p, e in events]
        self.reads: Counter[tuple[str, ...]] = Counter()

    def read(self, scope: tuple[str, ...], after: int) -> list[tuple[int, Any]]:
        self.reads[scope] += 1
        return [(p, e) for p, e, parts in self.events if p > after and set(parts) & set(scope)]


def test_a_fold_is_read_once_and_then_only_its_new_events() -> None:
    log = CountingLog(events_of("demo"))
    folds = PartitionFolds(log.read)
    scope = (championship_partition(ASLMS),)
    first = folds.state(scope)
    assert ASLMS in first.championships and set(first.championships) == {ASLMS}
    assert folds.state(scope) is first and log.reads[scope] == 2  # the second read found nothing
    with folds.pinned():
        folds.state(scope)
        folds.state(scope)
    assert log.reads[scope] == 3


def test_the_least_recently_used_folds_are_dropped_beyond_the_bound() -> None:
    log = CountingLog(events_of("demo"))
    sizes = Counter(part for _, event, parts in log.events for part in parts
                    for _ in range(weight(event)))
    lemans, aslms = (event_partition(LEMANS),), (championship_partition(ASLMS),)
    folds = PartitionFolds(log.read, max_units=sizes[aslms[0]])
    folds.state(lemans)
    folds.state(aslms)
    assert folds.scopes_held == 1 and folds.units_held == sizes[aslms[0]]
    again = folds.state(lemans)  # read again from the log, equal to the first time
    assert LEMANS in again.target_events and log.reads[lemans] == 2
    assert folds.units_held <= max(sizes[aslms[0]], sizes[lemans[0]])


def test_a_bound_below_one_event_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one unit"):
        PartitionFolds(CountingLog(()).read, max_units=0)



def test_a_dropped_fold_is_freed_without_the_cyclic_collector() -> None:
    """A process evicting folds from its cache frees their memory at once: a fold (and what a
    query memoised in it) holds no reference cycle that only the rare full collection breaks."""
    import gc
    import weakref

    from projections.standings_view import standings_view

    events = events_of("corrected")
    at = max(e.recorded_at for _, e in events)
    gc.disable()
    try:
        fold = LedgerFold()
        fold.apply_all(events)
        standings_view(fold.state, ASLMS, at, at)  # fills the fold's round memo
        dropped = [weakref.ref(fold), weakref.ref(fold.state), weakref.ref(fold.state.head)]
        del fold
        assert [ref() for ref in dropped] == [None, None, None]
    finally:
        gc.enable()
