"""A view added by its module and a catalog line only (tests/added_view.py) is answered: by the
query module from a Ledger on SQLite, and by the query service started with that catalog, over a
real nats-server, with the same bytes and the same checks on bad requests."""

from __future__ import annotations

import json

import pytest
from nats.aio.client import Client

from domain.errors import UnknownChampionshipError
from infra.nats_subjects import query_subject
from infra.store import store_settings
from infra.workers.query_service import start_query_service
from projections.canonical import canonical_json
from services import queries
from services.demo import ASLMS, load_demo
from services.ledger import Ledger
from tests.added_view import WITH_ROUND_FACTS
from tests.conftest import Clock

pytestmark = pytest.mark.nats
ROUND_5 = {"championship": ASLMS, "round": 5}


@pytest.fixture
def demo_ledger(sqlite_store: str, clock: Clock) -> Ledger:
    ledger = Ledger(env=store_settings(sqlite_store), clock=clock)
    load_demo(ledger)
    return ledger


def test_the_query_module_answers_it_from_the_ledger(demo_ledger: Ledger) -> None:
    view = queries.answer(demo_ledger, "round-facts", ROUND_5, catalog=WITH_ROUND_FACTS)
    assert view["round"] == 5
    assert view["log_position"] == demo_ledger.history(ASLMS)["log_position"]  # its partition's
    summaries = [f["summary"] for f in view["facts"]]
    assert any("R5-car19-max-drive-time" in s for s in summaries)
    before_the_flag = queries.answer(demo_ledger, "round-facts", {**ROUND_5, "as_of": "2024-01-01"},
                                     catalog=WITH_ROUND_FACTS)
    assert before_the_flag["facts"] == []
    with pytest.raises(UnknownChampionshipError):
        queries.answer(demo_ledger, "round-facts", {**ROUND_5, "championship": "nope"},
                       catalog=WITH_ROUND_FACTS)


async def test_the_query_service_answers_it_with_the_query_modules_bytes(
        nc: Client, nats_prefix: str, demo_ledger: Ledger) -> None:
    service = await start_query_service(nc, demo_ledger, nats_prefix, catalog=WITH_ROUND_FACTS)
    subject = query_subject("round_facts", prefix=nats_prefix, catalog=WITH_ROUND_FACTS)
    try:
        reply = await nc.request(subject, json.dumps(ROUND_5).encode(), timeout=30)
        expected = queries.answer(demo_ledger, "round-facts", ROUND_5, catalog=WITH_ROUND_FACTS)
        assert reply.data.decode() == canonical_json(expected)
        bad = await nc.request(subject, json.dumps({"championship": ASLMS, "round": "5"}).encode(),
                               timeout=30)
        assert json.loads(bad.data)["error"] == {"type": "InvalidRequestError",
                                                 "message": "round: Input should be a valid integer"}
    finally:
        await service.stop()
