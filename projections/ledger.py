"""The ledger fold: every recorded fact of the log, kept with its position and both times.

The fold is a pure function of the events; views (standings, invitations, history) are pure
functions of the fold and a point on each time axis. Which fact wins never depends on the order
facts were recorded in, only on their `effective_at` and their content (see `winner`).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.fact import Fact
from domain.aggregates.ingest_receipt import IngestReceipt
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.signing_key import SigningKey
from domain.aggregates.stewards_decision import StewardsDecision
from domain.aggregates.target_event import TargetEvent
from domain.classification import ClassificationRow
from domain.decisions import DecisionTerms
from domain.partitions import RECEIPT, Partitioner

T = TypeVar("T")
RoundKey = tuple[str, int]


@dataclass(frozen=True)
class Recorded(Generic[T]):
    """A fact as the log holds it."""

    position: int
    effective_at: datetime
    recorded_at: datetime
    actor: str
    source: str
    value: T

    def visible(self, as_of: datetime, known_at: datetime) -> bool:
        return self.recorded_at <= known_at and self.effective_at <= as_of


@dataclass(frozen=True)
class ClassificationVersion:
    status: str
    digest: str
    rows: tuple[dict[str, Any], ...]

    @cached_property
    def parsed_rows(self) -> tuple[ClassificationRow, ...]:
        """`rows` as values, parsed once: a round is computed again with every decision on it,
        its file is not (parsed when first asked, so a fold that never computes the round
        does not pay for it)."""
        return tuple(ClassificationRow.from_record(r) for r in self.rows)


@dataclass(frozen=True)
class DecisionChange:
    change: str  # imposed | amended | rescinded
    reference: str
    terms: dict[str, Any] | None
    reason: str
    parsed: DecisionTerms | None = None  # `terms` as a value, parsed once when folded

    def __post_init__(self) -> None:
        if self.parsed is None and self.terms is not None:
            object.__setattr__(self, "parsed", DecisionTerms.from_record(self.terms))


@dataclass(frozen=True)
class TieResolution:
    class_id: str
    order: tuple[str, ...]
    reference: str
    reason: str


@dataclass(frozen=True)
class AwardGrant:
    award: str
    name: str
    series: str
    recipient: dict[str, Any]


@dataclass(frozen=True)
class Transition:
    status: str
    holder: dict[str, Any] | None
    reason: str


@dataclass(frozen=True)
class HistoryItem:
    position: int
    effective_at: datetime
    recorded_at: datetime
    actor: str
    source: str
    kind: str
    round: int | None
    cars: tuple[str, ...]
    summary: str


class HeadIndex:
    """`recorded_at` → log position, answered by bisection: the largest position recorded at or
    before a time. Appends in time order are O(1); an out-of-order time (concurrent writers
    commit in another order than they stamp) is inserted in place, and the running maximum is
    raised only as far as it is lower than the new position: never a re-sort of the index."""

    def __init__(self) -> None:
        self._times: list[datetime] = []
        self._best: list[int] = []  # running maximum of positions, aligned with _times

    def add(self, at: datetime, position: int) -> None:
        index = bisect_right(self._times, at)
        best = max(position, self._best[index - 1]) if index else position
        self._times.insert(index, at)
        self._best.insert(index, best)
        later = index + 1
        while later < len(self._best) and self._best[later] < position:
            self._best[later] = position
            later += 1

    def position_at(self, known_at: datetime) -> int:
        index = bisect_right(self._times, known_at)
        return self._best[index - 1] if index else 0

    @property
    def latest(self) -> datetime | None:
        return self._times[-1] if self._times else None

    def __len__(self) -> int:
        return len(self._times)


CHANGE_RANK = {"imposed": 0, "amended": 1, "rescinded": 2}


def content_key(value: Any) -> str:
    """A deterministic key for a fact's content, to order facts with equal effective times."""
    return json.dumps(value, sort_keys=True, default=str)


def winner(facts: Iterable[Recorded[T]], key: Callable[[T], Any] = content_key) -> Recorded[T] | None:
    """The fact in force: the latest effective one; content breaks exact ties. (The content
    key, a JSON encoding for most facts, is computed only for the facts tied at the latest
    time: the first maximum of (effective_at, key) is the first maximum of key among them.)"""
    items = facts if isinstance(facts, list) else list(facts)
    if not items:
        return None
    latest = max(r.effective_at for r in items)
    tied = [r for r in items if r.effective_at == latest]
    return tied[0] if len(tied) == 1 else max(tied, key=lambda r: key(r.value))


@dataclass(frozen=True)
class DeskDecision:
    """An organiser's decision on a target event's entry list: `kind` is capacity, grant,
    reserves or published; `values` the event's own fields."""

    kind: str
    values: dict[str, Any]


@dataclass
class SigningKeyState:
    """A registered public key: whose it is, for which role, and whether it still signs."""

    public_key: str
    person: str
    role: str
    registered_at: int
    revoked_at: int | None = None


@dataclass
class LedgerState:
    championships: dict[str, list[Recorded[dict[str, Any]]]] = field(default_factory=dict)
    entries: dict[str, list[Recorded[dict[str, Any]]]] = field(default_factory=dict)
    ties: dict[str, list[Recorded[TieResolution]]] = field(default_factory=dict)
    classifications: dict[RoundKey, list[Recorded[ClassificationVersion]]] = field(default_factory=dict)
    official_marks: dict[RoundKey, list[Recorded[int]]] = field(default_factory=dict)
    poles: dict[RoundKey, list[Recorded[tuple[str, str]]]] = field(default_factory=dict)
    decisions: dict[RoundKey, dict[str, list[Recorded[DecisionChange]]]] = field(default_factory=dict)
    awards: dict[str, list[Recorded[AwardGrant]]] = field(default_factory=dict)
    target_events: dict[str, list[Recorded[dict[str, Any]]]] = field(default_factory=dict)
    invitations: dict[tuple[str, str], list[Recorded[Transition]]] = field(default_factory=dict)
    history: dict[str, list[HistoryItem]] = field(default_factory=dict)
    head: HeadIndex = field(default_factory=lambda: HeadIndex())
    heads: dict[str, HeadIndex] = field(default_factory=dict)  # per partition (no receipts)
    receipts: dict[str, int] = field(default_factory=dict)
    signing_keys: dict[str, SigningKeyState] = field(default_factory=dict)
    desk: dict[str, list[Recorded[DeskDecision]]] = field(default_factory=dict)
    rounds_memo: dict[RoundKey, Any] = field(default_factory=dict, compare=False, repr=False)
    """Each round as last computed, keyed by the facts it saw (projections.round_state.RoundMemo):
    not state, a cache, so one new fact recomputes its own round, not every round."""
    views_memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    """Parts of views as last computed, keyed by the identity of their inputs
    (projections/standings_view.py: each class block and round summary, encoded once): not
    state, a cache, so a decision on one car re-encodes its class and round, not the season."""

    def position_known_at(self, known_at: datetime, partitions: Iterable[str] | None = None) -> int:
        """The last log position recorded at or before `known_at` (0 for an empty log): of the
        facts of these partitions, so that an answer names the same position whether it was
        computed from its partitions alone or from the whole log."""
        if partitions is None:
            return self.head.position_at(known_at)
        heads = [self.heads[p] for p in partitions if p in self.heads]
        return max((h.position_at(known_at) for h in heads), default=0)


class LedgerFold:
    """Folds domain events, in any order, into a `LedgerState`."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self._partitioner = Partitioner()
        self._championship_ids: dict[Any, str] = {}
        self._decision_keys: dict[Any, tuple[RoundKey, str]] = {}
        self._round_keys: dict[Any, RoundKey] = {}
        self._invitation_keys: dict[Any, tuple[str, str]] = {}
        self._key_ids: dict[Any, str] = {}
        self._target_event_ids: dict[Any, str] = {}

    def apply_all(self, items: Iterable[tuple[int, Any]]) -> LedgerState:
        for position, event in items:
            self.apply(position, event)
        return self.state

    def apply(self, position: int, event: Any) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise TypeError(f"log position {position}: no projection for {type(event).__qualname__}")
        if isinstance(event, Fact):
            self.state.head.add(event.recorded_at, position)
            for partition in self._partitioner.partitions(event):
                if not partition.startswith(RECEIPT):
                    self.state.heads.setdefault(partition, HeadIndex()).add(event.recorded_at, position)
        handler(self, position, event)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _recorded(position: int, event: Fact, value: T) -> Recorded[T]:
        return Recorded(position, event.effective_at, event.recorded_at, event.actor, event.source, value)

    def _history(self, championship: str, position: int, event: Fact, kind: str,
                 round_number: int | None, cars: Sequence[str], summary: str) -> None:
        self.state.history.setdefault(championship, []).append(
            HistoryItem(position, event.effective_at, event.recorded_at, event.actor,
                        event.source, kind, round_number, tuple(cars), summary)
        )

    # -- championships -------------------------------------------------------------------------

    def _championship_defined(self, position: int, event: Any) -> None:
        cid = event.definition["id"]
        self._championship_ids[event.originator_id] = cid
        self.state.championships.setdefault(cid, []).append(
            self._recorded(position, event, event.definition)
        )
        version = getattr(event, "rules_version", 1)
        verb = "registered" if version == 1 else f"definition revised (version {version})"
        self._history(cid, position, event, "definition", None, (), f"{event.definition['name']} {verb}")

    def _entry_declared(self, position: int, event: Any) -> None:
        cid = self._championship_of(event)
        entry = event.entry
        self.state.entries.setdefault(cid, []).append(self._recorded(position, event, entry))
        self._history(cid, position, event, "entry", None, (entry["car"],),
                      f"entry #{entry['car']} {entry['team']} ({entry['class']}) declared")

    def _tie_resolved(self, position: int, event: Any) -> None:
        cid = self._championship_of(event)
        tie = TieResolution(event.class_id, tuple(event.order), event.reference, event.reason)
        self.state.ties.setdefault(cid, []).append(self._recorded(position, event, tie))
        self._history(cid, position, event, "tie_resolved", None, tuple(event.order),
                      f"{event.class_id} tie resolved: {' ahead of '.join('#' + c for c in event.order)}")

    def _championship_of(self, event: Any) -> str:
        return self._championship_ids[event.originator_id]

    # -- rounds ----------------------------------------------------------------------------------

    def _round_opened(self, position: int, event: Any) -> None:
        self._round_keys[event.originator_id] = (event.championship, event.round_number)

    def _published(self, position: int, event: Any) -> None:
        key = self._round_keys[event.originator_id]
        version = ClassificationVersion(event.status, event.digest, tuple(event.rows))
        self.state.classifications.setdefault(key, []).append(self._recorded(position, event, version))
        self._history(key[0], position, event, "classification", key[1],
                      tuple(r["car"] for r in event.rows),
                      f"R{key[1]} {event.status} classification published "
                      f"({len(event.rows)} cars, version {event.version})")

    def _declared_official(self, position: int, event: Any) -> None:
        key = self._round_keys[event.originator_id]
        self.state.official_marks.setdefault(key, []).append(self._recorded(position, event, event.version))
        self._history(key[0], position, event, "official", key[1], (),
                      f"R{key[1]} classification declared official")

    def _pole_recorded(self, position: int, event: Any) -> None:
        key = self._round_keys[event.originator_id]
        self.state.poles.setdefault(key, []).append(
            self._recorded(position, event, (event.class_id, event.car))
        )
        self._history(key[0], position, event, "pole", key[1], (event.car,),
                      f"R{key[1]} {event.class_id} pole: #{event.car}")

    # -- decisions -------------------------------------------------------------------------------

    def _decision_imposed(self, position: int, event: Any) -> None:
        key = (event.championship, event.round_number)
        self._decision_keys[event.originator_id] = (key, event.reference)
        self._add_decision(position, event, key, "imposed", event.reference, event.terms)

    def _decision_changed(self, position: int, event: Any) -> None:
        key, reference = self._decision_keys[event.originator_id]
        rescinded = isinstance(event, StewardsDecision.PenaltyRescinded)
        terms = None if rescinded else event.terms
        self._add_decision(position, event, key, "rescinded" if rescinded else "amended", reference, terms)

    def _add_decision(self, position: int, event: Any, key: RoundKey, change: str,
                      reference: str, terms: dict[str, Any] | None) -> None:
        value = DecisionChange(change, reference, terms, event.reason)
        parsed = value.parsed
        by_ref = self.state.decisions.setdefault(key, {})
        by_ref.setdefault(reference, []).append(self._recorded(position, event, value))
        cars = (terms["car"],) if terms else tuple(
            c.value.terms["car"] for c in by_ref[reference] if c.value.terms
        )[:1]
        what = parsed.describe() if parsed else "rescinded"
        self._history(key[0], position, event, f"decision_{change}", key[1], cars,
                      f"R{key[1]} decision {reference}: #{cars[0] if cars else '?'} {what}"
                      + (f" ({event.reason})" if event.reason else ""))

    # -- awards, target events, invitations ----------------------------------------------------

    def _award_granted(self, position: int, event: Any) -> None:
        grant = AwardGrant(event.award, event.name, event.series, dict(event.recipient))
        self.state.awards.setdefault(event.award, []).append(self._recorded(position, event, grant))

    def _target_event_defined(self, position: int, event: Any) -> None:
        eid = event.definition["id"]
        self._target_event_ids[event.originator_id] = eid
        self.state.target_events.setdefault(eid, []).append(
            self._recorded(position, event, event.definition)
        )


    def _receipt(self, position: int, event: Any) -> None:
        self.state.receipts[event.message_id] = position

    def _key_registered(self, position: int, event: Any) -> None:
        self._key_ids[event.originator_id] = event.public_key
        self.state.signing_keys[event.public_key] = SigningKeyState(
            event.public_key, event.person, event.role, position)

    def _key_revoked(self, position: int, event: Any) -> None:
        self.state.signing_keys[self._key_ids[event.originator_id]].revoked_at = position

    def _invitation_opened(self, position: int, event: Any) -> None:
        self._invitation_keys[event.originator_id] = (event.event_id, event.route)

    def _invitation_transitioned(self, position: int, event: Any) -> None:
        key = self._invitation_keys[event.originator_id]
        value = Transition(event.status, event.holder, event.reason)
        self.state.invitations.setdefault(key, []).append(self._recorded(position, event, value))


def _desk(kind: str, *fields: str) -> Callable[[LedgerFold, int, Any], None]:
    """The fold of an organiser's decision on an entry list, keeping `fields` of the event."""
    def fold(self: LedgerFold, position: int, event: Any) -> None:
        eid = self._target_event_ids[event.originator_id]
        decision = DeskDecision(kind, {f: getattr(event, f) for f in fields})
        self.state.desk.setdefault(eid, []).append(self._recorded(position, event, decision))
    return fold


_HANDLERS: dict[type, Callable[[LedgerFold, int, Any], None]] = {
            Championship.Registered: LedgerFold._championship_defined,
            Championship.Revised: LedgerFold._championship_defined,
            Championship.EntryDeclared: LedgerFold._entry_declared,
            Championship.TieResolved: LedgerFold._tie_resolved,
            RaceClassification.Opened: LedgerFold._round_opened,
            RaceClassification.Published: LedgerFold._published,
            RaceClassification.DeclaredOfficial: LedgerFold._declared_official,
            RaceClassification.PoleRecorded: LedgerFold._pole_recorded,
            StewardsDecision.PenaltyImposed: LedgerFold._decision_imposed,
            StewardsDecision.PenaltyAmended: LedgerFold._decision_changed,
            StewardsDecision.PenaltyRescinded: LedgerFold._decision_changed,
            Award.Granted: LedgerFold._award_granted,
            TargetEvent.Registered: LedgerFold._target_event_defined,
            TargetEvent.Revised: LedgerFold._target_event_defined,
            TargetEvent.CapacityChanged: _desk("capacity", "class_id", "capacity", "reason"),
            TargetEvent.PlaceGranted: _desk("grant", "class_id", "team", "car", "reference",
                                                 "reason"),
            TargetEvent.ReservesRanked: _desk("reserves", "class_id", "ranked", "reason"),
            TargetEvent.EntryListPublished: _desk("published", "version", "note"),
            Invitation.Opened: LedgerFold._invitation_opened,
            Invitation.Transitioned: LedgerFold._invitation_transitioned,
            IngestReceipt.Received: LedgerFold._receipt,
            SigningKey.Registered: LedgerFold._key_registered,
            SigningKey.Revoked: LedgerFold._key_revoked,
        }
"""Event type → how it is folded: a table of the class, not of each fold, so that a fold holds
no reference to itself and is freed as soon as it is dropped (a cache evicting folds must not
wait for the cyclic garbage collector, which a long-running process runs rarely)."""
