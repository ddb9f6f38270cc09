"""Prompt recovery after a kill, and what `paddock produce` can truthfully say (issue 9 item 4).

A SIGKILLed `paddock serve` leaves its fetched batch unacknowledged; the broker redelivers it
only when the ack wait runs out, so the ack wait bounds recovery (in-progress acks keep a long
batch alive meanwhile). A producer tells "recorded", "already recorded" and "accepted by the
broker, not yet recorded" apart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from infra.workers.ingest_worker import IngestWorker
from services import contracts as c
from services.demo import load_demo
from services.ingest import Delivery, IngestResult, IngestService, Validated
from services.ledger import Ledger
from services.timing_messages import OutgoingMessage, message
from tests.e2e.test_ingest import memory_ledger

pytestmark = pytest.mark.nats
PADDOCK = str(Path(sys.executable).with_name("paddock"))
MESSAGES = 600
OLD_ACK_WAIT = 30.0  # what the durable consumer had before this fix


def serve(store: str, nats_url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PADDOCK, "serve", "--store", store, "--nats-url", nats_url, "--prefix", prefix,
         "--roles", "ingest", "--grace", "5"],
        stdout=subprocess.DEVNULL, stderr=log.open("ab"),
        env={**os.environ, "PADDOCK_LOG_FORMAT": "json"})


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def terminate(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    finally:
        stop(proc)


def poles(prefix: str, store: str) -> list[OutgoingMessage]:
    """Distinct poles over the season's five rounds (no signature needed)."""
    state = open_ledger(store).state()
    start = datetime(2024, 3, 1, tzinfo=UTC)
    out = []
    for i in range(MESSAGES):
        rnd = 1 + i % 5
        cars = sorted({r["car"] for v in state.classifications[("aslms-2023-24", rnd)]
                       for r in v.value.rows if r["class"] == "LMP2"})
        out.append(message(c.PolePositionV1.model_validate({
            "championship": "aslms-2023-24", "round": rnd, "class": "LMP2",
            "car": cars[i % len(cars)], "effective_at": start + timedelta(minutes=i)}), prefix))
    return out


@pytest.mark.slow(10)
async def test_a_killed_service_recovers_within_the_ack_wait_not_thirty_seconds(
        tmp_path: Path, nats_url: str, nats_prefix: str) -> None:
    store = f"sqlite:///{tmp_path / 'log.db'}"
    load_demo(open_ledger(store))
    messages = poles(nats_prefix, store)
    topology = IngestTopology(prefix=nats_prefix)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    # The durable as an older version created it: a 30 s ack wait, which the service must update.
    await IngestTopology(prefix=nats_prefix, ack_wait=OLD_ACK_WAIT).ensure(js)
    for m in messages:
        await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
    await js.publish_async_completed()

    log = tmp_path / "serve.log"
    held = 0
    for _attempt in range(5):  # kill while a fetched batch is in flight (unacknowledged)
        proc = serve(store, nats_url, nats_prefix, log)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = await js.consumer_info(topology.stream, topology.consumer_of(messages[0].subject))
                if info.ack_floor.stream_seq and info.num_ack_pending:
                    break
                await asyncio.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            stop(proc)
        killed_at = time.monotonic()
        info = await js.consumer_info(topology.stream, topology.consumer_of(messages[0].subject))
        held, held_upto = info.num_ack_pending, info.delivered.stream_seq
        if held and info.num_pending:
            break
    assert held, "a kill landed while a batch was in flight"

    proc = serve(store, nats_url, nats_prefix, log)
    try:
        # The batch the dead process held is acknowledged (the ack floor passes it) once the
        # broker redelivers it, when the ack wait runs out; the rest goes on meanwhile.
        recovered_in = None
        deadline = time.monotonic() + 120  # generous: the assertions below are on the time taken
        while time.monotonic() < deadline:
            info = await js.consumer_info(topology.stream, topology.consumer_of(messages[0].subject))
            if recovered_in is None and info.ack_floor.stream_seq >= held_upto:
                recovered_in = time.monotonic() - killed_at
            if not info.num_pending and not info.num_ack_pending:
                break
            await asyncio.sleep(0.1)
    finally:
        terminate(proc)
    assert (info.num_pending, info.num_ack_pending) == (0, 0), log.read_text()[-2000:]
    # The batch the dead process held came back after the (new) ack wait, not after 30 s.
    assert recovered_in is not None and recovered_in < OLD_ACK_WAIT - 10, (recovered_in, held)
    ack_wait = info.config.ack_wait or 0
    assert ack_wait <= 5, "the durable's old ack wait was updated"
    print(f"{held} messages held by the killed process, recorded {recovered_in:.1f} s after the "
          f"kill (ack wait {ack_wait} s)")
    receipts = open_ledger(store).state().receipts
    assert set(receipts) >= {m.message_id for m in messages} and len(receipts) == MESSAGES
    await nc.close()


def produce(nats_url: str, prefix: str, cwd: Path, timeout: float) -> tuple[int, list[dict[str, object]], str]:
    done = subprocess.run([PADDOCK, "produce", "--nats-url", nats_url, "--prefix", prefix, "--json",
                           "--timeout", str(timeout)], capture_output=True, text=True, check=False,
                          cwd=cwd, timeout=180)
    return done.returncode, json.loads(done.stdout or "[]"), done.stderr


NOT_YET = "accepted by the broker, not yet recorded"


@pytest.mark.slow(9)
async def test_produce_tells_not_yet_recorded_from_recorded_and_already_recorded(
        tmp_path: Path, nats_url: str, nats_prefix: str) -> None:
    store = f"sqlite:///{tmp_path / 'log.db'}"
    keys = await asyncio.to_thread(subprocess.run, [PADDOCK, "keys", "demo", "--store", store],
                                   capture_output=True, check=False)  # the decisions are signed
    assert keys.returncode == 0, keys.stderr
    nc = await nats.connect(nats_url)
    await IngestTopology(prefix=nats_prefix).ensure(nc.jetstream())  # a service that is stopped
    await nc.close()

    code, first, err = await asyncio.to_thread(produce, nats_url, nats_prefix, tmp_path, 2.0)
    assert first and {r["outcome"] for r in first} == {NOT_YET}, first
    assert {r["status"] for r in first} == {"pending"}
    assert code == 4, err

    # Sent again while the service is still down: the broker drops the resend as a duplicate;
    # that is not "already recorded". The table says the same.
    table = await asyncio.to_thread(subprocess.run, [
        PADDOCK, "produce", "--nats-url", nats_url, "--prefix", nats_prefix, "--timeout", "2"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=180)
    assert table.returncode == 4, table.stderr
    assert "Outcome" in table.stdout and NOT_YET in table.stdout, table.stdout
    assert table.stdout.count(NOT_YET) == len(first), table.stdout

    log = tmp_path / "serve.log"
    proc = serve(store, nats_url, nats_prefix, log)
    try:
        code, resent, err = await asyncio.to_thread(produce, nats_url, nats_prefix, tmp_path, 60.0)
        assert code == 0, err + json.dumps(resent)
        assert {r["outcome"] for r in resent} <= {"recorded", "already recorded"}
        assert "already recorded" in {r["outcome"] for r in resent}, "the first send was recorded"
        # Recorded now, and said so again on every later send.
        code, later, err = await asyncio.to_thread(produce, nats_url, nats_prefix, tmp_path, 60.0)
        assert code == 0 and {r["outcome"] for r in later} == {"already recorded"}, later
        assert {r["status"] for r in later} == {"duplicate"}
    finally:
        terminate(proc)
    ledger = open_ledger(store)
    assert len(ledger.state().receipts) == len(first), "each message recorded once"


class SlowStore(IngestService):
    """Takes three ack waits over every batch, as a large import on a busy database would."""

    def __init__(self, ledger: Ledger, *, prefix: str, seconds: float) -> None:
        super().__init__(ledger, prefix=prefix)
        self.seconds = seconds

    def process_batch(self, deliveries: list[Delivery],
                      validated: list[Validated] | None = None) -> list[IngestResult]:
        time.sleep(self.seconds)
        return super().process_batch(deliveries, validated)


async def test_a_batch_longer_than_the_ack_wait_is_kept_in_progress_not_redelivered(
        nc: Client, nats_prefix: str) -> None:
    ledger = memory_ledger()
    load_demo(ledger)
    topology = IngestTopology(prefix=nats_prefix, ack_wait=2.0)
    worker = IngestWorker(nc, SlowStore(ledger, prefix=nats_prefix, seconds=3 * topology.ack_wait),
                          topology, batch=16)
    messages = [message(c.PolePositionV1.model_validate({
        "championship": "aslms-2023-24", "round": 2, "class": "GT", "car": "91",
        "effective_at": datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=i)}), nats_prefix)
        for i in range(8)]
    js = nc.jetstream()
    await topology.ensure(js)
    for m in messages:  # all in the stream first: one fetch, one long batch
        await js.publish(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
    head = ledger.head()
    slow = asyncio.create_task(worker.run_until_idle(idle=0.5))
    deadline = time.monotonic() + 30
    while (await js.consumer_info(topology.stream, topology.consumer_of(messages[0].subject))).num_ack_pending < len(messages):
        assert time.monotonic() < deadline, "the slow worker fetched the batch"
        await asyncio.sleep(0.05)
    # Another worker on the same consumer would get whatever the broker redelivers.
    stop = asyncio.Event()
    rival = IngestWorker(nc, IngestService(memory_ledger(), prefix=nats_prefix), topology, batch=16)
    watching = asyncio.create_task(rival.run(stop))
    await slow
    stop.set()
    await watching
    assert rival.handled == 0, "nothing was redelivered while the batch was in progress"
    assert worker.handled == len(messages), "each message handled once"
    info = await js.consumer_info(topology.stream, topology.consumer_of(messages[0].subject))
    assert (info.num_redelivered, info.num_ack_pending, info.num_pending) == (0, 0, 0)
    statuses = [type(e).__name__ for _, e in ledger.read_events(head)]
    assert statuses.count("Received") == len(messages)
