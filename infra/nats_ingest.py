"""JetStream topology for ingest: the ingest stream, its durable pull consumer, the dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

BROKER_MAX_MESSAGE = 1024 * 1024  # the stream refuses larger; the service rejects above its own limit
ACK_WAIT = 5.0
"""Seconds the broker waits for a worker's ack before redelivering: what a killed worker's
fetched batch waits after a restart. Workers send in-progress acks every third of it while a
batch is being worked on, so a long batch is never redelivered under a live worker."""


@dataclass(frozen=True)
class IngestTopology:
    prefix: str = "paddock"
    durable: str = "ingest"
    ack_wait: float = ACK_WAIT
    max_deliver: int = 10

    @property
    def progress_every(self) -> float:
        """How often a worker tells the broker it is still working on its batch."""
        return self.ack_wait / 3

    @property
    def stream(self) -> str:
        return f"{_name(self.prefix)}_INGEST"

    @property
    def dlq_stream(self) -> str:
        return f"{_name(self.prefix)}_DLQ"

    @property
    def subjects(self) -> str:
        return f"{self.prefix}.ingest.>"

    def dlq_subject(self, reason: str) -> str:
        return f"{self.prefix}.dlq.{reason}"

    async def ensure(self, js: JetStreamContext) -> None:
        """Create or update the streams and the consumer; idempotent. An existing durable
        consumer takes this configuration (a durable from an older version, created with a
        30 s ack wait, is updated in place)."""
        await _ensure_stream(js, StreamConfig(
            name=self.stream, subjects=[self.subjects], storage=StorageType.FILE,
            max_msg_size=BROKER_MAX_MESSAGE, duplicate_window=120.0,
        ))
        await _ensure_stream(js, StreamConfig(
            name=self.dlq_stream, subjects=[f"{self.prefix}.dlq.>"], storage=StorageType.FILE,
            duplicate_window=120.0,
        ))
        await js.add_consumer(self.stream, ConsumerConfig(
            durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait,
            max_deliver=self.max_deliver, max_ack_pending=2000, filter_subject=self.subjects,
        ))


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


def _name(prefix: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in prefix).upper()
