"""Rebuild the persisted views from zero, next to the live ones, then swap them in at once.

The fresh set is built in the `_rebuild` tables while the live tables keep serving readers (and
the running worker keeps writing them). The swap is one transaction; a worker that wrote the
old tables afterwards finds a tracked position it did not expect, reloads its fold from the
swapped-in position and carries on from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from infra.views import REBUILD_SUFFIX, ViewStore
from infra.views.factory import open_view_store
from infra.workers.projector import Batch, Projector
from services.ledger import Ledger

log = structlog.get_logger("paddock.projections")


@dataclass(frozen=True)
class RebuildReport:
    events: int
    views_written: int
    views: int
    position: int
    seconds: float
    changed: list[str] = field(default_factory=list)
    """Views whose body differs from the one they replaced (a publisher should resend them)."""


def rebuild_views(ledger: Ledger, store_url: str, *, worker: str = "projections",
                  batch: int = 500, on_batch: Callable[[Batch], None] | None = None) -> RebuildReport:
    """Build every view from position zero into the `_rebuild` tables, then swap them in."""
    live = open_view_store(store_url)
    fresh = open_view_store(store_url, suffix=REBUILD_SUFFIX)
    try:
        return _rebuild(ledger, live, fresh, worker, batch, on_batch)
    finally:
        fresh.close()
        live.close()


def _rebuild(ledger: Ledger, live: ViewStore, fresh: ViewStore, worker: str, batch: int,
             on_batch: Callable[[Batch], None] | None) -> RebuildReport:
    started = time.perf_counter()
    fresh.reset()
    progress = Projector(ledger, fresh, worker, batch).catch_up(on_batch=on_batch)
    changed = _changed(live, fresh)
    count = len(fresh.names())
    live.swap_from(fresh)
    report = RebuildReport(progress.events, progress.views_written, count, progress.position,
                           round(time.perf_counter() - started, 3), changed)
    log.info("projection.rebuilt", worker=worker, events=report.events, views=report.views,
             views_written=report.views_written, position=report.position,
             changed=len(changed), seconds=report.seconds)
    return report


def _changed(live: ViewStore, fresh: ViewStore) -> list[str]:
    before = {v.name: v.body for v in live.changed_since(-1)}
    return sorted(v.name for v in fresh.changed_since(-1) if before.get(v.name) != v.body)
