"""The asyncio projection worker: follows the event log from its tracked position and keeps the
persisted live views (docs/SERVICE.md).

Every blocking call (reading the log, folding, writing a batch) runs in a thread, so the event
loop never waits on I/O. The log is followed by polling every `poll_interval` seconds, and at
once when another component calls `wake()` after appending.

With `claims` (several workers on one store: infra/workers/group_claims.py, the mechanism the
ingest workers use too), the worker settles its claim on partition groups every `lease_seconds`
(between two batches, so a group over its share is given up at once) and computes the views of
the groups it holds only; without claims it owns every group.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypedDict

import structlog

from infra.config import LEASE_SECONDS
from infra.views import TrackingConflictError, ViewStore
from infra.views.tracking import PartitionGroupsMismatchError
from infra.workers.fence import Fence, StoppingError
from infra.workers.group_claims import GroupClaims, Plan
from infra.workers.outage import StoreOutage, is_outage
from infra.workers.projector import Progress, Projector, ViewStoreAheadError
from projections.catalog import CATALOG, Catalog
from services.ledger import Ledger

MAX_BACKOFF = 30.0
log = structlog.get_logger("paddock.projections")


class Lag(TypedDict):
    events_behind: int
    seconds_behind: float


class ProjectionWorker:
    def __init__(self, ledger: Ledger, view_store: ViewStore, name: str = "projections",
                 batch: int = 500, poll_interval: float = 0.2,
                 on_written: Callable[[], None] | None = None, fence: Fence | None = None, *,
                 groups: int | None = None, claims: GroupClaims | None = None,
                 lease_seconds: float = LEASE_SECONDS, catalog: Catalog = CATALOG) -> None:
        """`on_written` is called (in the event loop) after each batch is written, e.g. to
        wake a publisher. Store calls go through `fence` (the service's, closed at stop).
        `groups`: the deployment's partition groups (None: PADDOCK_PARTITION_GROUPS);
        `catalog`: the views it writes."""
        self.ledger = ledger
        self.on_written = on_written
        self.view_store = view_store
        self.name = name
        self.poll_interval = poll_interval
        self.fence = fence or Fence()
        self.outage = StoreOutage(name)
        self.claims = claims
        self.lease_seconds = lease_seconds
        self._projector = Projector(ledger, view_store, name, batch, groups=groups,
                                    owned=frozenset() if claims else None, catalog=catalog)
        self._settled_at: float | None = None
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- running -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until `stop` is set; the batch in flight is finished first. A failed
        batch writes nothing; it is retried (after reloading the fold) with a growing pause."""
        self._bind_loop()
        failures = 0
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    busy = await self._work()
                    failures = 0
                    self.outage.succeeded()
                except (ViewStoreAheadError, PartitionGroupsMismatchError, StoppingError):
                    raise  # the views need an operator (rebuild, configuration), or we stop
                except TrackingConflictError:
                    log.warning("projection.reload", worker=self.name, reason="tracking conflict")
                    continue
                except Exception as error:
                    if is_outage(error):
                        await self._idle(stopping, self.outage.failed(error))
                        continue
                    failures += 1
                    log.exception("projection.failed", worker=self.name, failures=failures)
                    await self._idle(stopping, self._backoff(failures))
                    continue
                if not busy:
                    await self._idle(stopping, self._pause())
        except StoppingError:
            pass  # stop was set while a store call was being started: nothing was done
        finally:
            stopping.cancel()
            if self.claims is not None:
                await asyncio.to_thread(self.release)

    @property
    def owned(self) -> frozenset[int]:
        """The partition groups whose views this worker computes."""
        return self._projector.share.owned

    async def settle(self) -> frozenset[int]:
        """Settle this worker's claims now (see infra/workers/group_claims.py); a lost lease
        session owns nothing until it is opened again."""
        assert self.claims is not None
        self._settled_at = asyncio.get_running_loop().time()
        try:
            plan = await self.fence.run(self._settle)
        except Exception:
            self._projector.own(frozenset())
            raise
        owned = self.claims.held
        if plan.lost:
            log.warning("projection.leases_lost", worker=self.name, groups=sorted(self.owned))
        elif owned != self.owned:
            log.info("projection.groups", worker=self.name, groups=sorted(owned),
                     workers=plan.live, rank=plan.rank)
        self._projector.own(owned)
        return owned

    def _settle(self) -> Plan:
        """Settle the claims (in a thread, between two batches: nothing is being written, so
        the groups over the share are given up at once); on a failure hold nothing."""
        assert self.claims is not None
        try:
            plan = self.claims.settle()
        except Exception:
            self.claims.close()
            raise
        for group in plan.give_up:
            self.claims.release(group)
        return plan

    def _settlement_due(self) -> bool:
        if self.claims is None:
            return False
        at = self._settled_at
        return at is None or asyncio.get_running_loop().time() - at >= self.lease_seconds

    def release(self) -> None:
        """Give the groups up (at stop): the other workers take them at their next settlement."""
        self._projector.own(frozenset())
        if self.claims is not None:
            self.claims.close()

    async def _work(self) -> bool:
        """Load one page of the fold, or project one batch; False when there was nothing new."""
        if self._settlement_due():
            await self.settle()
        if not self._projector.loaded:
            if await self.fence.run(self._projector.load_page):
                log.info("projection.loaded", worker=self.name, position=self._projector.position)
            return True
        batch = await self.fence.run(self._projector.step)
        if batch is None:
            return False
        if self.on_written is not None:
            self.on_written()
        return True

    async def run_until_caught_up(self, until: int | None = None) -> Progress:
        """Burst mode: project everything there is (up to position `until`), then return."""
        progress = await asyncio.to_thread(self._projector.catch_up, until)
        if progress.batches and self.on_written is not None:
            self.on_written()
        return progress

    def wake(self) -> None:
        """Ask the worker to look at the log now (safe from any thread)."""
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wakeup.set()
        else:
            loop.call_soon_threadsafe(wakeup.set)

    def lag(self) -> Lag:
        """How far the views are behind the log: log positions not projected yet, and how long
        the oldest of them has waited (by the ledger's clock). Queries the log: from async code,
        call it with `asyncio.to_thread`."""
        position, head = self._projector.position, self.ledger.head()
        if head <= position:
            return Lag(events_behind=0, seconds_behind=0.0)
        oldest = self.ledger.read_events(position, limit=1)
        waited = (self.ledger.clock() - oldest[0][1].recorded_at).total_seconds() if oldest else 0.0
        return Lag(events_behind=head - position, seconds_behind=max(0.0, waited))

    @property
    def position(self) -> int:
        """The log position the views reflect (reads the store until the worker has loaded)."""
        return self._projector.position

    # -- internals -----------------------------------------------------------------------------

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()

    async def _idle(self, stopping: asyncio.Future[Any], seconds: float) -> None:
        assert self._wakeup is not None
        woken: asyncio.Future[Any] = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait([woken, stopping], timeout=seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await woken
        self._wakeup.clear()

    def _pause(self) -> float:
        """The poll interval, shortened to the next settlement."""
        if self.claims is None or self._settled_at is None:
            return self.poll_interval
        due = self._settled_at + self.lease_seconds - asyncio.get_running_loop().time()
        return max(0.0, min(self.poll_interval, due))

    def _backoff(self, failures: int) -> float:
        return float(min(MAX_BACKOFF, max(self.poll_interval, 0.1) * 2 ** min(failures, 10)))
