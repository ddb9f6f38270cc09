"""Hostile headers on a real JetStream: a message whose reply subject, id or actor is malformed
is rejected alone (answered where it can be, dead-lettered with the reason), and every other
message of the same fetched batch is answered exactly once (issue 9 item 1)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from nats.aio.client import Client
from nats.aio.msg import Msg

from infra.nats_ingest import BROKER_MAX_MESSAGE, IngestTopology
from infra.workers.ingest_worker import REPLY_HEADER, IngestWorker
from services import contracts as c
from services.demo import load_demo
from services.ingest import IngestService
from services.ledger import Ledger
from services.timing_messages import OutgoingMessage, message
from tests.e2e.test_ingest import memory_ledger


def poles(prefix: str, count: int) -> list[OutgoingMessage]:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    return [message(c.PolePositionV1.model_validate({
        "championship": "aslms-2023-24", "round": 2, "class": "GT", "car": "91",
        "effective_at": start + timedelta(minutes=i)}), prefix) for i in range(count)]


def hostile_headers(prefix: str) -> dict[str, dict[str, str]]:
    """What each hostile message carries beside its (valid) body; the key names the case."""
    own = f"_INBOX.{prefix}.timing"
    return {
        "space in reply": {REPLY_HEADER: f"{own}.a b"},
        "tab in reply": {REPLY_HEADER: f"{own}.a\tb"},
        "two spaces in reply": {REPLY_HEADER: f"{own}.a b c"},
        "over-long reply": {REPLY_HEADER: f"{own}." + "x" * 5000},
        "control char in reply": {REPLY_HEADER: f"{own}.\x1b[31mred"},
        "wildcard reply": {REPLY_HEADER: f"{own}.>"},
        "empty token in reply": {REPLY_HEADER: f"{own}..x"},
        "another role's inbox": {REPLY_HEADER: f"_INBOX.{prefix}.steward.x"},
        "state subject as reply": {REPLY_HEADER: f"{prefix}.standings.x"},
        "control char in id": {REPLY_HEADER: f"{own}.id1", "Nats-Msg-Id": "id\x07bell"},
        "over-long id": {REPLY_HEADER: f"{own}.id2", "Nats-Msg-Id": "i" * 5000},
        "escape in actor": {REPLY_HEADER: f"{own}.actor1", "Paddock-Actor": "\x1b[2Jmallory"},
        "over-long actor": {REPLY_HEADER: f"{own}.actor2", "Paddock-Actor": "m" * 5000},
    }


async def ready(nc: Client, prefix: str) -> tuple[Ledger, IngestWorker]:
    """The demo season in memory and a worker (one fetch takes up to 64 messages)."""
    ledger = memory_ledger()
    load_demo(ledger)
    topology = IngestTopology(prefix=prefix)
    await topology.ensure(nc.jetstream())
    return ledger, IngestWorker(nc, IngestService(ledger, prefix=prefix), topology, batch=64)


async def listen(nc: Client, prefix: str) -> tuple[Counter[str], dict[str, dict[str, object]]]:
    """How many replies each timing inbox got, and the last body on each."""
    replies: Counter[str] = Counter()
    bodies: dict[str, dict[str, object]] = {}

    async def on_reply(msg: Msg) -> None:
        replies[msg.subject] += 1
        bodies[msg.subject] = json.loads(msg.data)

    await nc.subscribe(f"_INBOX.{prefix}.timing.>", cb=on_reply)
    return replies, bodies


async def raw_publish(url: str, subject: str, headers: bytes, body: bytes) -> None:
    """HPUB over a bare socket: header bytes no client library would send (not UTF-8, a key that
    is not a token)."""
    where = urlparse(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    await reader.readline()  # INFO
    block = b"NATS/1.0\r\n" + headers + b"\r\n"
    writer.write(b'CONNECT {"verbose":false,"headers":true,"protocol":1}\r\n'
                 + f"HPUB {subject} {len(block)} {len(block) + len(body)}\r\n".encode()
                 + block + body + b"\r\nPING\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"PONG")
    writer.close()
    await writer.wait_closed()


async def test_a_hostile_header_is_rejected_alone_and_the_rest_of_the_batch_answered(
        nc: Client, nats_url: str, nats_prefix: str) -> None:
    ledger, worker = await ready(nc, nats_prefix)
    head, topology, js = ledger.head(), worker.topology, nc.jetstream()
    replies, bodies = await listen(nc, nats_prefix)
    cases = hostile_headers(nats_prefix)
    facts = poles(nats_prefix, 2 * len(cases) + 2)
    valid, hostile = facts[:len(cases) + 1], facts[len(cases) + 1:]
    own = [f"_INBOX.{nats_prefix}.timing.v{i}" for i in range(len(valid))]
    for i, headers in enumerate(cases.values()):  # a valid message before each hostile one
        await js.publish(valid[i].subject, valid[i].body,
                         headers={"Nats-Msg-Id": valid[i].message_id, REPLY_HEADER: own[i]})
        await js.publish(hostile[i].subject, hostile[i].body,
                         headers={"Nats-Msg-Id": hostile[i].message_id, **headers})
    raw = hostile[-1]
    await raw_publish(nats_url, raw.subject, b"Nats-Msg-Id: " + raw.message_id.encode()
                      + b"\r\nBad(Key): x\r\n" + REPLY_HEADER.encode()
                      + f": _INBOX.{nats_prefix}.timing.".encode() + b"\xff\xfe\r\n", raw.body)
    await js.publish(valid[-1].subject, valid[-1].body,
                     headers={"Nats-Msg-Id": valid[-1].message_id, REPLY_HEADER: own[-1]})

    await worker.run_until_idle(idle=0.5)
    await nc.flush()

    assert {s: replies[s] for s in own} == dict.fromkeys(own, 1), "each valid one is answered once"
    assert {bodies[s]["status"] for s in own} == {"accepted"}
    answered = {f"_INBOX.{nats_prefix}.timing.{s}": case for s, case in (
        ("id1", "control char in id"), ("id2", "over-long id"), ("actor1", "escape in actor"),
        ("actor2", "over-long actor"))}
    for subject, case in answered.items():
        assert replies[subject] == 1, case
        assert (bodies[subject]["status"], bodies[subject]["reason"]) == ("rejected", "bad_header")
    assert set(replies) == set(own) | set(answered), "no reply went anywhere else"

    info = await js.consumer_info(topology.stream, topology.consumer_of(valid[0].subject))
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
    dlq = await js.pull_subscribe(f"{nats_prefix}.dlq.>", stream=topology.dlq_stream)
    letters = await dlq.fetch(len(cases) + 2, timeout=2)
    assert len(letters) == len(cases) + 1
    reasons = {(m.headers or {})["Paddock-Reason"] for m in letters}
    assert reasons == {"bad_header"}
    details = " | ".join((m.headers or {})["Paddock-Detail"] for m in letters)
    for header in (REPLY_HEADER, "Nats-Msg-Id", "Paddock-Actor"):
        assert header in details
    # Only the valid messages were recorded: a pole and a receipt each.
    receipts = [e for _, e in ledger.read_events(head) if type(e).__name__ == "Received"]
    assert len(receipts) == len(valid)


async def test_a_message_at_the_brokers_size_limit_is_dead_lettered_and_its_batch_answered(
        nc: Client, nats_prefix: str) -> None:
    """Its dead letter (payload and headers) would exceed the server's maximum payload, which
    closes the connection; the letter goes without the payload, which stays in the stream."""
    _, worker = await ready(nc, nats_prefix)
    topology, js = worker.topology, nc.jetstream()
    replies, bodies = await listen(nc, nats_prefix)
    before, after = poles(nats_prefix, 2)
    inbox = f"_INBOX.{nats_prefix}.timing"
    pad = BROKER_MAX_MESSAGE - 160  # with the headers, just within what the stream takes
    big = b'{"kind":"pole.recorded","pad":"' + b"x" * pad + b'"}'
    for subject, body, mid in ((before.subject, before.body, before.message_id),
                               (before.subject, big, "big"), (after.subject, after.body, after.message_id)):
        await js.publish(subject, body, headers={"Nats-Msg-Id": mid, REPLY_HEADER: f"{inbox}.{mid}"})

    await worker.run_until_idle(idle=0.5)
    await nc.flush()

    assert dict(replies) == {f"{inbox}.{m}": 1 for m in (before.message_id, "big", after.message_id)}
    assert bodies[f"{inbox}.big"]["reason"] == "oversized"
    assert bodies[f"{inbox}.{after.message_id}"]["status"] == "accepted"
    info = await js.consumer_info(topology.stream, topology.consumer_of(before.subject))
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
    dlq = await js.pull_subscribe(f"{nats_prefix}.dlq.>", stream=topology.dlq_stream)
    [letter] = await dlq.fetch(1, timeout=2)
    headers = letter.headers or {}
    assert headers["Paddock-Reason"] == "oversized" and letter.data == b""
    assert headers["Paddock-Payload-Omitted"] == f"{len(big)} bytes; in stream {topology.stream} " \
                                                 f"at sequence {headers['Paddock-Original-Sequence']}"
    original = await js.get_msg(topology.stream, int(headers["Paddock-Original-Sequence"]))
    assert original.data == big
