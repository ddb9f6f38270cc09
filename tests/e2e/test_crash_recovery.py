"""SIGKILL the service at arbitrary points during a 10,000-message ingest, restart it, and end
with every message's facts in the log exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest

from domain.aggregates.stewards_decision import StewardsDecision
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from infra.views.factory import open_view_store
from services import contracts as c
from services.demo import DEMO_STEWARD, load_demo
from services.ledger import Ledger
from services.message_signing import signed
from services.timing_messages import OutgoingMessage, message
from tests.views_invariants import check_views

PADDOCK = str(Path(sys.executable).with_name("paddock"))
MESSAGES = 10_000


def deductions(prefix: str, cars_by_round: dict[int, list[str]]) -> list[OutgoingMessage]:
    """10,000 distinct stewards' decisions: half-point deductions spread over the season."""
    start = datetime(2024, 3, 1, tzinfo=UTC)
    out = []
    for i in range(MESSAGES):
        rnd = 1 + i % 5
        cars = cars_by_round[rnd]
        out.append(message(signed(c.PenaltyImposedV1.model_validate({
            "championship": "aslms-2023-24", "round": rnd, "car": cars[i % len(cars)],
            "decision": "points_deduction", "points": "0.5", "reference": f"bulk-{i:05d}",
            "reason": "synthetic load", "effective_at": start + timedelta(seconds=i),
        }), DEMO_STEWARD), prefix))
    return out


def start_service(store: str, nats_url: str, prefix: str, log: Path, roles: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PADDOCK_LOG_FORMAT": "json"}
    return subprocess.Popen(
        [PADDOCK, "serve", "--store", store, "--nats-url", nats_url, "--prefix", prefix,
         "--roles", roles, "--grace", "5"],
        stdout=subprocess.DEVNULL, stderr=log.open("ab"), env=env,
    )


async def ingested_beyond(ledger: Ledger, position: int, proc: subprocess.Popen[bytes],
                          log: Path) -> None:
    """Until the log's head reaches `position` (generous deadline; fails if the service dies)."""
    deadline = time.monotonic() + 300
    while ledger.head() < position:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no ingest up to {position}:\n{log.read_text()[-2000:]}")
        await asyncio.sleep(0.02)


async def pending(nats_url: str, topology: IngestTopology) -> int:
    nc = await nats.connect(nats_url)
    try:
        return sum(await topology.backlog(nc.jetstream()))
    finally:
        await nc.close()


async def publish_all(nats_url: str, topology: IngestTopology, messages: list[OutgoingMessage]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await topology.ensure(js)
        for m in messages:
            await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
        await js.publish_async_completed()
    finally:
        await nc.close()


@pytest.mark.slow(110)
async def test_sigkill_during_ingest_loses_and_duplicates_nothing(tmp_path: Path, nats_url: str,
                                                                 nats_prefix: str) -> None:
    store = f"sqlite:///{tmp_path / 'log.db'}"
    ledger = open_ledger(store)
    load_demo(ledger)
    state = ledger.state()
    cars_by_round = {n: sorted({r["car"] for v in state.classifications[("aslms-2023-24", n)]
                                for r in v.value.rows}) for n in range(1, 6)}
    base = ledger.head()
    topology = IngestTopology(prefix=nats_prefix)
    messages = deductions(nats_prefix, cars_by_round)
    await publish_all(nats_url, topology, messages)

    log = tmp_path / "serve.log"
    done_at_kill = []
    # Each run is killed once it has stored that many more messages than the run before, however
    # slow the machine. The first and third runs carry projections too, so the projection worker
    # is killed as well.
    for more, roles in ((300, "ingest,projections"), (1500, "ingest"), (100, "ingest,projections")):
        proc = start_service(store, nats_url, nats_prefix, log, roles)
        await ingested_beyond(ledger, ledger.head() + 2 * more, proc, log)  # a decision + a receipt
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        done_at_kill.append(len(open_ledger(store).state().receipts))
    assert 0 < done_at_kill[0] and done_at_kill[-1] < MESSAGES, "every kill lands mid-ingest"
    proc = start_service(store, nats_url, nats_prefix, log, "ingest,projections")
    deadline = time.monotonic() + 600
    head = -1
    while time.monotonic() < deadline:
        if not await pending(nats_url, topology):
            head = open_ledger(store).head()
            if open_view_store(store).position("projections") == head:
                break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError(f"not caught up after 600 s:\n{log.read_text()[-2000:]}")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, log.read_text()[-2000:]
    assert await pending(nats_url, topology) == 0

    after = open_ledger(store)
    events = after.read_events(base)
    receipts = [e for _, e in events if type(e).__name__ == "Received"]
    decisions = [e for _, e in events if isinstance(e, StewardsDecision.PenaltyImposed)]
    assert len({r.message_id for r in receipts}) == len(receipts) == MESSAGES
    assert len({d.reference for d in decisions}) == len(decisions) == MESSAGES
    assert len(events) == 2 * MESSAGES, "one decision and one receipt per message, nothing else"
    assert done_at_kill == sorted(done_at_kill)
    views = open_view_store(store)
    assert views.position("projections") == head == after.head()
    stored = {name: view.body for name in views.names() if (view := views.read(name))}
    check_views(after.read_events(0), stored, head)
