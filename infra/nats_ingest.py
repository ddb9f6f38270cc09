"""JetStream topology for ingest: the ingest stream, its partition groups and their durable pull
consumers, the dead letters.

Producers publish on `<prefix>.ingest.<role>.<kind>.<key>` (services/ingest_subjects.py). The
stream stores such a message as `<prefix>.ingest.<group>.<role>.<kind>.<key>`, where nats-server
computes `<group>` from the key with its `partition()` subject transform (FNV-1a of the key,
modulo `groups`): the same key always lands in the same group, whoever publishes it. Each group
has its own durable consumer `ingest-<group>`, filtered on its group token, so a group's messages
are delivered in stream order to the one worker holding the group's lease
(infra/workers/ingest_claims.py). Messages on the unpartitioned subject (before issue 10) are
stored as published and go to one more consumer, the former durable `ingest`: the group numbered
`groups`. The stream captures only these two shapes: a subject of any other shape is refused by
the broker (no stream answers it).

Why a stream transform and not a group number computed by producers: a producer names what its
message is about (a championship id), not a hash, and the number of groups stays the service's
to choose. It needs nats-server 2.10 or later (`ensure` says so on an older one).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig, SubjectTransform
from nats.js.errors import NotFoundError

from services.ingest_subjects import IngestSubject, ingest_group

BROKER_MAX_MESSAGE = 1024 * 1024  # the stream refuses larger; the service rejects above its own limit
ACK_WAIT = 5.0
"""Seconds the broker waits for a worker's ack before redelivering: what a killed worker's
fetched batch waits after a restart. Workers send in-progress acks every third of it while a
batch is being worked on, so a long batch is never redelivered under a live worker."""
INGEST_GROUPS = 16
"""Partition groups of the ingest stream. Part of the stream's configuration: changing it moves
keys between groups, so change it only with the stream drained (no message pending)."""


class TopologyError(RuntimeError):
    """The broker cannot give the topology (an old nats-server without subject transforms)."""


@dataclass(frozen=True)
class IngestTopology:
    prefix: str = "paddock"
    durable: str = "ingest"
    ack_wait: float = ACK_WAIT
    max_deliver: int = 10
    groups: int = INGEST_GROUPS

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
        """Every ingest subject (the wildcard permissions and docs speak of)."""
        return f"{self.prefix}.ingest.>"

    @property
    def stream_subjects(self) -> list[str]:
        """What the stream captures: `<role>.<kind>.<key>`, and `<role>.<kind>` unpartitioned."""
        return [f"{self.prefix}.ingest.*.*.*.*", f"{self.prefix}.ingest.*.*.*"]

    @property
    def transform(self) -> SubjectTransform:
        """`<prefix>.ingest.<role>.<kind>.<key>` → `<prefix>.ingest.<group>.<role>.<kind>.<key>`."""
        wildcards = ".".join(f"{{{{wildcard({i})}}}}" for i in range(1, 5))
        return SubjectTransform(src=self.stream_subjects[0],
                                dest=f"{self.prefix}.ingest.{{{{partition({self.groups},4)}}}}."
                                     f"{wildcards}")

    @property
    def leases(self) -> int:
        """Groups to hold leases on: the partition groups and the unpartitioned one (last)."""
        return self.groups + 1

    @property
    def unpartitioned(self) -> int:
        return self.groups

    def durable_of(self, group: int) -> str:
        """`ingest-<g>`; the unpartitioned group keeps the durable of before issue 10."""
        self._check(group)
        return self.durable if group == self.unpartitioned else f"{self.durable}-{group}"

    def filter_of(self, group: int) -> str:
        self._check(group)
        if group == self.unpartitioned:
            return self.stream_subjects[1]
        return f"{self.prefix}.ingest.{group}.*.*.*.*"

    async def backlog(self, js: JetStreamContext) -> tuple[int, int]:
        """Messages not yet delivered, and delivered but not acknowledged, over every group."""
        pending = unacked = 0
        for group in range(self.leases):
            info = await js.consumer_info(self.stream, self.durable_of(group))
            pending += int(info.num_pending or 0)
            unacked += int(info.num_ack_pending or 0)
        return pending, unacked

    def group_of(self, subject: str) -> int:
        """The group a published subject's messages go to (its key's, or the unpartitioned)."""
        key = IngestSubject.parse(subject, self.prefix).key
        return self.unpartitioned if key is None else ingest_group(key, self.groups)

    def consumer_of(self, subject: str) -> str:
        """The durable consumer a published subject's messages are delivered by."""
        return self.durable_of(self.group_of(subject))

    def _check(self, group: int) -> None:
        if not 0 <= group < self.leases:
            raise ValueError(f"ingest group {group}: 0 to {self.groups} (the unpartitioned one)")

    def dlq_subject(self, reason: str) -> str:
        return f"{self.prefix}.dlq.{reason}"

    async def ensure(self, js: JetStreamContext) -> None:
        """Create or update the streams and the consumers; idempotent. An existing durable
        consumer takes this configuration (a durable from an older version, created with a
        30 s ack wait or on every ingest subject, is updated in place)."""
        await _ensure_stream(js, StreamConfig(
            name=self.stream, subjects=self.stream_subjects, storage=StorageType.FILE,
            max_msg_size=BROKER_MAX_MESSAGE, duplicate_window=120.0,
            subject_transform=self.transform,
        ))
        info = await js.stream_info(self.stream)
        if info.config.subject_transform is None:
            raise TopologyError(f"the nats-server kept no subject transform on {self.stream}: "
                                "partitioned ingest needs nats-server 2.10 or later")
        await _ensure_stream(js, StreamConfig(
            name=self.dlq_stream, subjects=[f"{self.prefix}.dlq.>"], storage=StorageType.FILE,
            duplicate_window=120.0,
        ))
        for group in range(self.leases):
            await js.add_consumer(self.stream, ConsumerConfig(
                durable_name=self.durable_of(group), ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait, max_deliver=self.max_deliver, max_ack_pending=2000,
                filter_subject=self.filter_of(group),
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
