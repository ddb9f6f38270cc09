"""What the partition index answers a resuming projector, computed from the events themselves
(the reference the recorders' `select_times` / `first_position` are checked against)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain.aggregates.fact import Fact
from domain.partitions import Partitioner
from projections.resume_point import ResumePoint

Event = tuple[int, Any]


def resume_point_of(events: Sequence[Event], position: int) -> ResumePoint:
    """What the partition index answers at `position` (infra/chain: `select_times`), from the
    events themselves: T is the latest `recorded_at` of a fact, the waiting facts those that
    take effect after it."""
    facts = [(p, e, parts) for (p, e), parts in zip(events, Partitioner().index(events), strict=True)
             if p <= position and isinstance(e, Fact)]
    if not facts:
        return ResumePoint(position, None, ())
    time = max(e.recorded_at for _, e, _ in facts)
    rows = [(p, part, e.effective_at) for p, e, (_, parts) in facts if e.effective_at > time
            for part in parts]
    return ResumePoint.of_rows(position, time, rows)


def first_positions(events: Sequence[Event]) -> Callable[[str], int | None]:
    first: dict[str, int] = {}
    for position, parts in Partitioner().index(events):
        for part in parts:
            first.setdefault(part, position)
    return first.get
