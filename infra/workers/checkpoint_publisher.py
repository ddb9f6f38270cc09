"""The checkpoint publisher (`paddock serve` role `checkpoints`): every `every` seconds, when the
log has grown, verify the new part of the hash chain and publish the head as a checkpoint.

A checkpoint (`services.audit_chain.Checkpoint`, JSON as `paddock audit checkpoint` exports it)
goes to `<prefix>.audit.checkpoint`, kept by the JetStream stream `<PREFIX>_CHECKPOINTS` so a
steward can fetch any of them later and run `paddock audit verify --checkpoint FILE`. Headers:
`Nats-Msg-Id` = `checkpoint@<position>/<digest prefix>` (a republish after a restart is
deduplicated), `Paddock-Log-Position`, `Paddock-Digest`.

Only verified history is published: the whole chain is walked once at start, then only what was
appended since the last checkpoint (each partition picked up from its last stored link), and
never past the final prefix of the log (on PostgreSQL, an append in flight with a lower position
than a committed one holds the checkpoint back until it ends: the history digest up to a
position must not change afterwards). A broken link is logged (`checkpoints.chain_broken`, with
the position), and so is a log that now ends before the last verified checkpoint
(`checkpoints.truncated`: its newest events were cut); nothing more is published until it is
resolved.

Store calls block: they run in a worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from eventsourcing.persistence import PersistenceError
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from infra.chain import chain_of
from infra.nats_subjects import DEFAULT_PREFIX, checkpoint_stream_name, checkpoint_subject
from infra.workers.fence import Fence, StoppingError
from infra.workers.outage import StoreOutage, is_outage
from projections.canonical import iso_utc
from services.audit_chain import GENESIS, Checkpoint
from services.ledger import Ledger

log = structlog.get_logger("paddock.checkpoints")

DUPLICATE_WINDOW = 15 * 60.0  # seconds
RETRY_AFTER = 5.0  # seconds, after a failure (NATS or the store unreachable)
TRANSIENT = (NatsError, OSError, TimeoutError, PersistenceError)


def checkpoint_headers(checkpoint: Checkpoint) -> dict[str, str]:
    return {"Nats-Msg-Id": f"checkpoint@{checkpoint.position}/{checkpoint.digest[:16]}",
            "Paddock-Log-Position": str(checkpoint.position),
            "Paddock-Digest": checkpoint.digest}


def checkpoint_body(checkpoint: Checkpoint) -> bytes:
    return json.dumps(checkpoint.to_json(), sort_keys=True, separators=(",", ":")).encode()


class CheckpointPublisher:
    """Verifies and publishes; `run` repeats every `every` seconds until `stop` is set."""

    def __init__(self, nc: Client, ledger: Ledger, *, store: str,
                 prefix: str = DEFAULT_PREFIX, every: float = 60.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 duplicate_window: float = DUPLICATE_WINDOW, fence: Fence | None = None) -> None:
        chain = chain_of(ledger.recorder)
        if chain is None:
            raise ValueError(f"store '{store}' keeps no hash chain: no checkpoints to publish")
        self.js = nc.jetstream()
        self.ledger = ledger  # owns the store connections the chain reads through
        self.chain = chain
        self.store = store
        self.prefix = prefix
        self.subject = checkpoint_subject(prefix=prefix)
        self.stream = checkpoint_stream_name(prefix=prefix)
        self.every = every
        self.clock = clock
        self.duplicate_window = duplicate_window
        self._verified: tuple[int, str] = (0, GENESIS)  # verified up to: position, history digest
        self._head: Checkpoint | None = None  # the newest verified checkpoint
        self._published = 0
        self._ensured = False
        self.fence = fence or Fence()
        self.outage = StoreOutage("checkpoints")

    async def ensure(self) -> None:
        """Create the checkpoint stream if it does not exist yet."""
        if self._ensured:
            return
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(StreamConfig(
                name=self.stream, subjects=[self.subject], duplicate_window=self.duplicate_window,
                storage=StorageType.FILE,
                description="Paddock event log checkpoints (position + hash chain digest)"))
        self._ensured = True

    def advance(self) -> Checkpoint | None:
        """Verify what was appended since the last verified link (blocking); returns the newest
        verified checkpoint (None while nothing is verified, or the log was cut below it). A
        broken link is logged and keeps the previous one."""
        after, previous = self._verified
        head = self.chain.max_notification_id() or 0
        if head < after:
            log.error("checkpoints.truncated", checkpoint=after, head=head,
                      explanation=f"the log ends at position {head}, before the checkpoint "
                                  f"verified at {after}: its newest events were removed")
            return None
        verdict = self.chain.walk_chain(after=after, previous=previous)
        if verdict.first is not None:
            log.error("checkpoints.chain_broken", position=verdict.first.position,
                      kind=verdict.first.kind, explanation=verdict.first.explanation,
                      findings=len(verdict.findings))
        elif verdict.events:
            self._verified = (verdict.head_position, verdict.head_digest)
            self._head = Checkpoint(verdict.head_position, verdict.head_digest,
                                    taken_at=iso_utc(self.clock()), store=self.store)
        return self._head

    async def publish_due(self) -> Checkpoint | None:
        """Publish the newest verified checkpoint unless it was published already; returns it."""
        await self.ensure()
        checkpoint = await self.fence.run(self.advance)
        if checkpoint is None or checkpoint.position <= self._published:
            return None
        ack = await self.js.publish(self.subject, checkpoint_body(checkpoint),
                                    headers=checkpoint_headers(checkpoint))
        self._published = checkpoint.position
        log.info("checkpoints.published", position=checkpoint.position, digest=checkpoint.digest,
                 duplicate=ack.duplicate)
        return checkpoint

    async def run(self, stop: asyncio.Event) -> None:
        log.info("checkpoints.started", subject=self.subject, stream=self.stream, every=self.every)
        while not stop.is_set():
            pause = self.every
            try:
                await self.publish_due()
                self.outage.succeeded()
            except StoppingError:
                break
            except Exception as error:
                if is_outage(error):  # logged once per outage, not on every retry
                    pause = min(self.every, self.outage.failed(error))
                elif isinstance(error, TRANSIENT):
                    self._ensured, pause = False, min(self.every, RETRY_AFTER)
                    log.warning("checkpoints.failed", error=repr(error), retry_in=pause)
                else:
                    raise
            try:
                await asyncio.wait_for(stop.wait(), timeout=pause)
            except TimeoutError:
                pass
        log.info("checkpoints.stopped")
