"""Issue 9 item 2, the pieces: the fence that keeps store calls from starting after the stop,
and the outage state that is logged once per change, not once per retry."""

from __future__ import annotations

import asyncio
import threading

import pytest
import structlog
from eventsourcing.persistence import IntegrityError, OperationalError

from infra.workers.fence import Fence, StoppingError
from infra.workers.outage import StoreOutage, is_outage


async def test_no_store_call_starts_once_stop_is_set() -> None:
    stop = asyncio.Event()
    fence = Fence(stop)
    assert await fence.run(lambda: 1) == 1
    stop.set()
    with pytest.raises(StoppingError):
        await fence.run(lambda: 2)


async def test_settle_waits_for_the_call_in_flight() -> None:
    fence, release, started = Fence(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "written"

    call = asyncio.ensure_future(fence.run(slow))
    await asyncio.to_thread(started.wait, 5)
    fence.close()
    assert await asyncio.to_thread(fence.settle, 0.05) == 1  # still in flight
    release.set()
    assert await asyncio.to_thread(fence.settle, 5) == 0
    assert await call == "written"
    with pytest.raises(StoppingError):
        await fence.run(slow)


def test_an_outage_is_logged_when_it_starts_and_when_it_ends() -> None:
    outage = StoreOutage("ingest", first=0.5, most=5.0)
    with structlog.testing.capture_logs() as logs:
        pauses = [outage.failed(OperationalError("connection refused")) for _ in range(8)]
        outage.succeeded()
        outage.succeeded()
    assert [line["event"] for line in logs] == ["store.unavailable", "store.recovered"]
    assert logs[1]["failures"] == 8
    assert all(0.25 <= p <= 5.0 for p in pauses) and pauses[-1] >= 2.5  # bounded, growing
    assert not outage.down


def test_what_is_an_outage() -> None:
    cause = OperationalError("server closed the connection unexpectedly")
    wrapped = RuntimeError("while appending")
    wrapped.__cause__ = cause
    assert is_outage(cause) and is_outage(wrapped)
    assert not is_outage(IntegrityError("duplicate key"))
    assert not is_outage(ValueError("bad input"))
