"""Live views kept per partition: one ledger fold per partition, and per event only the views of
its partitions and their dependants recomputed, so applying an event costs what its partition
costs, whatever the size of the log (issue 10).

The bodies are those of `live_views` over a fold of the whole log prefix (the reference), byte
for byte: a view reads its own partitions only (projections/view_scopes.py), so the fold of
those partitions gives the same content, and the header is the whole prefix's: `as_of =
known_at = T(Q)` and `log_position = Q`, Q being the last position that may have changed the
view (the position of the last fact of events 1..Q, i.e. Q itself). Keeping Q (not the last
position of the view's own partitions known at T) keeps `log_position` strictly increasing per
view, so a subscriber that orders updates by it drops none, and a replay from zero to Q gives
the same bytes (docs/SERVICE.md).

T moves with every event of the whole log; a fact recorded before it takes effect changes its
views when T passes its `effective_at`, whichever partition moved T. Such facts wait in a heap
by effective time, so each event looks only at the facts whose time has come.

Folds are held in a cache bounded by a number of partitions, least recently used evicted; an
evicted partition is folded again from the log when a view needs it (`Loader`).

A worker that owns some partition groups (`Share`, projections/shares.py) still routes every
event (T, the pending heap and the dependencies are the whole prefix's), but computes only the
views of its groups, skips those its groups' tracking says are stored already (`written`), and
folds at its birth only a partition one of its views reads; a partition that becomes needed
later (a new route) is folded from the log like an evicted one.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from domain.aggregates.fact import Fact
from domain.partitions import Partitioner
from projections.catalog import CATALOG, Catalog
from projections.ledger import HeadIndex, LedgerFold, LedgerState
from projections.live_views import live_views
from projections.resume_point import ResumePoint, Waiting
from projections.shares import Share
from projections.view_scopes import ViewScopes

Item = tuple[int, Any]
Partitions = tuple[str, ...]
Loader = Callable[[str, int], Iterable[Item]]
"""(partition, until) → that partition's events at positions up to `until`, ascending."""
FirstPosition = Callable[[str], "int | None"]
"""partition → the position of its first event (None: it has none yet)."""

class PartitionNotCachedError(Exception):
    """A partition's fold was needed, is not cached and there is no loader to fold it again."""


class PrefixHead(HeadIndex):
    """The head of a whole log prefix, for a view computed from some of its partitions: the
    position known at T(P) (or later) is the prefix's last fact, whatever partition holds it."""

    def __init__(self, position: int, latest: datetime) -> None:
        super().__init__()
        self._position = position
        self._latest = latest

    def position_at(self, known_at: datetime) -> int:
        if known_at < self._latest:
            raise ValueError("a live view's head answers only at or after its own time")
        return self._position

    @property
    def latest(self) -> datetime | None:
        return self._latest


_MERGED = tuple(f.name for f in fields(LedgerState) if f.name != "head")


def merged_state(states: Sequence[LedgerState], head: HeadIndex) -> LedgerState:
    """One state over the folds of disjoint partitions; a later state's keys win (a target
    event's fold holds copies of the championship definitions that route to it: the
    championship's own fold, given after it, is the whole of them)."""
    if len(states) == 1:
        return replace(states[0], head=head)
    out = LedgerState(head=head)
    for state in states:
        for name in _MERGED:
            getattr(out, name).update(getattr(state, name))
    return out


class PartitionCache:
    """Partition → its fold, at most `bound` of them (None: no bound), least recently used
    evicted first."""

    def __init__(self, loader: Loader | None = None, bound: int | None = None) -> None:
        if bound is not None and bound < 1:
            raise ValueError(f"the partition cache holds at least 1 partition (got {bound})")
        if bound is not None and loader is None:
            raise ValueError("a bounded partition cache needs a loader to fold evicted partitions")
        self.loader = loader
        self.bound = bound
        self._folds: OrderedDict[str, LedgerFold] = OrderedDict()
        self.loads = 0

    def __len__(self) -> int:
        return len(self._folds)

    def cached(self, partition: str) -> LedgerFold | None:
        fold = self._folds.get(partition)
        if fold is not None:
            self._folds.move_to_end(partition)
        return fold

    def new(self, partition: str) -> LedgerFold:
        """An empty fold for a partition with no events yet."""
        fold = LedgerFold()
        self._folds[partition] = fold
        self._evict()
        return fold

    def load(self, partition: str, until: int) -> LedgerFold:
        """The partition folded from the log up to `until`."""
        if self.loader is None:
            raise PartitionNotCachedError(f"partition {partition!r} is not cached and there is "
                                          "no loader to read it from the log")
        fold = LedgerFold()
        fold.apply_all(self.loader(partition, until))
        self.loads += 1
        self._folds[partition] = fold
        self._evict()
        return fold

    def _evict(self) -> None:
        while self.bound is not None and len(self._folds) > self.bound:
            self._folds.popitem(last=False)


class LiveFold:
    """The live views of a log prefix, kept per partition; each batch returns the views it may
    have changed (name → canonical JSON), each computed at the last position of the batch that
    may have changed it, so the bodies do not depend on batch sizes, restarts, rebuilds or
    evictions."""

    def __init__(self, loader: Loader | None = None, max_partitions: int | None = None,
                 share: Share | None = None, catalog: Catalog = CATALOG) -> None:
        """`share`: the groups whose views are computed (default: every view); `catalog`: the
        views there are."""
        self.share = share or Share.everything()
        if not self.share.whole and loader is None:
            raise ValueError("a fold of some partition groups needs a loader (the partitions a "
                             "new dependency names are folded from the log)")
        self.folds = PartitionCache(loader, max_partitions)
        self.catalog = catalog
        self.scopes = ViewScopes(catalog)
        self.written: dict[int, int] = {}
        """group → the position its stored views reflect: views due at or below are skipped."""
        self.position = 0
        self.time: datetime | None = None
        self._partitioner = Partitioner()
        self._born: dict[str, int] = {}  # partition → the position of its first event
        self._first: FirstPosition | None = None  # asked for partitions born before a resume
        self._pending: list[Waiting] = []  # (effective_at, position, partitions)

    def resume(self, point: ResumePoint, definitions: Iterable[Item],
               first_position: FirstPosition) -> None:
        """Stand at `point.position` as if every event up to it had been skipped, without
        reading them: T and the waiting facts from the partition index (`point`), the
        dependencies from the definitions in the target events' partitions (every event that
        declares one is indexed there), where a partition starts asked of the index when it
        is first met. The folds are read from the log when a view needs them (`Loader`)."""
        if self.position or self._born:
            raise ValueError("only a new fold resumes")
        for _, event in definitions:
            self.scopes.learn(event)
        self.position, self.time = point.position, point.time
        self._pending = list(point.waiting)
        heapq.heapify(self._pending)
        self._first = first_position

    def skip(self, items: Sequence[Item], partitions: Sequence[Partitions] | None = None) -> None:
        """Fold events whose views are already stored (loading up to a tracked position).
        `partitions`, when given, are the events' partitions as the log's index holds them
        (else they are learnt from the events, which needs the log from its start)."""
        for (position, event), parts in zip(items, self._partitions(items, partitions),
                                            strict=True):
            self._route(position, event, parts)
            self._apply(position, event, parts)

    def advance(self, items: Sequence[Item], partitions: Sequence[Partitions] | None = None
                ) -> dict[str, str]:
        """Fold a batch; the views it may have changed, as canonical JSON."""
        planned = []
        last: dict[str, int] = {}
        for (position, event), parts in zip(items, self._partitions(items, partitions),
                                            strict=True):
            for name in self._route(position, event, parts):
                last[name] = position
            planned.append((position, event, parts, self.time))
        due: dict[int, set[str]] = {}
        for name, position in last.items():
            if self._wanted(name, position):
                due.setdefault(position, set()).add(name)
        views: dict[str, str] = {}
        for position, event, parts, time in planned:
            self._apply(position, event, parts)
            if position in due and time is not None:
                views.update(self._compute(due[position], position, time))
        return dict(sorted(views.items()))

    def _partitions(self, items: Sequence[Item], given: Sequence[Partitions] | None
                    ) -> Sequence[Partitions]:
        if given is not None:
            return given
        return [self._partitioner.partitions(event) for _, event in items]

    def _wanted(self, name: str, position: int) -> bool:
        """Whether this fold computes `name` due at `position`: a view of an owned group not
        stored at or after that position already."""
        if self.share.whole and not self.written:
            return True
        if not self.share.owns_view(name):
            return False
        return position > self.written.get(self.share.group_of_view(name), 0)

    def _needed(self, partition: str) -> bool:
        """Whether a view this fold computes reads the partition (every one, for a whole share)."""
        return self.share.whole or any(self.share.owns_view(n)
                                       for n in self.scopes.views_of(partition))

    # -- routing: which views an event may change ----------------------------------------------

    def _route(self, position: int, event: Any, partitions: tuple[str, ...]) -> set[str]:
        for partition in partitions:
            if partition not in self._born:
                self._born[partition] = self._born_before(partition) or position
        self.scopes.learn(event)
        names: set[str] = set()
        for partition in partitions:
            names |= self.scopes.views_of(partition)
        if not isinstance(event, Fact):
            return names
        if self.time is None or event.recorded_at > self.time:
            self.time = event.recorded_at
            while self._pending and self._pending[0][0] <= self.time:
                for partition in heapq.heappop(self._pending)[2]:
                    names |= self.scopes.views_of(partition)
        if event.effective_at > self.time:
            heapq.heappush(self._pending, (event.effective_at, position, partitions))
        return names

    # -- folding and computing -----------------------------------------------------------------

    def _apply(self, position: int, event: Any, partitions: tuple[str, ...]) -> None:
        """Fold the event into the cached folds of its partitions (a partition not cached is
        folded from the log when a view needs it)."""
        self.position = position
        for partition in partitions:
            fold = self.folds.cached(partition)
            if fold is None and self._born[partition] == position and self._needed(partition):
                fold = self.folds.new(partition)
            if fold is not None:
                fold.apply(position, event)

    def _compute(self, names: set[str], position: int, time: datetime) -> dict[str, str]:
        head = PrefixHead(position, time)
        views: dict[str, str] = {}
        for scope, wanted in _by_scope(names, self.scopes).items():
            state = merged_state([self._fold(p, position).state for p in scope], head)
            views.update(live_views(state, wanted, time, self.catalog))
        return views

    def _fold(self, partition: str, position: int) -> LedgerFold:
        fold = self.folds.cached(partition)
        if fold is not None:
            return fold
        born = self._born.get(partition) or self._born_before(partition)
        if born is None or born > position:
            return LedgerFold()  # no event yet: nothing to read
        return self.folds.load(partition, position)

    def _born_before(self, partition: str) -> int | None:
        """After a resume, where a partition not met since starts, asked of the index once
        (None: no event yet)."""
        if self._first is None:
            return None
        first = self._first(partition)
        if first is None:
            return None
        self._born[partition] = first
        return first


def _by_scope(names: Iterable[str], scopes: ViewScopes) -> dict[tuple[str, ...], set[str]]:
    """The views grouped by the partitions they are computed from (the catalog's scopes)."""
    groups: dict[tuple[str, ...], set[str]] = {}
    for name in sorted(names):
        groups.setdefault(scopes.scope_of(name), set()).add(name)
    return groups

