"""Issue 10, "done when": two `paddock serve` processes on one PostgreSQL log split the work, two
projection workers and two ingest workers between them, over many championships. One process is
SIGKILLed mid-ingest; the survivor takes over its partition groups, and the run ends with every
message recorded once and every view equal to a replay of the log.

The processes find each other only through the store and the broker (leases on partition groups:
docs/SERVICE.md, "Assignment and leases"); the test waits on what it can observe: the log, the
broker's consumers and the processes' own log lines."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import nats
import pytest

from bench.workload import ingest_workload
from domain.aggregates.race_classification import RaceClassification
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from tests.e2e.ingest_checks import assert_views_replay
from tests.e2e.serve_process import ServeProcess
from tests.e2e.test_crash_recovery import publish_all

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
CHAMPIONSHIPS = 24
ROUNDS = 10  # classification messages per championship, 40 rows each
LEASE_SECONDS = "0.5"  # how often a worker looks for groups nobody holds (a dead peer's)
ROLES = "ingest,projections,publisher"


def serve(log: Path, store: str, nats_url: str, prefix: str) -> ServeProcess:
    return ServeProcess(log, "--store", store, "--nats-url", nats_url, "--prefix", prefix,
                        "--roles", ROLES, "--grace", "5",
                        env={"PADDOCK_LEASE_SECONDS": LEASE_SECONDS,
                             "PADDOCK_INGEST_CLAIM_EVERY": LEASE_SECONDS})


async def backlog(nats_url: str, topology: IngestTopology) -> tuple[int, int]:
    """Messages the broker holds for the ingest groups: not delivered, and not acknowledged."""
    nc = await nats.connect(nats_url)
    try:
        return await topology.backlog(nc.jetstream())
    finally:
        await nc.close()


def receipts(store: str) -> Counter[str]:
    """Message id → how many receipts the log holds for it."""
    ledger = open_ledger(store)
    try:
        return Counter(e.message_id for _, e in ledger.read_events(0)
                       if type(e).__name__ == "Received")
    finally:
        ledger.close()


def ingested(serve: ServeProcess) -> int:
    return sum(1 for line in serve.lines() if line.get("event") == "ingest.message")


async def until(check: object, what: str, timeout: float, *processes: ServeProcess) -> None:
    """Poll `check` (a blocking callable) in a thread until true; fail if a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes:
            assert proc.proc.poll() is None, f"serve exited before {what}:\n{proc.tail()}"
        if await asyncio.to_thread(check):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {what} after {timeout}s:\n"
                         + "\n---\n".join(p.tail() for p in processes))


def views_caught_up(store: str) -> bool:
    """Every partition group's views reflect the whole log (the position of the group that is
    furthest behind)."""
    from infra.views.factory import open_view_store

    ledger, views = open_ledger(store), open_view_store(store)
    try:
        return views.position("projections") == ledger.head()
    finally:
        ledger.close()
        views.close()


@pytest.mark.slow(14)
async def test_two_serve_processes_split_the_work_and_survive_a_sigkill(
        tmp_path: Path, postgres_store: str, nats_url: str, nats_prefix: str) -> None:
    store = postgres_store
    workload = ingest_workload(CHAMPIONSHIPS * ROUNDS, rounds_per_championship=ROUNDS,
                               prefix=nats_prefix)
    messages = [*workload.seasons, *workload.classifications]
    topology = IngestTopology(prefix=nats_prefix)
    first = serve(tmp_path / "first.log", store, nats_url, nats_prefix)
    second = serve(tmp_path / "second.log", store, nats_url, nats_prefix)
    try:
        for proc in (first, second):
            proc.wait_event("serve.started", timeout=60)
        # most messages first; the rest right before the kill, so that the kill always lands
        # mid-ingest, however fast the machine
        split = len(messages) * 3 // 5
        await publish_all(nats_url, topology, messages[:split])
        await until(lambda: ingested(first) >= 10 and ingested(second) >= 10,
                    "ingest by both processes", 180, first, second)
        await publish_all(nats_url, topology, messages[split:])
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
        assert await backlog(nats_url, topology) != (0, 0), "the kill must land mid-ingest"

        # the survivor takes over the dead process's groups, ingest and projections alike
        await until(lambda: len(receipts(store)) == len(messages), "every message recorded",
                    300, second)
        await until(lambda: views_caught_up(store), "views caught up", 300, second)
        code, _ = second.stop_within(signal.SIGTERM, 30)
        assert code == 0, second.tail()
    finally:
        first.kill()
        second.kill()

    counted = receipts(store)
    assert set(counted) == {m.message_id for m in messages}
    assert max(counted.values()) == 1, [k for k, n in counted.items() if n > 1][:5]
    ledger = open_ledger(store)
    try:
        events = ledger.read_events(0)
        opened = Counter((e.championship, e.round_number) for _, e in events
                         if isinstance(e, RaceClassification.Opened))
        versions = Counter(e.originator_id for _, e in events
                           if isinstance(e, RaceClassification.Published))
        assert len(opened) == CHAMPIONSHIPS * ROUNDS and set(opened.values()) == {1}
        assert len(versions) == CHAMPIONSHIPS * ROUNDS and set(versions.values()) == {1}
        assert_views_replay(store, ledger, ledger.head())
    finally:
        ledger.close()
