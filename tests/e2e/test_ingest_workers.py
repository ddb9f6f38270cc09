"""Several ingest workers on one durable consumer, contending for the same aggregates, on real
SQLite and PostgreSQL: every message recorded exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from domain.aggregates.race_classification import RaceClassification
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from infra.workers.ingest_worker import IngestWorker
from services import contracts as c
from services.demo import load_demo
from services.ingest import IngestService
from services.timing_messages import message

MESSAGES = 600


async def backlog(js: JetStreamContext, topology: IngestTopology) -> int:
    return sum(await topology.backlog(js))


@pytest.mark.slow(26)
async def test_two_workers_share_the_consumer_without_loss_or_duplicates(
        nc: Client, nats_prefix: str, store_url: str) -> None:
    setup = open_ledger(store_url)
    load_demo(setup)
    base = setup.head()
    lmp2 = sorted({r["car"] for v in setup.state().classifications[("aslms-2023-24", 1)]
                   for r in v.value.rows if r["class"] == "LMP2"})
    start = datetime(2024, 3, 1, tzinfo=UTC)
    # Poles on five rounds: every message writes one of five aggregates, so workers collide.
    messages = [message(c.PolePositionV1.model_validate({
        "championship": "aslms-2023-24", "round": 1 + i % 5, "class": "LMP2",
        "car": lmp2[i % len(lmp2)], "effective_at": start + timedelta(minutes=i)}), nats_prefix)
        for i in range(MESSAGES)]
    topology = IngestTopology(prefix=nats_prefix)
    js = nc.jetstream()
    await topology.ensure(js)
    for m in messages:
        await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
    await js.publish_async_completed()

    workers = [IngestWorker(nc, IngestService(open_ledger(store_url), prefix=nats_prefix), topology,
                            batch=32) for _ in range(2)]
    handled = [0, 0]
    async with asyncio.timeout(600):  # until the consumer has nothing left, however slow the machine
        while await backlog(js, topology):
            rounds = await asyncio.gather(*(w.run_until_idle(idle=1.0) for w in workers))
            handled = [a + b for a, b in zip(handled, rounds, strict=True)]
    assert sum(handled) >= MESSAGES
    assert all(h > 0 for h in handled), "both workers took part"

    events = open_ledger(store_url).read_events(base)
    poles = [e for _, e in events if isinstance(e, RaceClassification.PoleRecorded)]
    receipts = [e for _, e in events if type(e).__name__ == "Received"]
    assert len(poles) == len({(e.originator_id, e.effective_at) for e in poles}) == MESSAGES
    assert len(receipts) == len({r.message_id for r in receipts}) == MESSAGES
    assert await topology.backlog(js) == (0, 0)
