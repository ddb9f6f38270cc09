"""Issue 9 item 2: `paddock serve` (all roles, PostgreSQL) outlives a database outage of 10 s,
then one of 60 s, in the middle of an ingest: every role backs off and logs the outage once,
resumes by itself when the database is back, every message the broker took is recorded exactly
once (none dead-lettered), the views equal a replay, and nothing is written after the service
says it stopped. Runs on its own PostgreSQL server (tests/pg_instance.py), never the shared one.
About two minutes: the 60 s outage is the scenario of the issue."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import datetime
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from domain.partitions import championship_partition
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from infra.nats_subjects import query_subject
from infra.views.factory import open_view_store
from services.demo import load_demo
from services.timing_messages import OutgoingMessage
from tests.e2e.ingest_checks import assert_each_message_once, assert_views_replay
from tests.e2e.serve_process import ServeProcess
from tests.e2e.test_crash_recovery import deductions, pending
from tests.pg_instance import PgInstance

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
OUTAGES = (10.0, 60.0)  # seconds
MESSAGES = 400
PACE = 0.2  # seconds between two messages of the producer: an ingest that lasts the scenario
WRITERS = ("ingest.message", "projection.batch", "published", "checkpoints.published")


async def produce(js: JetStreamContext, messages: list[OutgoingMessage]) -> None:
    """A timing system sending at its own pace; every publish is acked by the broker."""
    for m in messages:
        await js.publish(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
        await asyncio.sleep(PACE)


def prepared(store: str, prefix: str) -> tuple[int, list[OutgoingMessage]]:
    ledger = open_ledger(store)
    try:
        load_demo(ledger)
        state = ledger.state()
        cars = {n: sorted({r["car"] for v in state.classifications[("aslms-2023-24", n)]
                           for r in v.value.rows}) for n in range(1, 6)}
        return ledger.head(), deductions(prefix, cars)[:MESSAGES]
    finally:
        ledger.close()


def count(serve: ServeProcess, event: str) -> int:
    return serve.events().count(event)


async def outage(pg: PgInstance, serve: ServeProcess, seconds: float) -> None:
    """Stop the database while messages are being ingested; start it again after `seconds`."""
    ingested = count(serve, "ingest.message")
    await asyncio.to_thread(serve.wait_for, lambda _: count(serve, "ingest.message") >= ingested + 5,
                            60.0, "ingest progress before the outage")
    before = len(serve.lines())
    await asyncio.to_thread(pg.stop)
    down_at = time.monotonic()
    await asyncio.to_thread(serve.wait_event, "store.unavailable", 60.0, before)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - down_at)))  # the outage itself
    assert serve.proc.poll() is None, f"serve died during the outage:\n{serve.tail()}"
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(serve.wait_event, "store.recovered", 60.0, before)


@pytest.mark.slow(100)
async def test_serve_outlives_postgres_outages(pg_instance: PgInstance, nats_url: str,
                                               nats_prefix: str, tmp_path: Path) -> None:
    store = pg_instance.url
    base, messages = prepared(store, nats_prefix)
    topology = IngestTopology(prefix=nats_prefix)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await topology.ensure(js)
    serve = ServeProcess(tmp_path / "serve.log", "--store", store, "--nats-url", nats_url,
                         "--prefix", nats_prefix, "--grace", "5", "--checkpoint-every", "2")
    try:
        await asyncio.to_thread(serve.wait_event, "serve.started", 120.0)
        producer = asyncio.create_task(produce(js, messages))
        for seconds in OUTAGES:
            await outage(pg_instance, serve, seconds)
        await producer
        head = await caught_up(store, nats_url, topology, serve)
        reply = await nc.request(query_subject("standings", prefix=nats_prefix), json.dumps(
            {"championship": "aslms-2023-24", "class": "GT"}).encode(), timeout=30)
        code, _ = serve.stop_within(signal.SIGTERM, 20.0)
    finally:
        serve.kill()
        dead = (await js.stream_info(topology.dlq_stream)).state.messages
        await nc.close()
    assert code == 0, serve.tail()
    answer = json.loads(reply.data)
    assert answer.get("log_position") == last_fact(store, "aslms-2023-24") <= head, answer
    assert dead == 0, "a message was dead-lettered because of the outage"
    lines = serve.lines()
    stopped = [i for i, line in enumerate(lines) if line.get("event") == "serve.stopped"]
    assert stopped and not [line for line in lines[stopped[0]:] if line.get("event") in WRITERS]
    stopped_at = datetime.fromisoformat(lines[stopped[0]]["timestamp"])
    assert pg_instance.written_after(stopped_at) == {}, f"written after {stopped_at}"

    ledger = open_ledger(store)
    try:
        assert_each_message_once(ledger.read_events(base), MESSAGES)
        assert ledger.head() == head
        assert_views_replay(store, ledger, head)
    finally:
        ledger.close()


def gave_up_waiting(lines: list[dict[str, object]]) -> bool:
    """The grace period is over (a role was cancelled), or the service stopped before."""
    return any(line.get("event") in ("serve.cancelled_after_grace", "serve.stopped")
               for line in lines)


async def held_by_ingest(js: JetStreamContext, prefix: str) -> None:
    """Wait until the ingest worker holds a message it cannot record (the database is down)."""
    topology = IngestTopology(prefix=prefix)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (await topology.backlog(js))[1]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the ingest worker never took a message during the outage")


async def caught_up(store: str, nats_url: str, topology: IngestTopology,
                    serve: ServeProcess) -> int:
    """Wait until every message is handled and the views reflect the whole log; its head."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert serve.proc.poll() is None, serve.tail()
        if not await pending(nats_url, topology):
            head, position = await asyncio.to_thread(positions, store)
            if position == head:
                return head
        await asyncio.sleep(0.5)
    raise AssertionError(f"the service did not catch up:\n{serve.tail()}")


def last_fact(store: str, championship: str) -> int:
    """The log position of the championship's last fact: what an answer about it names."""
    ledger = open_ledger(store)
    try:
        return ledger.read_partitions([championship_partition(championship)])[-1][0]
    finally:
        ledger.close()


def positions(store: str) -> tuple[int, int]:
    """The log's head and the position the views reflect."""
    ledger, views = open_ledger(store), open_view_store(store)
    try:
        return ledger.head(), views.position("projections")
    finally:
        ledger.close()
        views.close()


STOP_GRACE = 3.0


@pytest.mark.slow(17)
async def test_serve_stopped_during_an_outage_writes_nothing_after(
        pg_instance: PgInstance, nats_url: str, nats_prefix: str, tmp_path: Path) -> None:
    """SIGTERM while the database is down and the ingest holds a message, the database back
    once the grace period is over: the service exits 0 soon after its grace, and nothing is
    written after it said `serve.stopped` (no store call starts after the stop; those in flight
    are awaited, their stores closed so that they end)."""
    store = pg_instance.url
    _, messages = prepared(store, nats_prefix)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await IngestTopology(prefix=nats_prefix).ensure(js)
    serve = ServeProcess(tmp_path / "serve.log", "--store", store, "--nats-url", nats_url,
                         "--prefix", nats_prefix, "--grace", str(STOP_GRACE))
    try:
        await asyncio.to_thread(serve.wait_event, "serve.started", 120.0)
        producer = asyncio.create_task(produce(js, messages[:100]))
        await asyncio.to_thread(serve.wait_for, lambda _: count(serve, "ingest.message") >= 5,
                                60.0, "ingest progress")
        await asyncio.to_thread(pg_instance.stop)
        await asyncio.to_thread(serve.wait_event, "store.unavailable", 60.0)
        await held_by_ingest(js, nats_prefix)
        started = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(serve.wait_for, gave_up_waiting, 30.0, "the end of the grace")
        await asyncio.to_thread(pg_instance.start)  # back while the store call may linger
        code, seconds = await asyncio.to_thread(serve.proc.wait, 30.0), time.monotonic() - started
        producer.cancel()
    finally:
        serve.kill()
        await nc.close()
    assert code == 0, serve.tail()
    assert seconds <= STOP_GRACE + 8.0, seconds  # grace, then stores closed and calls settled
    stopped_at = datetime.fromisoformat(serve.lines()[-1]["timestamp"])
    assert serve.lines()[-1]["event"] == "serve.stopped"
    assert pg_instance.written_after(stopped_at) == {}, f"written after {stopped_at}"


@pytest.mark.slow(14)
def test_serve_started_while_the_database_is_down_waits_for_it(pg_instance: PgInstance,
                                                              nats_url: str, nats_prefix: str,
                                                              tmp_path: Path) -> None:
    """Started during an outage, the service waits for its database (logged once), starts when
    it is back, and obeys SIGTERM at any moment; a second one is stopped while still waiting."""
    pg_instance.stop()
    args = ("--store", pg_instance.url, "--nats-url", nats_url, "--prefix", nats_prefix,
            "--grace", str(STOP_GRACE))
    waiting = ServeProcess(tmp_path / "waiting.log", *args)
    stopped = ServeProcess(tmp_path / "stopped.log", *args, "--roles", "ingest")  # a ledger first
    try:
        for serve in (waiting, stopped):
            serve.wait_event("store.unavailable")
        code, _ = stopped.stop_within(signal.SIGTERM, STOP_GRACE + 10.0)
        assert code == 0, stopped.tail()
        assert stopped.logged_after_signal("serve.stopped") <= STOP_GRACE
        pg_instance.start()
        waiting.wait_event("serve.started", 60.0)
        assert waiting.events().count("store.unavailable") == 1, waiting.tail()
        code, _ = waiting.stop_within(signal.SIGTERM, STOP_GRACE + 10.0)
        assert code == 0, waiting.tail()
    finally:
        waiting.kill()
        stopped.kill()
