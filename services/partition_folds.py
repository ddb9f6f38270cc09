"""Folds of a few partitions at a time, kept by a long-running process within a memory bound.

A scope is a sorted tuple of partition keys: one championship, or a target event with the
partitions its views depend on. Its fold is read from the partition index once, then brought up
to date with only the scope's new events; the least recently used folds are dropped when the
events held exceed the bound, and read again if asked for later. Nothing here is proportional
to the whole log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from projections.ledger import LedgerFold, LedgerState

Scope = tuple[str, ...]
ReadScope = Callable[[Scope, int], Sequence[tuple[int, Any]]]
"""(scope, after) → the scope's events after that log position, ascending."""
BYTES_PER_UNIT = 2_000
"""What one folded fact or classification row costs in memory, about: tracemalloc measures 1.2 KB
on the demo season's log and 3.0 KB on the benchmark's (more fields per row);
tests/integration/test_partition_index.py keeps it within a factor of two."""
DEFAULT_MAX_MB = 100
"""About 200 championship seasons of 6 rounds of 40 cars."""


def weight(event: Any) -> int:
    """What a folded event costs, in units of BYTES_PER_UNIT: a classification its rows."""
    rows = getattr(event, "rows", None)
    return 1 + (len(rows) if isinstance(rows, list) else 0)


def units_of(megabytes: float) -> int:
    return max(1, int(megabytes * 1_000_000 / BYTES_PER_UNIT))


def scope_of(partitions: Iterable[str]) -> Scope:
    return tuple(sorted(set(partitions)))


@dataclass
class _Held:
    fold: LedgerFold = field(default_factory=LedgerFold)
    position: int = 0
    units: int = 0
    through: int = 0  # every event of the scope up to this log position is folded


Saved = tuple[int, Any, tuple[str, ...]]
"""(log position, event, its partitions) of an event this process has just appended."""


class PartitionFolds:
    def __init__(self, read: ReadScope, max_units: int = units_of(DEFAULT_MAX_MB),
                 head: Callable[[], int] | None = None) -> None:
        """`max_units`: the memory bound, in units of about BYTES_PER_UNIT (`units_of(MB)`).
        `head`: the log's last position, which lets `saved` fold this process's own appends
        without reading them back."""
        if max_units < 1:
            raise ValueError(f"the fold cache holds at least one unit (got {max_units})")
        self._read = read
        self._head = head
        self._used: set[Scope] = set()  # since the last `saved`: what the appends were checked on
        self.max_units = max_units
        self._held: OrderedDict[Scope, _Held] = OrderedDict()
        self._total = 0
        self._pinned: ContextVar[set[Scope] | None] = ContextVar("pinned_scopes", default=None)

    def state(self, scope: Scope) -> LedgerState:
        """The scope's fold, brought up to date (once per `pinned` block)."""
        held = self._held.get(scope)
        if held is None:
            held = self._held[scope] = _Held()
        self._held.move_to_end(scope)
        self._used.add(scope)
        pinned = self._pinned.get()
        if pinned is None or scope not in pinned:
            self._catch_up(held, scope)
            if pinned is not None:
                pinned.add(scope)
        self._evict(keep=scope)
        return held.fold.state

    def forget(self) -> None:
        self._held.clear()
        self._total = 0

    @property
    def units_held(self) -> int:
        return self._total

    @property
    def megabytes_held(self) -> float:
        return self._total * BYTES_PER_UNIT / 1_000_000

    @property
    def scopes_held(self) -> int:
        return len(self._held)

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Inside this block each scope is read from the store at most once (a batch of
        commands validates against one read, not one per command)."""
        token = self._pinned.set(set())
        try:
            yield
        finally:
            self._pinned.reset(token)

    def saved(self, events: Sequence[Saved]) -> None:
        """Events this process has just appended, in log order. A fold of one partition that
        the appends were checked against (a championship's, which ingest validates against run
        after run) takes them straight away instead of reading them back on the next `state`,
        when nothing else can have been appended before them (they follow, without a gap, what
        it is complete through). A fold they do not concern stays complete through them; any
        other reads them when next asked, as before."""
        used, self._used = self._used, set()
        positions = [position for position, _, _ in events]
        if not positions or positions != list(range(positions[0], positions[0] + len(positions))):
            return
        by_partition: dict[str, list[int]] = {}  # partition → its events' indexes: one pass
        for index, (_, _, partitions) in enumerate(events):
            for partition in partitions:
                by_partition.setdefault(partition, []).append(index)
        for scope, held in self._held.items():
            if held.through + 1 != positions[0]:
                continue
            indexes = [i for k in scope for i in by_partition.get(k, ())]
            if indexes and (len(scope) > 1 or scope not in used):
                continue
            for position, event, _ in (events[i] for i in indexes):
                held.fold.apply(position, event)
                held.position = position
                held.units += weight(event)
                self._total += weight(event)
            held.through = positions[-1]

    def _catch_up(self, held: _Held, scope: Scope) -> None:
        through = self._head() if self._head is not None else 0  # first: what the read covers
        added = 0
        for position, event in self._read(scope, held.position):
            held.fold.apply(position, event)
            held.position = position
            added += weight(event)
        held.through = max(through, held.position)
        held.units += added
        self._total += added

    def _evict(self, keep: Scope) -> None:
        if self._total <= self.max_units:
            return  # the common case: no copy of the held scopes' list on every read
        for scope in list(self._held):
            if self._total <= self.max_units:
                return
            if scope != keep:
                self._total -= self._held.pop(scope).units
