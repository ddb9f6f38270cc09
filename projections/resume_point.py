"""Where a projector's routing stands after the events up to a position, read from the
partition index instead of folding the log: so a worker that restarts, or takes over groups,
starts in time proportional to what it must compute, not to the size of the log (issue 10).

Routing needs, besides the dependencies (learnt from the target events' partitions), only T, the
latest `recorded_at` of a fact, and the facts recorded before they take effect that T has not
reached yet: when T passes one, its partitions' views change (projections/partition_folds.py).
T only grows, so a fact once passed never waits again: the waiting facts at a position are
exactly those with `effective_at` later than T there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

Waiting = tuple[datetime, int, tuple[str, ...]]
"""(effective_at, position, partitions) of a fact that waits for T."""


@dataclass(frozen=True)
class ResumePoint:
    position: int
    time: datetime | None
    waiting: tuple[Waiting, ...]

    @classmethod
    def of_rows(cls, position: int, time: datetime | None,
                rows: Iterable[tuple[int, str, datetime]]) -> ResumePoint:
        """From index rows (position, partition, effective_at) of the waiting facts: one row per
        partition a fact is indexed under."""
        facts: dict[int, tuple[datetime, list[str]]] = {}
        for at, partition, effective_at in rows:
            facts.setdefault(at, (effective_at, []))[1].append(partition)
        return cls(position, time, tuple((effective_at, at, tuple(parts))
                                         for at, (effective_at, parts) in sorted(facts.items())))
