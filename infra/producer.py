"""A producer as a timing system would be: publish contract messages to the ingest stream and
collect the service's replies (accepted / duplicate / rejected)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from infra.workers.ingest_worker import REPLY_HEADER
from services.timing_messages import OutgoingMessage


@dataclass(frozen=True)
class Reply:
    subject: str
    message_id: str
    body: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.body.get("status", "unknown"))


async def produce(nc: Client, messages: Sequence[OutgoingMessage], *, timeout: float = 30.0,
                  actor: str | None = None) -> list[Reply]:
    """Publish every message (JetStream-acknowledged) and wait for one reply per message."""
    js = nc.jetstream()
    inbox = nc.new_inbox()
    replies: dict[str, dict[str, Any]] = {}
    expected = {m.message_id for m in messages}
    done = asyncio.Event()
    broker_dupes: set[str] = set()
    published: set[str] = set()

    async def on_reply(msg: Msg) -> None:
        body = json.loads(msg.data)
        replies.setdefault(body.get("message_id", ""), body)
        if expected <= replies.keys() | broker_dupes:
            done.set()

    sub = await nc.subscribe(inbox, cb=on_reply)
    try:
        for m in messages:
            headers = {"Nats-Msg-Id": m.message_id, REPLY_HEADER: inbox}
            if actor:
                headers["Paddock-Actor"] = actor
            ack = await js.publish(m.subject, m.body, headers=headers)
            if m.message_id not in published:
                published.add(m.message_id)
                if ack.duplicate:
                    # Stored before this run, within the broker's window: no new reply will come.
                    broker_dupes.add(m.message_id)
        if expected - broker_dupes - replies.keys():
            await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return [Reply(m.subject, m.message_id, _answer(m.message_id, replies, broker_dupes))
            for m in messages]


def _answer(message_id: str, replies: dict[str, dict[str, Any]], broker_dupes: set[str]) -> dict[str, Any]:
    if message_id in replies:
        return replies[message_id]
    if message_id in broker_dupes:
        return {"status": "duplicate", "message_id": message_id, "what": "deduplicated by the broker"}
    return {"status": "no reply", "message_id": message_id}
