"""The blocking steps of a projection worker: load the fold up to the tracked position, then
project the log page by page, each page's views and the new position in one transaction.

The fold is kept per partition (projections/partition_folds.py), at most `max_partitions` of
them in memory; an evicted partition is folded again from the log when one of its views is due.

The asyncio `ProjectionWorker` runs these steps in threads; a rebuild runs them directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from infra.config import projection_partitions
from infra.views import TrackingConflictError, ViewStore
from infra.workers.partition_reader import has_index, partition_loader
from projections.catalog import CATALOG, Catalog
from projections.partition_folds import LiveFold
from services.ledger import Ledger

LOAD_PAGE = 1000
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
                 batch: int = 500, max_partitions: int | None = None,
                 catalog: Catalog = CATALOG) -> None:
        """`max_partitions` None: PADDOCK_PROJECTION_PARTITIONS, else 128 (infra/config.py).
        `catalog`: the views it writes (a deployment's own, or a test's)."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1 (got {batch})")
        max_partitions = max_partitions or projection_partitions()
        if max_partitions < 1:
            raise ValueError(f"max_partitions must be at least 1 (got {max_partitions})")
        self.ledger = ledger
        self.store = store
        self.name = name
        self.batch = batch
        self.max_partitions = max_partitions
        self.catalog = catalog
        self._live: LiveFold | None = None
        self._indexed = False  # decided with each new fold: read through the partition index
        self._target = 0

    @property
    def loaded(self) -> bool:
        return self._live is not None and self._live.position >= self._target

    @property
    def position(self) -> int:
        """The position the views reflect (read from the store until the fold is loaded)."""
        return self._live.position if self.loaded and self._live else self.store.position(self.name)

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
            self._live = LiveFold(partition_loader(self.ledger, self._indexed), self.max_partitions,
                                  self.catalog)
            self._target = self.store.position(self.name)
        if self._live.position >= self._target:
            return True
        events, partitions = self._read(self._live.position, LOAD_PAGE, self._target)
        if not events:
            raise ViewStoreAheadError(
                f"the views of {self.name!r} reflect log position {self._target} but the log ends "
                f"at {self._live.position}: rebuild them (`paddock projections rebuild`)"
            )
        self._live.skip(events, partitions)
        return self._live.position >= self._target

    def _read(self, after: int, limit: int, until: int | None
              ) -> tuple[list[tuple[int, Any]], list[tuple[str, ...]] | None]:
        """Events with their partitions from the log's partition index when it covers the log
        (`read_indexed`), else the events alone (the fold learns their partitions)."""
        if not self._indexed:
            return self.ledger.read_events(after, limit=limit, until=until), None
        rows = self.ledger.read_indexed(after, limit=limit, until=until)
        return [(p, e) for p, e, _ in rows], [tuple(parts) for _, _, parts in rows]

    def load(self) -> None:
        while not self.load_page():
            pass

    def step(self, until: int | None = None) -> Batch | None:
        """Project the next page of the log (None when there is nothing new up to `until`)."""
        self.load()
        assert self._live is not None
        after, started = self._live.position, time.perf_counter()
        if until is not None and after >= until:
            return None
        events, partitions = self._read(after, self.batch, until)
        if not events:
            return None
        try:
            views = self._live.advance(events, partitions)
            self.store.write(self.name, self._live.position, views, expected=after)
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
