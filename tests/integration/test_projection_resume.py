"""A projector that restarts, or takes over groups, stands at its tracked position from the
partition index (T and the facts waiting for it, where each partition starts) and reads only
the target events' partitions below it, not the whole log; on a real SQLite file and on real
PostgreSQL (`store_url`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.partitions import Partitioner
from infra.views import ViewStore
from infra.workers.projector import Projector
from services.demo import load_demo
from services.ledger import Ledger
from tests.resume_reference import first_positions, resume_point_of
from tests.views_invariants import check_views

GROUPS = 4


def with_a_fact_waiting(ledger: Ledger) -> None:
    """The demo, and a pole recorded two days before it takes effect (it waits for T)."""
    load_demo(ledger)
    later = ledger.clock() + timedelta(days=2)
    ledger.record_pole("aslms-2023-24", 5, "GT", "91", effective_at=later, actor="test",
                       source="test")


def test_the_index_says_where_time_stands_as_the_events_do(ledger: Ledger) -> None:
    with_a_fact_waiting(ledger)
    events = ledger.read_events()
    first = first_positions(events)
    waiting = 0
    for position in range(1, ledger.head() + 1):
        point = ledger.partitions.resume_point(position)
        assert point == resume_point_of(events, position), position
        waiting += bool(point and point.waiting)
    assert waiting, "some positions have a fact waiting for T"
    parts = {p for _, found in Partitioner().index(events) for p in found}
    assert all(ledger.partitions.first_position(p) == first(p) for p in parts)
    assert ledger.partitions.first_position("championship:nowhere") is None


def reads_below(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where each read of the whole log (`read_indexed`, `read_events`) starts."""
    starts: list[int] = []
    for name in ("read_indexed", "read_events"):
        original: Callable[..., Any] = getattr(ledger, name)

        def spy(after: int = 0, *args: Any, _read: Callable[..., Any] = original,
                **kwargs: Any) -> Any:
            starts.append(after)
            return _read(after, *args, **kwargs)
        monkeypatch.setattr(ledger, name, spy)
    return starts


def test_a_restarted_projector_reads_the_log_from_its_tracked_position_only(
        ledger: Ledger, views: ViewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with_a_fact_waiting(ledger)
    half = ledger.head() // 2
    Projector(ledger, views, groups=GROUPS, batch=7).catch_up(until=half)
    starts = reads_below(ledger, monkeypatch)
    Projector(ledger, views, groups=GROUPS, batch=7).catch_up()
    assert starts and min(starts) >= half
    monkeypatch.undo()
    check_views(ledger.read_events(), {v.name: v.body for v in views.changed_since(-1)},
                ledger.head())


def test_groups_taken_over_at_different_positions_resume_at_the_least(
        ledger: Ledger, views: ViewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each group left where its last worker left it: the new owner of all starts at the
    least of them, writes each group above its own position, and ends as a replay."""
    with_a_fact_waiting(ledger)
    head = ledger.head()
    for group, until in enumerate((head // 4, head // 2, head // 3, head - 5)):
        Projector(ledger, views, groups=GROUPS, owned=frozenset({group}), batch=5
                  ).catch_up(until=until)
    starts = reads_below(ledger, monkeypatch)
    Projector(ledger, views, groups=GROUPS).catch_up()
    assert min(starts) >= head // 4
    monkeypatch.undo()
    check_views(ledger.read_events(), {v.name: v.body for v in views.changed_since(-1)}, head)
