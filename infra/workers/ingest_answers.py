"""How the ingest worker answers each message it fetched, exactly once: dead-letter what is
rejected, reply to the sender, then acknowledge (ack, term) or hand back (nak).

Kept apart from the worker's fetch loop (infra/workers/ingest_worker.py): what is said to the
producer and to the broker about a message is decided here, whoever fetched it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from infra.nats_authority import reply_fault
from infra.nats_ingest import IngestTopology
from infra.workers.dead_letter import letter
from services.ingest import REJECTED, Delivery, IngestResult
from services.ingest_headers import BAD_HEADER, REPLY_TO, described, shown
from services.ingest_subjects import published_subject

log = structlog.get_logger("paddock.ingest")


class Answers:
    def __init__(self, nc: Client, js: JetStreamContext, topology: IngestTopology, *,
                 poison_after: int, retry_delay: float) -> None:
        self.nc = nc
        self.js = js
        self.topology = topology
        self.poison_after = poison_after
        self.retry_delay = retry_delay

    def deliveries(self, msgs: list[Msg]) -> list[Delivery]:
        """As the producer published them: the stream's group token is the broker's business."""
        prefix = self.topology.prefix
        return [Delivery(published_subject(m.subject, prefix), m.data, dict(m.headers or {}))
                for m in msgs]

    def bad_reply(self, msg: Msg) -> IngestResult | None:
        """The rejection of a message whose reply subject is malformed or not its sender's own
        inbox (None: no reply subject, or a valid one)."""
        fault = self._reply_fault(msg)
        if fault is None:
            return None
        [delivery] = self.deliveries([msg])
        return IngestResult(REJECTED, delivery.message_id, reason=BAD_HEADER, detail=fault)

    def _reply_fault(self, msg: Msg) -> str | None:
        reply_to = (msg.headers or {}).get(REPLY_TO)
        if not reply_to:
            return None
        subject = published_subject(msg.subject, self.topology.prefix)
        fault = reply_fault(reply_to, subject, self.topology.prefix)
        return described(REPLY_TO, reply_to, fault) if fault else None

    async def settle(self, msg: Msg, result: IngestResult, seconds: float,
                     logger: Any = log) -> None:
        """Dead-letter a rejected message, answer, acknowledge, and log its one line. Its context
        is given to the lines that name it, not bound to contextvars: binding and clearing them
        for every message cost the event loop more than the line itself. `logger`: bound once
        per batch by the caller (binding structlog's lazy proxy costs more than a filtered-out
        line)."""
        about = {"message_id": result.message_id, "subject": msg.subject,
                 "championship": result.scope}
        if result.status == REJECTED:
            await self.dead_letter(msg, result)
        await self.reply(msg, result, about)
        await (msg.term() if result.status == REJECTED else msg.ack())
        logger.info("ingest.message", **about, stream_seq=msg.metadata.sequence.stream,
                    log_position=result.positions[-1] if result.positions else None,
                    status=result.status, reason=result.reason,
                    positions=list(result.positions), seconds=round(seconds, 4))

    async def reply(self, msg: Msg, result: IngestResult, about: Mapping[str, object]) -> None:
        """Answer on the sender's reply subject, if it gave a valid one; never let one message's
        reply stop the others from being answered and acknowledged."""
        reply_to = (msg.headers or {}).get(REPLY_TO)
        if not reply_to or self._reply_fault(msg):
            return
        try:
            await self.nc.publish(reply_to, json.dumps(result.reply()).encode())
        except (NatsError, ValueError) as error:
            log.warning("ingest.reply_failed", **about, reply_to=shown(reply_to),
                        error=repr(error))

    async def dead_letter(self, msg: Msg, result: IngestResult, reason: str | None = None) -> None:
        reason = reason or result.reason or "rejected"
        data, headers = letter(msg, result, reason, stream=self.topology.stream,
                               max_payload=self.nc.max_payload,
                               subject=published_subject(msg.subject, self.topology.prefix))
        await self.js.publish(self.topology.dlq_subject(reason), data, headers=headers)

    async def retry_later(self, msgs: list[Msg], error: BaseException) -> None:
        """Failed through their own fault (as far as we know): redelivered after a growing
        delay, dead-lettered as poison after `poison_after` deliveries."""
        for msg in msgs:
            delivered = msg.metadata.num_delivered
            if delivered >= self.poison_after:
                result = IngestResult(REJECTED, self.deliveries([msg])[0].message_id,
                                      reason="poison",
                                      detail=f"failed {delivered} times; see the service logs")
                await self.dead_letter(msg, result, "poison")
                await self.reply(msg, result, {"message_id": result.message_id,
                                               "subject": msg.subject})
                await msg.term()
                log.error("ingest.poison", subject=msg.subject, delivered=delivered)
            else:
                await msg.nak(delay=min(30.0, self.retry_delay * 2 ** delivered))
                log.warning("ingest.retry", subject=msg.subject, delivered=delivered,
                            error=repr(error))

    async def hand_back(self, msgs: list[Msg], delay: float, reason: str) -> None:
        """Not handled through no fault of theirs: redelivered after `delay`, not counted
        against the message, never dead-lettered."""
        for msg in msgs:
            await msg.nak(delay=delay or None)
        log.info("ingest.handed_back", messages=len(msgs), retry_in=round(delay, 2),
                 reason=reason)
