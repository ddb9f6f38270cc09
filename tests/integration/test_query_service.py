"""The query service over a real nats-server: the same answers as the Ledger (and the CLI's
--json), and a specific error reply for every kind of bad request."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from structlog.testing import capture_logs

from domain.decisions import DecisionKind, DecisionTerms
from infra.nats_subjects import query_subject
from infra.store import store_settings
from infra.workers.query_service import QueryService, start_query_service
from projections.canonical import canonical_json
from services.demo import ASLMS, DEMO_STEWARD, LEMANS, load_demo
from services.ledger import Ledger
from tests.conftest import Clock
from tests.integration.support import at, route

pytestmark = pytest.mark.nats

ERROR_CODE = "Nats-Service-Error-Code"
ERROR_TEXT = "Nats-Service-Error"
RECORDED = "2026-01-01T00:00:00Z"  # the test clock while the demo is loaded
LATE_DEDUCTION = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "26", points=Decimal(5))


@pytest.fixture
def demo_ledger(sqlite_store: str, clock: Clock) -> Ledger:
    """The demo season on SQLite, plus a points deduction recorded a day later (for known_at)."""
    ledger = Ledger(env=store_settings(sqlite_store), clock=clock)
    load_demo(ledger)
    clock.advance(days=1)
    ledger.impose_penalty(ASLMS, 5, LATE_DEDUCTION, reference="late-deduction", reason="test",
                          effective_at=at("2024-03-01T00:00:00+00:00"), signed_by=DEMO_STEWARD, actor="test",
                          source="test")
    return ledger


@pytest.fixture
async def service(nc: NatsClient, demo_ledger: Ledger,
                  nats_prefix: str) -> AsyncIterator[QueryService]:
    svc = await start_query_service(nc, demo_ledger, nats_prefix)
    yield svc
    await svc.stop()


@pytest.fixture
def ask(nc: NatsClient, nats_prefix: str, service: QueryService) -> Any:
    async def request(endpoint: str, body: dict[str, Any] | bytes) -> Msg:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await nc.request(query_subject(endpoint, prefix=nats_prefix), data, timeout=30)

    return request


def ok(msg: Msg) -> dict[str, Any]:
    assert not (msg.headers or {}).get(ERROR_CODE), msg.data
    return dict(json.loads(msg.data))


def error(msg: Msg, code: str = "400") -> dict[str, Any]:
    headers = msg.headers or {}
    assert headers.get(ERROR_CODE) == code, (headers, msg.data)
    body = json.loads(msg.data)["error"]
    assert headers[ERROR_TEXT] == body["message"]
    return dict(body)


def first_rows(view: dict[str, Any], n: int = 2) -> list[tuple[str, int]]:
    (block,) = view["classes"]
    return [(r["car"], r["points"]) for r in block["rows"][:n]]


# -- answers ------------------------------------------------------------------------------------


async def test_standings_now_equal_the_ledger_and_lmp2_is_won_by_car_4(ask: Any,
                                                                       demo_ledger: Ledger) -> None:
    msg = await ask("standings", {"championship": ASLMS, "class": "LMP2"})
    assert msg.data.decode() == canonical_json(demo_ledger.standings(ASLMS, class_id="LMP2"))
    assert first_rows(ok(msg), 1) == [("4", 83)]


async def test_standings_as_of_r5_flag_show_the_gt_order_before_the_stewards(
        ask: Any, demo_ledger: Ledger) -> None:
    as_of = "2024-02-11T19:00:00+04:00"
    msg = await ask("standings", {"championship": ASLMS, "class": "GT", "as_of": as_of})
    expected = demo_ledger.standings(ASLMS, class_id="GT", as_of=at(as_of))
    assert msg.data.decode() == canonical_json(expected)
    assert first_rows(ok(msg)) == [("91", 73), ("88", 67)]


async def test_known_at_hides_what_was_recorded_later(ask: Any, demo_ledger: Ledger) -> None:
    before = ok(await ask("standings", {"championship": ASLMS, "class": "LMP3",
                                        "known_at": RECORDED}))
    now = ok(await ask("standings", {"championship": ASLMS, "class": "LMP3"}))
    points = {r["car"]: r["points"] for r in before["classes"][0]["rows"]}
    points_now = {r["car"]: r["points"] for r in now["classes"][0]["rows"]}
    assert points_now["26"] == points["26"] - 5
    assert canonical_json(before) == canonical_json(
        demo_ledger.standings(ASLMS, class_id="LMP3", known_at=at("2026-01-01T00:00:00+00:00")))


async def test_invitations_on_5_february_give_lmp2_provisionally_to_car_99(
        ask: Any, demo_ledger: Ledger) -> None:
    msg = await ask("invitations", {"event": LEMANS, "as_of": "2024-02-05"})
    view = ok(msg)
    lmp2 = route(view, "aslms-2023-24/lmp2-champion")
    assert (lmp2["status"], lmp2["holder"]["car"]) == ("provisional", "99")
    expected = demo_ledger.invitations(LEMANS, as_of=at("2024-02-05T00:00:00+00:00"))
    assert msg.data.decode() == canonical_json(expected)


async def test_history_of_car_19_ends_with_its_time_penalty(ask: Any, demo_ledger: Ledger) -> None:
    msg = await ask("history", {"championship": ASLMS, "car": "19"})
    assert msg.data.decode() == canonical_json(demo_ledger.history(ASLMS, car="19"))
    events = ok(msg)["events"]
    assert [e["round"] for e in events] == [1, 2, 3, 4, 5, 5]
    assert "R5-car19-max-drive-time" in events[-1]["summary"]


async def test_every_query_logs_one_summary_line(ask: Any) -> None:
    with capture_logs() as logs:
        await ask("standings", {"championship": ASLMS})
        await ask("history", {"championship": "nope"})
    lines = [e for e in logs if e["event"] == "query"]
    assert [(e["endpoint"], e["code"]) for e in lines] == [("standings", "200"), ("history", "400")]
    assert all(e["duration_ms"] >= 0 for e in lines)


async def test_the_service_answers_discovery_with_its_endpoints(nc: NatsClient, nats_prefix: str,
                                                                service: QueryService) -> None:
    msg = await nc.request(f"$SRV.INFO.paddock.{service.id}", b"", timeout=30)
    info = json.loads(msg.data)
    assert info["name"] == "paddock"
    assert sorted(e["subject"] for e in info["endpoints"]) == [
        f"{nats_prefix}.query.audit.diff", f"{nats_prefix}.query.audit.explain",
        f"{nats_prefix}.query.audit.timeline", f"{nats_prefix}.query.entry_list",
        f"{nats_prefix}.query.entry_list_diff", f"{nats_prefix}.query.history",
        f"{nats_prefix}.query.invitations", f"{nats_prefix}.query.standings",
    ]


# -- bad requests -------------------------------------------------------------------------------


async def test_unknown_championship_is_named(ask: Any) -> None:
    body = error(await ask("standings", {"championship": "nope"}))
    assert body["type"] == "UnknownChampionshipError"
    assert "'nope'" in body["message"] and ASLMS in body["message"]


async def test_unknown_class_and_event_are_named(ask: Any) -> None:
    assert error(await ask("standings", {"championship": ASLMS, "class": "LMP1"}))["type"] == (
        "UnknownClassError")
    assert error(await ask("invitations", {"event": "daytona"}))["type"] == (
        "UnknownTargetEventError")


@pytest.mark.parametrize(("body", "expected"), [
    (b"{not json", "request body is not valid JSON"),
    (b"", "request body is not valid JSON"),
    (b'["aslms-2023-24"]', "request: Input should be an object"),
    (b'{"championship": "aslms-2023-24", "clas": "GT"}', "unknown field 'clas'"),
    (b'{"class": "GT"}', "championship: Field required"),
    (b'{"championship": ""}', "championship: String should have at least 1 character"),
])
async def test_malformed_requests_say_what_is_wrong(ask: Any, body: bytes, expected: str) -> None:
    reply = error(await ask("standings", body))
    assert reply["type"] == "InvalidRequestError"
    assert expected in reply["message"]


async def test_car_numbers_are_strings(ask: Any) -> None:
    reply = error(await ask("history", b'{"championship": "aslms-2023-24", "car": 19}'))
    assert (reply["type"], reply["message"]) == ("InvalidRequestError",
                                                 "car: Input should be a valid string")


@pytest.mark.parametrize(("when", "expected"), [
    ("yesterday", "as_of: 'yesterday' is not a date"),
    ("2024-02-05T10:00:00", "as_of: '2024-02-05T10:00:00' has no timezone"),
])
async def test_bad_dates_are_rejected_like_on_the_command_line(ask: Any, when: str,
                                                               expected: str) -> None:
    reply = error(await ask("invitations", {"event": LEMANS, "as_of": when}))
    assert reply["type"] == "InvalidInputError"
    assert reply["message"].startswith(expected)


async def test_an_unexpected_failure_is_a_500_without_internals(
        ask: Any, demo_ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> dict[str, Any]:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(demo_ledger, "standings", broken)
    with capture_logs() as logs:
        reply = error(await ask("standings", {"championship": ASLMS}), code="500")
    assert reply["type"] == "InternalError" and "secret" not in reply["message"]
    assert [e["error_type"] for e in logs if e["event"] == "query"] == ["RuntimeError"]
    assert ok(await ask("history", {"championship": ASLMS}))["championship"] == ASLMS


async def test_an_answer_too_large_for_the_server_is_an_error_not_a_timeout(
        ask: Any, demo_ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_ledger, "history", lambda *a, **k: {"events": "x" * 2_000_000})
    reply = error(await ask("history", {"championship": ASLMS}), code="500")
    assert reply["type"] == "ReplyTooLargeError" and "2000013 bytes" in reply["message"]


async def test_stopping_lets_a_request_in_flight_reply(
        nc: NatsClient, nats_prefix: str, demo_ledger: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = demo_ledger.history
    entered, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> dict[str, Any]:
        entered.set()
        release.wait(60)  # in flight until the service is stopping
        return original(*args, **kwargs)

    monkeypatch.setattr(demo_ledger, "history", held)
    svc = await start_query_service(nc, demo_ledger, nats_prefix)
    pending = asyncio.create_task(nc.request(query_subject("history", prefix=nats_prefix),
                                             json.dumps({"championship": ASLMS}).encode(),
                                             timeout=60))
    assert await asyncio.to_thread(entered.wait, 60)
    stopping = asyncio.create_task(svc.stop(grace=60))
    await _until_gone(nc, f"$SRV.PING.paddock.{svc.id}")  # it takes no more requests
    release.set()
    await stopping
    assert ok(await pending)["championship"] == ASLMS


async def _until_gone(nc: NatsClient, subject: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                await nc.request(subject, b"", timeout=5)
            except NoRespondersError:
                return
            await asyncio.sleep(0.01)
