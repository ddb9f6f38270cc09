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
DEFAULT_MAX_EVENTS = 200_000
"""About 100 MB of folded facts: a season of a championship is a few hundred events."""


def scope_of(partitions: Iterable[str]) -> Scope:
    return tuple(sorted(set(partitions)))


@dataclass
class _Held:
    fold: LedgerFold = field(default_factory=LedgerFold)
    position: int = 0
    events: int = 0


class PartitionFolds:
    def __init__(self, read: ReadScope, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if max_events < 1:
            raise ValueError(f"the fold cache holds at least one event (got {max_events})")
        self._read = read
        self.max_events = max_events
        self._held: OrderedDict[Scope, _Held] = OrderedDict()
        self._total = 0
        self._pinned: ContextVar[set[Scope] | None] = ContextVar("pinned_scopes", default=None)

    def state(self, scope: Scope) -> LedgerState:
        """The scope's fold, brought up to date (once per `pinned` block)."""
        held = self._held.get(scope)
        if held is None:
            held = self._held[scope] = _Held()
        self._held.move_to_end(scope)
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
    def events_held(self) -> int:
        return self._total

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

    def _catch_up(self, held: _Held, scope: Scope) -> None:
        new = self._read(scope, held.position)
        for position, event in new:
            held.fold.apply(position, event)
            held.position = position
        held.events += len(new)
        self._total += len(new)

    def _evict(self, keep: Scope) -> None:
        for scope in list(self._held):
            if self._total <= self.max_events:
                return
            if scope != keep:
                self._total -= self._held.pop(scope).events
