"""A producer as a timing system would be: publish contract messages to the ingest stream and
collect the service's replies, telling apart what is recorded, what already was, and what only
the broker holds so far.

The broker drops a resend within its dedupe window (the same `Nats-Msg-Id`) and the service then
never sees it, so it cannot answer. To hear the service anyway, a message the broker calls a
duplicate is sent once more under a fresh `Nats-Msg-Id`, its own id in `Paddock-Message-Id`
(the receipt's key): the service answers "duplicate" if the log has it, records it otherwise.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from services.ingest_headers import ACTOR, MESSAGE_ID, RECEIPT_ID, REPLY_TO
from services.timing_messages import OutgoingMessage

RECORDED = "recorded"
ALREADY_RECORDED = "already recorded"
REJECTED = "rejected"
NOT_YET_RECORDED = "accepted by the broker, not yet recorded"
PENDING = "pending"  # the status of a message the service has not answered
_OUTCOMES = {"accepted": RECORDED, "duplicate": ALREADY_RECORDED, "rejected": REJECTED}


@dataclass(frozen=True)
class Reply:
    subject: str
    message_id: str
    body: dict[str, Any]

    @property
    def status(self) -> str:
        """The service's word (`accepted`, `duplicate`, `rejected`), or `pending`."""
        return str(self.body.get("status", PENDING))

    @property
    def outcome(self) -> str:
        """What the producer may conclude: recorded, already recorded, rejected, or only
        accepted by the broker (no answer from the service in time: it is down or behind)."""
        return _OUTCOMES.get(self.status, NOT_YET_RECORDED)


async def produce(nc: Client, messages: Sequence[OutgoingMessage], *, timeout: float = 30.0,
                  actor: str | None = None) -> list[Reply]:
    """Publish every message (JetStream-acknowledged) and wait up to `timeout` seconds for the
    service's answer to each."""
    js = nc.jetstream()
    inbox = nc.new_inbox()
    replies: dict[str, dict[str, Any]] = {}
    expected = {m.message_id for m in messages}
    done = asyncio.Event()

    async def on_reply(msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
        except ValueError:
            return
        replies.setdefault(str(body.get("message_id", "")), body)
        if expected <= replies.keys():
            done.set()

    sub = await nc.subscribe(inbox, cb=on_reply)
    try:
        sent: set[str] = set()
        for m in messages:
            headers = {MESSAGE_ID: m.message_id, REPLY_TO: inbox, **({ACTOR: actor} if actor else {})}
            ack = await js.publish(m.subject, m.body, headers=headers)
            if ack.duplicate and m.message_id not in sent:  # from an earlier run: ask again
                await js.publish(m.subject, m.body, headers={
                    **headers, MESSAGE_ID: f"resend-{uuid.uuid4().hex}", RECEIPT_ID: m.message_id})
            sent.add(m.message_id)
        if not expected <= replies.keys():
            await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return [Reply(m.subject, m.message_id, replies.get(m.message_id) or _unanswered(m, timeout))
            for m in messages]


def _unanswered(m: OutgoingMessage, timeout: float) -> dict[str, Any]:
    return {"status": PENDING, "message_id": m.message_id,
            "what": f"no answer from the service within {timeout:g} s; the broker keeps it"}
