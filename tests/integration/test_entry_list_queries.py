"""The entry list over the service: the query endpoints answer what the Ledger answers (and so
the CLI's `paddock entry-list --json`), and the projection worker keeps the live entry-list view
equal to a replay, on the Le Mans 2024 desk (services/lemans_scenario.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from infra.nats_subjects import query_subject
from infra.store import store_settings
from infra.views import ViewStore
from infra.views.factory import open_view_store
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.query_service import QueryService, start_query_service
from projections.canonical import canonical_json
from projections.entry_list_view import entry_list_view
from projections.live_views import live_time
from services.demo import LEMANS
from services.ledger import Ledger
from services.lemans_scenario import load_lemans_scenario
from tests.conftest import Clock
from tests.views_invariants import check_views

ENTRY_LIST = f"entry-list/{LEMANS}"
ERROR_CODE = "Nats-Service-Error-Code"
WITHDRAWN_ROUTE = "elms-2023/lmp2-runner-up"  # accepted in the scenario; withdrawn here
WITHDRAWN_AT = datetime.fromisoformat("2024-04-02T12:00:00+02:00")


def lmp2(view: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in view["classes"] if c["class"] == "LMP2")


def cars(lines: list[dict[str, Any]]) -> list[str | None]:
    return [x["car"] for x in lines]


def withdraw(ledger: Ledger) -> None:
    """An accepted invitation withdrawn after the second list: the next LMP2 reserve moves up."""
    ledger.transition_invitation(LEMANS, WITHDRAWN_ROUTE, "withdrawn", holder=None,
                                 reason="the team withdrew", effective_at=WITHDRAWN_AT,
                                 actor="test", source="test")


# -- the queries over a real nats-server ------------------------------------------------------


@pytest.fixture
def desk_ledger(sqlite_store: str, clock: Clock) -> Ledger:
    ledger = Ledger(env=store_settings(sqlite_store), clock=clock)
    load_lemans_scenario(ledger)
    return ledger


@pytest.fixture
async def service(nc: NatsClient, desk_ledger: Ledger,
                  nats_prefix: str) -> AsyncIterator[QueryService]:
    svc = await start_query_service(nc, desk_ledger, nats_prefix)
    yield svc
    await svc.stop()


@pytest.fixture
def ask(nc: NatsClient, nats_prefix: str, service: QueryService) -> Any:
    async def request(endpoint: str, body: dict[str, Any]) -> Msg:
        return await nc.request(query_subject(endpoint, prefix=nats_prefix),
                                json.dumps(body).encode(), timeout=30)

    return request


def error(msg: Msg) -> dict[str, Any]:
    assert (msg.headers or {}).get(ERROR_CODE) == "400", (msg.headers, msg.data)
    return dict(json.loads(msg.data)["error"])


@pytest.mark.nats
async def test_the_entry_list_at_a_date_and_now_equal_the_ledgers(ask: Any,
                                                                  desk_ledger: Ledger) -> None:
    as_of = "2024-03-09T00:00:00+01:00"  # the day after the decline
    msg = await ask("entry_list", {"event": LEMANS, "as_of": as_of})
    expected = desk_ledger.entry_list(LEMANS, as_of=datetime.fromisoformat(as_of))
    assert msg.data.decode() == canonical_json(expected)
    assert "R1" in cars(lmp2(json.loads(msg.data))["entries"])  # the promoted reserve
    now = await ask("entry_list", {"event": LEMANS})
    assert now.data.decode() == canonical_json(desk_ledger.entry_list(LEMANS))


@pytest.mark.nats
async def test_a_published_version_and_the_diff_equal_the_ledgers(ask: Any,
                                                                  desk_ledger: Ledger) -> None:
    first = await ask("entry_list", {"event": LEMANS, "published": 1})
    assert first.data.decode() == canonical_json(desk_ledger.entry_list(LEMANS, published=1))
    assert json.loads(first.data)["published"]["version"] == 1
    diff = await ask("entry_list_diff", {"event": LEMANS, "from": 1, "to": 2})
    assert diff.data.decode() == canonical_json(desk_ledger.entry_list_diff(LEMANS, 1, 2))
    assert "LMP2" in [c["class"] for c in json.loads(diff.data)["classes"]]  # the decline


@pytest.mark.nats
async def test_bad_entry_list_requests_get_the_ledgers_errors(ask: Any) -> None:
    unknown = error(await ask("entry_list", {"event": "nope-2024"}))
    assert unknown["type"] == "UnknownTargetEventError" and LEMANS in unknown["message"]
    missing = error(await ask("entry_list", {"event": LEMANS, "published": 9}))
    assert missing["type"] == "InvalidInputError" and "published: 1, 2" in missing["message"]
    both = error(await ask("entry_list", {"event": LEMANS, "published": 1,
                                          "as_of": "2024-03-01"}))
    assert both["type"] == "InvalidInputError" and "fixes both times" in both["message"]
    bad_diff = error(await ask("entry_list_diff", {"event": LEMANS, "from": 1, "to": 7}))
    assert bad_diff["type"] == "InvalidInputError" and "version 7" in bad_diff["message"]
    no_to = error(await ask("entry_list_diff", {"event": LEMANS, "from": 1}))
    assert no_to["type"] == "InvalidRequestError" and "to" in no_to["message"]
    extra = error(await ask("entry_list", {"event": LEMANS, "version": 1}))
    assert extra["message"] == "unknown field 'version'"


@pytest.mark.nats
async def test_discovery_lists_the_entry_list_endpoints(nc: NatsClient, nats_prefix: str,
                                                        service: QueryService) -> None:
    info = json.loads((await nc.request(f"$SRV.INFO.paddock.{service.id}", b"", timeout=30)).data)
    subjects = {e["subject"] for e in info["endpoints"]}
    assert {f"{nats_prefix}.query.entry_list", f"{nats_prefix}.query.entry_list_diff"} <= subjects


# -- the projection worker (SQLite and PostgreSQL) --------------------------------------------


@pytest.fixture
def desk(ledger: Ledger) -> Ledger:
    load_lemans_scenario(ledger)
    return ledger


def replayed_entry_list(ledger: Ledger) -> str:
    state = ledger.replay()
    t = live_time(state)
    assert t is not None
    return canonical_json(entry_list_view(state, LEMANS, t, t))


async def test_the_worker_writes_the_entry_list_equal_to_a_replay(desk: Ledger, views: ViewStore,
                                                                 clock: Clock) -> None:
    worker = ProjectionWorker(desk, views, batch=7)
    await worker.run_until_caught_up()
    stored = views.read(ENTRY_LIST)
    assert stored is not None and stored.body == replayed_entry_list(desk)
    check_views(desk.read_events(), {v.name: v.body for v in views.changed_since(-1)}, desk.head())
    before = json.loads(stored.body)
    assert [v["version"] for v in before["versions"]] == [1, 2]

    clock.advance(hours=1)
    withdraw(desk)
    progress = await worker.run_until_caught_up()
    assert progress.events == 1
    after = views.read(ENTRY_LIST)
    assert after is not None and after.body == replayed_entry_list(desk)
    assert json.loads(after.body)["log_position"] == desk.head() > before["log_position"]
    assert "R2" not in cars(lmp2(before)["entries"])
    assert "R2" in cars(lmp2(json.loads(after.body))["entries"])  # the next reserve moved up
    check_views(desk.read_events(), {v.name: v.body for v in views.changed_since(-1)}, desk.head())


async def test_the_entry_list_does_not_depend_on_batch_sizes(desk: Ledger, store_url: str,
                                                            views: ViewStore) -> None:
    await ProjectionWorker(desk, views, batch=500).run_until_caught_up()
    one_by_one = open_view_store(store_url, suffix="_one_by_one")
    try:
        await ProjectionWorker(desk, one_by_one, batch=1).run_until_caught_up()
        ours, theirs = one_by_one.read(ENTRY_LIST), views.read(ENTRY_LIST)
        assert ours is not None and theirs is not None and ours.body == theirs.body
    finally:
        one_by_one.drop()
        one_by_one.close()

