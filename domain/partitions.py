"""Partitions of the log: which part of the world each fact is about.

Every fact has one home partition: the championship it is about (its definition, entries, ties,
rounds, classifications, poles, stewards' decisions), the target event (its definition, the
organiser's decisions, invitations), the award, or a system partition: the signing keys, and
one per ingest receipt (a receipt is looked up by its message id only, and no view reads it). A reader answers a question about one championship from that
partition's facts only, whatever the size of the log.

A championship definition that declares invitation routes to a target event is also indexed
under that event's partition: the event's views depend on it, and it is how the event finds
the championships its routes name (see `projections.partition_scope`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.ingest_receipt import IngestReceipt
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.signing_key import SigningKey
from domain.aggregates.stewards_decision import StewardsDecision
from domain.aggregates.target_event import TargetEvent

CHAMPIONSHIP = "championship:"
EVENT = "event:"
AWARD = "award:"
KEYS = "system:keys"
RECEIPT = "receipt:"


def championship_partition(championship: str) -> str:
    return f"{CHAMPIONSHIP}{championship}"


def event_partition(event_id: str) -> str:
    return f"{EVENT}{event_id}"


def award_partition(award: str) -> str:
    return f"{AWARD}{award}"


def receipt_partition(message_id: str) -> str:
    return f"{RECEIPT}{message_id}"


def partition_group(partition: str, groups: int) -> int:
    """The group a partition belongs to among `groups`: the same in every process and release
    (crc32 of the key, not Python's per-process string hash)."""
    return zlib.crc32(partition.encode()) % groups


def championship_of(partition: str) -> str | None:
    """The championship a partition key names, or None for another kind of partition."""
    return partition.removeprefix(CHAMPIONSHIP) if partition.startswith(CHAMPIONSHIP) else None


_HOMES: dict[type, Callable[[Any], str]] = {
    Championship: lambda a: championship_partition(a.championship),
    RaceClassification: lambda a: championship_partition(a.championship),
    StewardsDecision: lambda a: championship_partition(a.championship),
    TargetEvent: lambda a: event_partition(a.event_id),
    Invitation: lambda a: event_partition(a.event_id),
    Award: lambda a: award_partition(a.award),
    SigningKey: lambda _: KEYS,
    IngestReceipt: lambda a: receipt_partition(a.message_id),
}

_CREATED: dict[type, Callable[[Any], str]] = {
    Championship.Registered: lambda e: championship_partition(e.championship),
    RaceClassification.Opened: lambda e: championship_partition(e.championship),
    StewardsDecision.PenaltyImposed: lambda e: championship_partition(e.championship),
    TargetEvent.Registered: lambda e: event_partition(e.event_id),
    Invitation.Opened: lambda e: event_partition(e.event_id),
    Award.Granted: lambda e: award_partition(e.award),
    SigningKey.Registered: lambda _: KEYS,
    IngestReceipt.Received: lambda e: receipt_partition(e.message_id),
}


_NAMES_HOME: dict[type, Callable[[Any], str]] = {
    Championship.Revised: lambda e: championship_partition(e.definition["id"]),
}
"""Later events that name their home: a revision routing to an event is read in that event's
partition without the championship's creation event."""


def home_partition(aggregate: Any) -> str:
    """The partition of every fact of an aggregate."""
    home = _HOMES.get(type(aggregate))
    if home is None:
        raise TypeError(f"no partition for {type(aggregate).__qualname__}")
    return home(aggregate)


def route_partitions(event: Any) -> tuple[str, ...]:
    """The target events a championship definition declares routes to (other facts: none)."""
    definition = getattr(event, "definition", None)
    if not isinstance(event, (Championship.Registered, Championship.Revised)) or not definition:
        return ()
    targets = {r.get("target_event") for r in definition.get("invitation_routes", ())}
    return tuple(sorted(event_partition(t) for t in targets if isinstance(t, str) and t))


def partitions_of(aggregate: Any, event: Any) -> tuple[str, ...]:
    """Every partition a fact is indexed under: its home first, then the events it routes to."""
    return (home_partition(aggregate), *route_partitions(event))


@dataclass(frozen=True)
class IndexEntry:
    """What the partition index records of one event: its partitions and its two times (None
    for an event that is not a fact)."""

    partitions: tuple[str, ...]
    effective_at: datetime | None
    recorded_at: datetime | None

    @classmethod
    def of(cls, partitions: tuple[str, ...], event: Any) -> IndexEntry:
        return cls(partitions, getattr(event, "effective_at", None),
                   getattr(event, "recorded_at", None))


class Partitioner:
    """The partitions of events read back from a log, in log order (no aggregate at hand):
    an aggregate's home is learnt from its creation event. Used to index a log written before
    Paddock kept a partition index."""

    def __init__(self) -> None:
        # keyed by the id's int, one string per partition: a long log holds an entry per
        # aggregate, and neither ints nor strings are objects the garbage collector scans
        self._homes: dict[int, str] = {}
        self._names: dict[str, str] = {}

    def partitions(self, event: Any) -> tuple[str, ...]:
        created = _CREATED.get(type(event)) or _NAMES_HOME.get(type(event))
        if created is not None:
            name = created(event)
            self._homes[event.originator_id.int] = self._names.setdefault(name, name)
        home = self._homes.get(event.originator_id.int)
        if home is None:
            raise LookupError(f"event {type(event).__qualname__} of aggregate "
                              f"{event.originator_id} comes before its aggregate was created")
        return (home, *route_partitions(event))

    def index(self, events: Iterable[tuple[int, Any]]) -> list[tuple[int, tuple[str, ...]]]:
        return [(position, self.partitions(event)) for position, event in events]
