"""The audit answers over NATS equal the Ledger's (and so the CLI's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client

from infra.nats_subjects import query_subject
from infra.workers.query_service import start_query_service
from projections.canonical import canonical_json
from services.demo import ASLMS, load_demo
from services.ledger import Ledger

pytestmark = pytest.mark.nats
LATER = "2030-01-01T00:00:00Z"
LATER_DT = datetime(2030, 1, 1, tzinfo=UTC)


async def ask(nc: Client, prefix: str, endpoint: str, body: dict[str, object]) -> bytes:
    reply = await nc.request(query_subject(endpoint, prefix=prefix), json.dumps(body).encode(),
                             timeout=30)
    return bytes(reply.data)


async def test_explain_timeline_and_diff_over_nats(nc: Client, nats_prefix: str) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(ledger)
    service = await start_query_service(nc, ledger, prefix=nats_prefix)
    try:
        explained = await ask(nc, nats_prefix, "audit.explain",
                              {"championship": ASLMS, "car": "91", "as_of": LATER, "known_at": LATER})
        assert explained.decode() == canonical_json(
            ledger.explain(ASLMS, "91", as_of=LATER_DT, known_at=LATER_DT))
        diff = await ask(nc, nats_prefix, "audit.diff", {
            "championship": ASLMS, "from": "2024-02-11T19:00:00+04:00",
            "to": "2024-02-11T21:30:00+04:00", "known_at": LATER})
        assert diff.decode() == canonical_json(ledger.diff(
            ASLMS, datetime.fromisoformat("2024-02-11T19:00:00+04:00"),
            datetime.fromisoformat("2024-02-11T21:30:00+04:00"), known_at=LATER_DT))
        timeline = json.loads(await ask(nc, nats_prefix, "audit.timeline",
                                        {"championship": ASLMS, "as_of": LATER, "known_at": LATER}))
        assert timeline["retroactive"] == len(timeline["facts"])
        bad = json.loads(await ask(nc, nats_prefix, "audit.explain", {"championship": ASLMS, "car": "777"}))
        assert bad["error"]["type"] == "UnknownCarError"
    finally:
        await service.stop()
