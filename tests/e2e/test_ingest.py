"""Ingest over a real JetStream: the season as timing messages, resends, out-of-order arrival,
and every rejection class answered and dead-lettered without touching the log."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from nats.aio.client import Client

from infra.nats_ingest import IngestTopology
from infra.producer import Reply, produce
from infra.store import store_settings
from infra.workers.ingest_worker import IngestWorker
from projections.canonical import canonical_json
from services import contracts as c
from services.contracts import subject_for
from services.demo import DEMO_OFFICIAL, DEMO_STEWARD, load_demo, register_demo_keys
from services.ingest import Delivery, IngestResult, IngestService, Validated
from services.ledger import Ledger
from services.message_signing import signed
from services.signatures import SeedSigner
from services.timing_messages import OutgoingMessage, demo_messages, message

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def memory_ledger() -> Ledger:
    ledger = Ledger(env=store_settings("memory://"))
    register_demo_keys(ledger)  # the demo messages' decisions are signed with the demo keys
    return ledger


async def send(nc: Client, worker: IngestWorker, messages: list[OutgoingMessage]) -> list[Reply]:
    """Publish, let the worker drain the stream, collect the replies."""
    import asyncio

    await worker.topology.ensure(nc.jetstream())
    producer = asyncio.create_task(produce(nc, messages, timeout=20))
    await asyncio.sleep(0.05)
    while not producer.done():
        await worker.run_until_idle(idle=0.2)
    return producer.result()


def views(ledger: Ledger) -> tuple[str, str]:
    standings = ledger.standings("aslms-2023-24", as_of=LATER, known_at=LATER)
    invitations = ledger.invitations("lemans-2024", as_of=LATER, known_at=LATER)
    for v in (standings, invitations):
        v.pop("log_position")
    return canonical_json(standings), canonical_json(invitations)


def worker_for(nc: Client, ledger: Ledger, prefix: str) -> IngestWorker:
    return IngestWorker(nc, IngestService(ledger, prefix=prefix), IngestTopology(prefix=prefix),
                        batch=16)


async def test_season_as_timing_messages_equals_the_embedded_import(nc: Client, nats_prefix: str) -> None:
    ledger = memory_ledger()
    worker = worker_for(nc, ledger, nats_prefix)
    messages = demo_messages(nats_prefix)
    seasons, rest = messages[:2], messages[2:]
    shuffled = rest * 2  # every message sent twice
    random.Random(7).shuffle(shuffled)
    sent = seasons + shuffled
    replies = await send(nc, worker, sent)
    # A producer retries what arrived before its prerequisites (a penalty before its round),
    # as a new message: a rejected message leaves no receipt.
    for attempt in range(1, 6):
        sent = [replace(m, message_id=f"{m.message_id}-retry{attempt}")
                for m, r in zip(sent, replies, strict=True) if r.status == "rejected"]
        if not sent:
            break
        replies = await send(nc, worker, sent)
    assert not sent, "every message is eventually accepted"
    embedded = memory_ledger()
    load_demo(embedded)
    assert views(ledger) == views(embedded)
    standings = ledger.standings("aslms-2023-24", as_of=LATER, known_at=LATER, class_id="GT")
    assert [(r["car"], r["points"]) for r in standings["classes"][0]["rows"][:2]] == [("91", 76), ("88", 74)]

    head = ledger.head()
    again = await send(nc, worker, [replace(m, message_id=m.message_id) for m in messages])
    assert {r.status for r in again} == {"duplicate"}
    # Within the broker's window too, the service answers (the producer asks it again): nothing
    # new is recorded; a message first rejected (sent before its prerequisites) gets its receipt
    # now, as a duplicate of what its retry recorded.
    assert {type(e).__name__ for _, e in ledger.read_events(head)} <= {"Received"}
    assert views(ledger) == views(embedded)


async def test_a_resend_after_the_broker_window_is_a_duplicate_by_receipt(nc: Client, nats_prefix: str) -> None:
    """The broker dedupes within its window; the receipt in the log dedupes forever. Purging the
    stream stands in for a window long past."""
    ledger = memory_ledger()
    worker = worker_for(nc, ledger, nats_prefix)
    messages = demo_messages(nats_prefix)[:3]
    first = await send(nc, worker, messages)
    assert [r.status for r in first] == ["accepted"] * 3
    positions = [r.body["positions"] for r in first]
    await nc.jetstream().delete_stream(IngestTopology(prefix=nats_prefix).stream)
    head = ledger.head()
    second = await send(nc, worker, messages)
    assert [r.status for r in second] == ["duplicate"] * 3
    assert ledger.head() == head
    assert all(p[-1] in pos for p, pos in zip((s.body["positions"] for s in second), positions, strict=True))


def bad(subject_kind: str, body: bytes | dict[str, object], prefix: str, mid: str) -> OutgoingMessage:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return OutgoingMessage(subject_for(subject_kind, prefix), payload, mid)


PENALTY = c.PenaltyImposedV1.model_validate({
    "championship": "aslms-2023-24", "round": 5, "car": "3", "decision": "points_deduction",
    "points": "5", "reference": "R5-doc-test", "reason": "test",
    "effective_at": "2024-02-20T10:00:00Z"})


def signed_penalty(signer: SeedSigner, **change: object) -> OutgoingMessage:
    """The test penalty signed by `signer`, then changed (after signing) by `change`."""
    return message(signed(PENALTY, signer).model_copy(update=change))


async def test_a_decision_with_a_wrong_signature_is_rejected_and_the_log_is_unchanged(
        nc: Client, nats_prefix: str) -> None:
    ledger = memory_ledger()
    load_demo(ledger)
    worker = worker_for(nc, ledger, nats_prefix)
    head, before = ledger.head(), views(ledger)
    stranger = SeedSigner.generate()
    cases = {
        "altered after signing": signed_penalty(DEMO_STEWARD, points=Decimal(50)),
        "signed by an unregistered key": signed_penalty(stranger),
        "signed by an official, not a steward": signed_penalty(DEMO_OFFICIAL),
        "another key's signature": signed_penalty(DEMO_STEWARD).__class__(
            subject_for("penalty.imposed", nats_prefix),
            message(signed(PENALTY, stranger).model_copy(update={"signature": c.SignatureV1(
                public_key=DEMO_STEWARD.public_key,
                value=signed(PENALTY, stranger).signature.value)})).body,  # type: ignore[attr-defined]
            "forged"),
    }
    msgs = [OutgoingMessage(subject_for("penalty.imposed", nats_prefix), m.body, f"sig-{i}")
            for i, m in enumerate(cases.values())]
    replies = await send(nc, worker, msgs)
    assert [(r.status, r.body["reason"]) for r in replies] == [("rejected", "bad_signature")] * 4
    details = [str(r.body["detail"]) for r in replies]
    assert "does not match this decision" in details[0]
    assert "is not registered" in details[1]
    assert "only a steward may sign" in details[2]
    assert "does not match this decision" in details[3]
    assert ledger.head() == head and views(ledger) == before
    good = await send(nc, worker, [OutgoingMessage(subject_for("penalty.imposed", nats_prefix),
                                                   signed_penalty(DEMO_STEWARD).body, "sig-ok")])
    assert good[0].status == "accepted", good[0].body
    imposed = next(e for _, e in ledger.read_events(head) if hasattr(e, "signature"))
    assert imposed.signature["public_key"] == DEMO_STEWARD.public_key
    assert imposed.actor == "steward:AsLMS stewards (demo key)"


async def test_each_rejection_class_is_answered_and_dead_lettered(nc: Client, nats_prefix: str) -> None:
    ledger = memory_ledger()
    load_demo(ledger)
    worker = worker_for(nc, ledger, nats_prefix)
    worker.service.max_bytes = 64 * 1024
    head, before = ledger.head(), views(ledger)
    pole = {"kind": "pole.recorded", "championship": "aslms-2023-24", "round": 2, "class": "GT", "car": "91"}
    cases = {
        "invalid_json": bad("pole.recorded", b"{not json", nats_prefix, "m1"),
        "schema_violation": bad("pole.recorded", {**pole, "round": "two"}, nats_prefix, "m2"),
        "unknown_championship": bad("pole.recorded", {**pole, "championship": "nope"}, nats_prefix, "m3"),
        "unknown_round": bad("pole.recorded", {**pole, "round": 9}, nats_prefix, "m4"),
        "unknown_car": bad("pole.recorded", {**pole, "car": "777"}, nats_prefix, "m5"),
        "business_rule": bad("invitation.transition", {
            "kind": "invitation.transition", "event": "lemans-2024",
            "route": "aslms-2023-24/gt-champion", "status": "redeemed",
            "effective_at": "2024-03-01T00:00:00Z"}, nats_prefix, "m6"),
        "oversized": bad("pole.recorded", json.dumps({**pole, "pad": "x" * 70_000}).encode(),
                         nats_prefix, "m7"),
        "forbidden": OutgoingMessage(f"{nats_prefix}.ingest.timing.penalty.imposed",
                                     signed_penalty(DEMO_STEWARD).body, "m8"),
        "bad_signature": bad("penalty.imposed", PENALTY.model_dump(mode="json"), nats_prefix, "m9"),
    }
    replies = await send(nc, worker, list(cases.values()))
    assert [(r.status, r.body["reason"]) for r in replies] == [("rejected", k) for k in cases]
    assert "round" in replies[1].body["detail"]
    assert "cannot go from" in replies[5].body["detail"]
    assert "a timing may not record 'penalty.imposed': only a steward may" in replies[7].body["detail"]
    assert "must be signed" in replies[8].body["detail"]
    assert ledger.head() == head and views(ledger) == before

    js = nc.jetstream()
    dlq = await js.pull_subscribe(f"{nats_prefix}.dlq.>", stream=IngestTopology(prefix=nats_prefix).dlq_stream)
    letters = await dlq.fetch(len(cases), timeout=30)
    by_id = {m.headers["Paddock-Message-Id"]: m for m in letters}
    for reason, msg in cases.items():
        letter = by_id[msg.message_id]
        assert letter.headers["Paddock-Reason"] == reason
        assert letter.headers["Paddock-Original-Subject"] == msg.subject
        assert letter.data == msg.body
        assert letter.headers["Paddock-Detail"]


class FlakyStore(IngestService):
    """Fails, as a broken store or a bug would, on every message about round 3."""

    def process_batch(self, deliveries: list[Delivery],
                      validated: list[Validated] | None = None) -> list[IngestResult]:
        if any(b'"round":3' in d.payload for d in deliveries):
            raise RuntimeError("disk on fire")
        return super().process_batch(deliveries, validated)


async def test_a_poison_message_holds_back_only_itself_then_is_dead_lettered(
        nc: Client, nats_prefix: str) -> None:
    import asyncio

    ledger = memory_ledger()
    topology = IngestTopology(prefix=nats_prefix)
    worker = IngestWorker(nc, FlakyStore(ledger, prefix=nats_prefix), topology, batch=16,
                          retry_delay=0.05)
    messages = demo_messages(nats_prefix)[:8]  # seasons, awards, rounds 1-4; round 3 is poison
    await topology.ensure(nc.jetstream())
    producer = asyncio.create_task(produce(nc, messages, timeout=20))
    await asyncio.sleep(0.05)
    while not producer.done():
        await worker.run_until_idle(idle=0.5)
    replies = {r.message_id: r for r in producer.result()}
    poison = messages[6]
    assert b'"round":3' in poison.body
    assert replies[poison.message_id].body["reason"] == "poison"
    assert {replies[m.message_id].status for m in messages if m is not poison} == {"accepted"}
    standings = ledger.standings("aslms-2023-24", as_of=LATER, known_at=LATER)
    assert [r["status"] for r in standings["rounds"]][:4] == ["official", "official", "not published", "official"]
    dlq = await nc.jetstream().pull_subscribe(f"{nats_prefix}.dlq.>", stream=topology.dlq_stream)
    [letter] = await dlq.fetch(1, timeout=30)
    assert letter.headers["Paddock-Reason"] == "poison" and letter.data == poison.body
