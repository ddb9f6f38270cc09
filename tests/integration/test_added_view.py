"""Views added by their module and a catalog line only (tests/added_view.py) are answered: by
the query module from a Ledger on SQLite, and by the query service started with that catalog,
over a real nats-server, with the same bytes and the same checks on bad requests. The published
one is also projected by the projection worker, published by the publisher (KV bucket and state
stream) and answered by the query service, all started with that catalog and nothing else."""

from __future__ import annotations

import json

import pytest
from nats.aio.client import Client

from domain.errors import UnknownChampionshipError
from infra.nats_subjects import bucket_name, query_subject, state_stream_name
from infra.store import store_settings
from infra.views.factory import open_view_store
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.publisher import Publisher
from infra.workers.query_service import start_query_service
from projections.canonical import canonical_json
from services import queries
from services.demo import ASLMS, load_demo
from services.ledger import Ledger
from tests.added_view import WITH_ADDED_VIEWS
from tests.conftest import Clock
from tests.views_invariants import check_views, content

pytestmark = pytest.mark.nats
ROUND_5 = {"championship": ASLMS, "round": 5}


@pytest.fixture
def demo_ledger(sqlite_store: str, clock: Clock) -> Ledger:
    ledger = Ledger(env=store_settings(sqlite_store), clock=clock)
    load_demo(ledger)
    return ledger


def test_the_query_module_answers_it_from_the_ledger(demo_ledger: Ledger) -> None:
    view = queries.answer(demo_ledger, "round-facts", ROUND_5, catalog=WITH_ADDED_VIEWS)
    assert view["round"] == 5
    assert view["log_position"] == demo_ledger.history(ASLMS)["log_position"]  # its partition's
    summaries = [f["summary"] for f in view["facts"]]
    assert any("R5-car19-max-drive-time" in s for s in summaries)
    before_the_flag = queries.answer(demo_ledger, "round-facts", {**ROUND_5, "as_of": "2024-01-01"},
                                     catalog=WITH_ADDED_VIEWS)
    assert before_the_flag["facts"] == []
    with pytest.raises(UnknownChampionshipError):
        queries.answer(demo_ledger, "round-facts", {**ROUND_5, "championship": "nope"},
                       catalog=WITH_ADDED_VIEWS)


async def test_the_query_service_answers_it_with_the_query_modules_bytes(
        nc: Client, nats_prefix: str, demo_ledger: Ledger) -> None:
    service = await start_query_service(nc, demo_ledger, nats_prefix, catalog=WITH_ADDED_VIEWS)
    subject = query_subject("round_facts", prefix=nats_prefix, catalog=WITH_ADDED_VIEWS)
    try:
        reply = await nc.request(subject, json.dumps(ROUND_5).encode(), timeout=30)
        expected = queries.answer(demo_ledger, "round-facts", ROUND_5, catalog=WITH_ADDED_VIEWS)
        assert reply.data.decode() == canonical_json(expected)
        bad = await nc.request(subject, json.dumps({"championship": ASLMS, "round": "5"}).encode(),
                               timeout=30)
        assert json.loads(bad.data)["error"] == {"type": "InvalidRequestError",
                                                 "message": "round: Input should be a valid integer"}
    finally:
        await service.stop()


async def test_a_published_added_view_is_projected_published_and_answered(
        nc: Client, nats_prefix: str, sqlite_store: str, demo_ledger: Ledger) -> None:
    views = open_view_store(sqlite_store)
    try:
        progress = await ProjectionWorker(demo_ledger, views,
                                          catalog=WITH_ADDED_VIEWS).run_until_caught_up()
        stored = {v.name: v.body for v in views.changed_since(-1)}
        check_views(demo_ledger.read_events(), stored, progress.position, WITH_ADDED_VIEWS)
        body = stored[f"rounds/{ASLMS}"]
        assert [r["round"] for r in json.loads(body)["rounds"]] == [1, 2, 3, 4, 5]

        publisher = Publisher(nc, views, prefix=nats_prefix, poll_interval=30,
                              catalog=WITH_ADDED_VIEWS)
        assert await publisher.publish_pending() > 0
        kv = await nc.jetstream().key_value(bucket_name(prefix=nats_prefix))
        assert (await kv.get(f"rounds.{ASLMS}")).value == body.encode()
        last = await nc.jetstream().get_last_msg(state_stream_name(prefix=nats_prefix),
                                                 f"{nats_prefix}.rounds.{ASLMS}")
        assert last.data == body.encode()
    finally:
        views.close()

    service = await start_query_service(nc, demo_ledger, nats_prefix, catalog=WITH_ADDED_VIEWS)
    try:
        reply = await nc.request(query_subject("rounds", prefix=nats_prefix, catalog=WITH_ADDED_VIEWS),
                                 json.dumps({"championship": ASLMS}).encode(), timeout=30)
    finally:
        await service.stop()
    assert reply.data.decode() == canonical_json(
        queries.answer(demo_ledger, "rounds", {"championship": ASLMS}, catalog=WITH_ADDED_VIEWS))
    assert content(reply.data.decode()) == content(body)  # the published state, queried
