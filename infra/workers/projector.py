"""The blocking steps of a projection worker: load the fold up to the tracked position, then
project the log page by page, each page's views and the new position in one transaction.

The fold is kept per partition (projections/partition_folds.py), at most `max_partitions` of
them in memory; an evicted partition is folded again from the log when one of its views is due.

The views are tracked per partition group (infra/views/tracking.py): a projector owns some of
the groups (all by default), loads up to the least of their tracked positions, computes only
their views (each group's own position skips what it has stored already), and writes each page's
views with the owned groups' rows, each checked against where it was left
(`TrackingConflictError` otherwise: another worker wrote the group; reload).

A worker behind the head coalesces: while the pages it reads are full, it reads further pages
up to a window of events (`window`, PADDOCK_PROJECTION_WINDOW) and folds them as one batch, so
a view that many of them change is computed once, at its last change, not once per page; the
window's views and tracked positions go in one transaction. A page that is not full reached the
head: it is projected at once, so live latency is that of one page. The bodies do not depend on
where windows end (projections/partition_folds.py), so replay still equals live.

The asyncio `ProjectionWorker` runs these steps in threads; a rebuild runs them directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from domain.partitions import EVENT
from infra.chain.index import MAX_PARTITIONS_PER_READ
from infra.config import partition_groups, projection_partitions, projection_window
from infra.views import TrackingConflictError, ViewStore
from infra.views.tracking import group_key, group_positions
from infra.workers.partition_reader import has_index, partition_loader
from projections.catalog import CATALOG, Catalog
from projections.partition_folds import LiveFold
from projections.shares import Share
from services.ledger import Ledger

LOAD_PAGE = 1000
MAX_TARGET_EVENTS = 100_000
"""Target events whose definitions a resume reads (every one there is, in practice)."""
MAX_CONFLICTS = 3
log = structlog.get_logger("paddock.projections")


class ViewStoreAheadError(Exception):
    """The view store tracks a position the log does not have (another log, or a lost one)."""


@dataclass(frozen=True)
class Batch:
    """One projected page: what the `projection.batch` log line says."""

    events: int
    views_written: int
    position: int
    seconds: float


@dataclass(frozen=True)
class Progress:
    """The work of a catch-up: events projected, views written, the position reached."""

    events: int = 0
    views_written: int = 0
    position: int = 0
    batches: int = 0

    def add(self, batch: Batch) -> Progress:
        return Progress(self.events + batch.events, self.views_written + batch.views_written,
                        batch.position, self.batches + 1)


class Projector:
    def __init__(self, ledger: Ledger, store: ViewStore, name: str = "projections",
                 batch: int = 500, max_partitions: int | None = None, *,
                 groups: int | None = None, owned: frozenset[int] | None = None,
                 catalog: Catalog = CATALOG, window: int | None = None) -> None:
        """`batch`: the events read per page; `window` None: PADDOCK_PROJECTION_WINDOW, else
        2,000 (the events folded before computing, while pages come full; at least a page);
        `max_partitions` None: PADDOCK_PROJECTION_PARTITIONS, else 128; `groups` None:
        PADDOCK_PARTITION_GROUPS, else 16 (infra/config.py); `owned` None: every group;
        `catalog`: the views it writes (a deployment's own, or a test's)."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1 (got {batch})")
        window = window or projection_window()
        if window < 1:
            raise ValueError(f"window must be at least 1 (got {window})")
        max_partitions = max_partitions or projection_partitions()
        if max_partitions < 1:
            raise ValueError(f"max_partitions must be at least 1 (got {max_partitions})")
        self.ledger = ledger
        self.store = store
        self.name = name
        self.batch = batch
        self.window = max(window, batch)
        self.max_partitions = max_partitions
        groups = groups or partition_groups()
        self.catalog = catalog
        self.share = Share(groups, owned if owned is not None else frozenset(range(groups)),
                           catalog)
        self._live: LiveFold | None = None
        self._indexed = False  # decided with each new fold: read through the partition index
        self._target = 0
        self._tracked: dict[int, int] = {}  # owned group → its tracked position

    @property
    def loaded(self) -> bool:
        return self._live is not None and self._live.position >= self._target

    @property
    def position(self) -> int:
        """The position the owned groups' views all reflect (read from the store until the fold
        is loaded); owning no group, the position every group's views reflect."""
        if self.loaded and self._tracked:
            return min(self._tracked.values())
        tracked = self._read_tracking()
        return min(tracked[g] for g in self.share.owned or tracked)

    def own(self, owned: frozenset[int]) -> None:
        """Compute the views of these groups from now on. Giving groups up keeps the fold;
        taking new ones reloads it (their views may be due below the fold's position)."""
        if owned == self.share.owned:
            return
        gained = owned - self.share.owned
        self.share = Share(self.share.groups, owned, self.catalog)
        if gained or self._live is None:
            self.unload()
            return
        self._live.share = self.share
        self._tracked = {g: p for g, p in self._tracked.items() if g in owned}

    def _read_tracking(self) -> dict[int, int]:
        """Every group's tracked position; a store tracked in one row (before groups) is moved
        to one row per group first, at the same position."""
        rows = self.store.tracking()
        positions = group_positions(rows, self.name, self.share.groups)
        if positions is None and self.name in rows:
            self.store.migrate_tracking(self.name, [group_key(self.name, g, self.share.groups)
                                                    for g in range(self.share.groups)])
            positions = group_positions(self.store.tracking(), self.name, self.share.groups)
        return positions or dict.fromkeys(range(self.share.groups), 0)

    @property
    def partition_loads(self) -> int:
        """How many times a partition was folded again from the log (after an eviction)."""
        return self._live.folds.loads if self._live is not None else 0

    def unload(self) -> None:
        """Forget the fold: the next step reloads it from the tracked position."""
        self._live = None

    def load_page(self) -> bool:
        """Fold one page of events the stored views already reflect; True once loaded."""
        if self._live is None:
            self._indexed = has_index(self.ledger)
            tracked = self._read_tracking()
            self._tracked = {g: tracked[g] for g in sorted(self.share.owned)}
            self._live = LiveFold(partition_loader(self.ledger, self._indexed), self.max_partitions,
                                  self.share, self.catalog)
            self._live.written = dict(self._tracked)
            self._target = min(self._tracked.values(), default=0)
        if self._live.position >= self._target:
            return True
        if self._indexed and self._live.position == 0 and self._resume(self._live):
            return True
        events, partitions = self._read(self._live.position, LOAD_PAGE, self._target)
        if not events:
            raise self._ahead()
        self._live.skip(events, partitions)
        return self._live.position >= self._target

    def _resume(self, live: LiveFold) -> bool:
        """Stand at the tracked position from the partition index, reading only the target
        events' partitions (their definitions carry the dependencies), not the log before it.
        False when it cannot (then the log is folded up to the position)."""
        reads = self.ledger.partitions
        if self.ledger.head() < self._target:
            raise self._ahead()
        events = reads.partitions_like(EVENT, MAX_TARGET_EVENTS + 1)
        point = reads.resume_point(self._target)
        if point is None or len(events) > MAX_TARGET_EVENTS:
            return False  # fold the log up to the position instead (correct, slower)
        step = MAX_PARTITIONS_PER_READ
        definitions = [item for i in range(0, len(events), step)
                       for item in self.ledger.read_partitions(events[i:i + step], 0, self._target)]
        live.resume(point, definitions, reads.first_position)
        return True

    def _ahead(self) -> ViewStoreAheadError:
        return ViewStoreAheadError(
            f"the views of {self.name!r} reflect log position {self._target} but the log ends "
            f"at {self.ledger.head()}: rebuild them (`paddock projections rebuild`)")

    def _read(self, after: int, limit: int, until: int | None
              ) -> tuple[list[tuple[int, Any]], list[tuple[str, ...]] | None]:
        """Events with their partitions from the log's partition index when it covers the log
        (`read_indexed`), else the events alone (the fold learns their partitions)."""
        if not self._indexed:
            return self.ledger.read_events(after, limit=limit, until=until), None
        rows = self.ledger.read_indexed(after, limit=limit, until=until)
        return [(p, e) for p, e, _ in rows], [tuple(parts) for _, _, parts in rows]

    def _read_window(self, after: int, until: int | None
                     ) -> tuple[list[tuple[int, Any]], list[tuple[str, ...]] | None]:
        """A page, and further pages while each comes full (the worker is behind the head), up
        to `window` events: one batch for `LiveFold.advance`."""
        events, partitions = self._read(after, self.batch, until)
        full = len(events) == self.batch
        while full and len(events) < self.window:
            limit = min(self.batch, self.window - len(events))
            more, more_partitions = self._read(events[-1][0], limit, until)
            full = len(more) == limit
            events += more
            if partitions is not None and more_partitions is not None:
                partitions += more_partitions
        return events, partitions

    def load(self) -> None:
        while not self.load_page():
            pass

    def _write(self, position: int, views: dict[str, str]) -> None:
        """The views and every owned group behind `position` moved to it, in one transaction."""
        moves = {group_key(self.name, g, self.share.groups): (p, position)
                 for g, p in self._tracked.items() if p < position}
        if moves:
            self.store.write_tracked(moves, position, views)
        for group, tracked in self._tracked.items():
            self._tracked[group] = max(tracked, position)

    def step(self, until: int | None = None) -> Batch | None:
        """Project the next page of the log, or window of pages while behind (None when there
        is nothing new up to `until`)."""
        self.load()
        assert self._live is not None
        after, started = self._live.position, time.perf_counter()
        if not self._tracked or (until is not None and after >= until):
            return None  # no group owned: nothing to write
        events, partitions = self._read_window(after, until)
        if not events:
            return None
        try:
            views = self._live.advance(events, partitions)
            self._write(self._live.position, views)
        except BaseException:
            self.unload()
            raise
        batch = Batch(len(events), len(views), self._live.position,
                      round(time.perf_counter() - started, 6))
        _log_batch(self.name, batch)
        return batch

    def catch_up(self, until: int | None = None,
                 on_batch: Callable[[Batch], None] | None = None) -> Progress:
        """Step until the log has nothing new (up to `until`); reloads after a tracking conflict."""
        progress, conflicts = Progress(position=self.position), 0
        while True:
            try:
                batch = self.step(until)
            except TrackingConflictError:
                conflicts += 1
                if conflicts > MAX_CONFLICTS:
                    raise
                log.warning("projection.reload", worker=self.name, reason="tracking conflict")
                continue
            if batch is None:
                return progress
            progress = progress.add(batch)
            if on_batch is not None:
                on_batch(batch)


def _log_batch(worker: str, batch: Batch) -> None:
    with structlog.contextvars.bound_contextvars(worker=worker, log_position=batch.position):
        log.info("projection.batch", events=batch.events, views_written=batch.views_written,
                 position=batch.position, seconds=batch.seconds)
