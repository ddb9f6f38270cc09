"""The publisher over a real nats-server: late joiners read the KV bucket, live subscribers get
every change in log order, and a restart republishes nothing twice."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from domain.decisions import DecisionKind, DecisionTerms
from infra.nats_subjects import bucket_name, state_stream_name
from infra.views.factory import open_view_store
from infra.views.tracking import group_key
from infra.workers.publisher import Publisher
from projections.canonical import canonical_json
from projections.invitations_view import invitations_view
from projections.standings_view import standings_view
from services.demo import ASLMS, DEMO_STEWARD, LEMANS, load_demo
from services.ledger import Ledger
from tests.conftest import Clock
from tests.memory_views import MemoryViewStore

pytestmark = pytest.mark.nats

PROJECTOR = "projector"
KEYS = ["invitations.lemans-2024", "standings.aslms-2023-24.GT", "standings.aslms-2023-24.LMP2",
        "standings.aslms-2023-24.LMP3"]
DEDUCTION = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "4", points=Decimal(15))
DECIDED = datetime.fromisoformat("2024-03-01T12:00:00+00:00")


def live_views(ledger: Ledger, when: datetime) -> dict[str, str]:
    """What the projection worker writes: the live views with as_of = known_at = T."""
    state = ledger.state()
    return {
        f"standings/{ASLMS}": canonical_json(standings_view(state, ASLMS, when, when)),
        f"invitations/{LEMANS}": canonical_json(invitations_view(state, LEMANS, when, when)),
    }


def project(ledger: Ledger, store: MemoryViewStore, clock: Clock) -> int:
    position = ledger.head()
    store.write(PROJECTOR, position, live_views(ledger, clock.now))
    return position


@pytest.fixture
def demo(memory_ledger: Ledger) -> Ledger:
    load_demo(memory_ledger)
    return memory_ledger


@pytest.fixture
def store() -> MemoryViewStore:
    return MemoryViewStore()


@pytest.fixture
def publisher(nc: NatsClient, store: MemoryViewStore, nats_prefix: str) -> Publisher:
    return Publisher(nc, store, prefix=nats_prefix, poll_interval=30)


async def stream_count(nc: NatsClient, prefix: str) -> int:
    info = await nc.jetstream().stream_info(state_stream_name(prefix=prefix))
    return int(info.state.messages)


async def receive(sub: Any, n: int) -> list[Msg]:
    return [await sub.next_msg(timeout=30) for _ in range(n)]


def leader(body: bytes) -> tuple[str, Any]:
    (block,) = json.loads(body)["classes"]
    return block["rows"][0]["car"], block["rows"][0]["points"]


async def test_a_late_joiner_reads_the_current_state_from_the_kv_bucket(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock,
        nats_url: str, nats_prefix: str) -> None:
    position = project(demo, store, clock)
    assert await publisher.publish_pending() == 4  # three classes and the invitations
    assert store.published_position("publisher") == position

    late = await nats.connect(nats_url)
    try:
        kv = await late.jetstream().key_value(bucket_name(prefix=nats_prefix))
        assert sorted(await kv.keys()) == KEYS
        lmp2 = (await kv.get("standings.aslms-2023-24.LMP2")).value
        invitations = (await kv.get("invitations.lemans-2024")).value
    finally:
        await late.close()
    assert leader(lmp2) == ("4", 83)
    state = demo.state()
    assert lmp2 == canonical_json(standings_view(state, ASLMS, clock.now, clock.now, "LMP2")).encode()
    assert invitations.decode() == store.views[f"invitations/{LEMANS}"].body


async def test_messages_name_the_position_and_times_they_reflect(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock,
        nc: NatsClient, nats_prefix: str) -> None:
    position = project(demo, store, clock)
    await publisher.publish_pending()
    last = await nc.jetstream().get_last_msg(state_stream_name(prefix=nats_prefix),
                                             f"{nats_prefix}.standings.aslms-2023-24.GT")
    assert last.headers is not None
    assert {k: v for k, v in last.headers.items() if k.startswith(("Paddock-", "Nats-Msg"))} == {
        "Nats-Msg-Id": f"standings/{ASLMS}@{position}/GT",
        "Paddock-View": f"standings/{ASLMS}",
        "Paddock-Log-Position": str(position),
        "Paddock-As-Of": "2026-01-01T00:00:00Z",
        "Paddock-Known-At": "2026-01-01T00:00:00Z",
    }
    assert json.loads(last.data or b"")["log_position"] == position


async def test_a_live_subscriber_gets_each_change_in_log_order(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock,
        nc: NatsClient, nats_prefix: str) -> None:
    first = project(demo, store, clock)
    await publisher.publish_pending()
    sub = await nc.subscribe(f"{nats_prefix}.>")
    await nc.flush()
    stop = asyncio.Event()
    running = asyncio.create_task(publisher.run(stop))
    try:
        clock.advance(hours=1)
        demo.impose_penalty(ASLMS, 5, DEDUCTION, reference="late", reason="test",
                            effective_at=DECIDED, signed_by=DEMO_STEWARD, actor="test", source="test")
        second = project(demo, store, clock)
        publisher.wake()  # the poll interval is 30 s: only the wake-up can publish this in time
        received = await receive(sub, 2)  # LMP2 and the invitations; GT and LMP3 did not change
        clock.advance(hours=1)
        demo.rescind_penalty(ASLMS, 5, "late", reason="appeal upheld", effective_at=DECIDED,
                             signed_by=DEMO_STEWARD, actor="test", source="test")
        third = project(demo, store, clock)
        publisher.wake()
        received += await receive(sub, 2)
    finally:
        stop.set()
        await running
    assert first < second < third
    positions = [int((m.headers or {})["Paddock-Log-Position"]) for m in received]
    assert positions == sorted(positions) and set(positions) == {second, third}
    assert {m.subject.rsplit(".", 1)[-1] for m in received} == {"LMP2", "lemans-2024"}
    lmp2 = [m for m in received if m.subject.endswith(".LMP2")]
    assert [leader(m.data) for m in lmp2] == [("22", 71), ("4", 83)]


async def test_a_restart_republishes_nothing_twice(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock,
        nc: NatsClient, nats_prefix: str) -> None:
    position = project(demo, store, clock)
    await publisher.publish_pending()
    assert await stream_count(nc, nats_prefix) == 4

    # crashed before recording its position: the KV already holds every body
    store.set_published("publisher", 0)
    assert await publisher.publish_pending() == 0
    assert await stream_count(nc, nats_prefix) == 4

    # crashed between the stream publish and the KV put: the stream drops the same msg ids
    kv = await nc.jetstream().key_value(bucket_name(prefix=nats_prefix))
    for key in KEYS:
        await kv.purge(key)
    store.set_published("publisher", 0)
    restarted = Publisher(nc, store, prefix=nats_prefix)
    assert await restarted.publish_pending() == 0
    assert await stream_count(nc, nats_prefix) == 4
    assert store.published_position("publisher") == position
    assert leader((await kv.get("standings.aslms-2023-24.LMP2")).value) == ("4", 83)


async def test_an_unchanged_view_at_a_later_position_is_not_republished(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock,
        nc: NatsClient, nats_prefix: str) -> None:
    position = project(demo, store, clock)
    await publisher.publish_pending()
    views = {v.name: v.body for v in store.views.values()}
    store.write(PROJECTOR, position + 1, {**views, "unknown/kind": "{}"})
    assert await publisher.publish_pending() == 0
    assert store.published_position("publisher") == position + 1
    assert await stream_count(nc, nats_prefix) == 4


async def test_the_sqlite_view_store_feeds_the_publisher_too(
        demo: Ledger, clock: Clock, sqlite_store: str, nc: NatsClient, nats_prefix: str) -> None:
    views = open_view_store(sqlite_store)
    try:
        views.write(PROJECTOR, demo.head(), live_views(demo, clock.now))
        assert await Publisher(nc, views, prefix=nats_prefix).publish_pending() == 4
        assert views.published_position("publisher") == demo.head()
        assert await Publisher(nc, views, prefix=nats_prefix).publish_pending() == 0
        assert await stream_count(nc, nats_prefix) == 4
    finally:
        views.close()


async def test_views_of_groups_ahead_wait_until_every_group_reached_them(
        demo: Ledger, store: MemoryViewStore, publisher: Publisher, clock: Clock) -> None:
    """Two workers, each writing its own partition group at its own pace: a view stored at a
    position some group has not reached yet waits, so none is passed over (a view of the group
    behind may still be stored below it)."""
    views, head = live_views(demo, clock.now), demo.head()
    ahead, behind = group_key(PROJECTOR, 0, 2), group_key(PROJECTOR, 1, 2)
    store.write_tracked({ahead: (0, head)}, head, {f"standings/{ASLMS}": views[f"standings/{ASLMS}"]})
    assert await publisher.publish_pending() == 0  # the other group is at 0
    store.write_tracked({behind: (0, head - 1)}, head - 1,
                        {f"invitations/{LEMANS}": views[f"invitations/{LEMANS}"]})
    assert await publisher.publish_pending() == 1  # the invitations, stored at head - 1
    assert store.published_position("publisher") == head - 1
    store.write_tracked({behind: (head - 1, head)}, head, {})
    assert await publisher.publish_pending() == 3  # the standings' three classes
    assert store.published_position("publisher") == head
