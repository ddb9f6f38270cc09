"""The season ledger: an `eventsourcing` Application that validates commands, appends facts, and
answers bitemporal queries from a fold of its log.

`recorded_at` is stamped here from the ledger's clock when the facts are appended, never taken
from a producer. Queries fold the log incrementally (new notifications only); `replay()` folds it
from zero, which must give the same views.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording
from eventsourcing.utils import strtobool

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.stewards_decision import StewardsDecision
from domain.aggregates.target_event import TargetEvent
from domain.authority import Role
from domain.bounds import TEXT_LENGTH, check_text
from domain.classification import ClassificationRow
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import (
    ClassificationMissingError,
    ConflictingFactError,
    InvalidInputError,
    TimeOrderError,
    UnknownCarError,
    UnknownChampionshipError,
    UnknownClassError,
    UnknownDecisionError,
    UnknownTargetEventError,
)
from domain.invitations import CONFIRMED, EARNED
from domain.partitions import (
    CHAMPIONSHIP,
    EVENT,
    KEYS,
    IndexEntry,
    event_partition,
    partitions_of,
    receipt_partition,
)
from domain.race_status import OFFICIAL, STATUSES
from domain.rules import ChampionshipDefinition
from domain.signing import award_statement, penalty_statement, tie_statement
from domain.standings import car_sort_key
from domain.timing import require_aware
from projections.diff_view import diff_view
from projections.explain_view import explain_view
from projections.history_view import history_view
from projections.invitations_view import invitations_view
from projections.ledger import LedgerFold, LedgerState, Recorded
from projections.partition_scope import championship_scope, event_dependencies
from projections.route_owners import championship_owner, event_owner, recorded_owners
from projections.standings_view import standings_view
from projections.timeline_view import RETROACTIVE_AFTER, timeline_view
from services.entry_list_desk import HOLDING, EntryListDesk
from services.outcome import ACCEPTED, DUPLICATE, Outcome
from services.partition_folds import DEFAULT_MAX_MB, PartitionFolds, Scope, scope_of, units_of
from services.partition_reads import PartitionReads
from services.row_json import EncodedRows, canonical_rows_json
from services.signatures import Signer
from services.signing_desk import SigningDesk

Clock = Callable[[], datetime]
A = TypeVar("A", bound=Aggregate)
PAGE = 1000
FREEZE_AFTER = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


_CLASS_AND_GROUP = itemgetter("class", "group")


def rows_digest(records: Sequence[dict[str, Any]]) -> str:
    """Identity of a classification's content, whatever file dialect or message carried it.
    Row records hold only strings, integers, lists and None: plain sorted JSON is canonical
    (services/row_json.py; records that carry it are not encoded again)."""
    canonical = records.canonical if isinstance(records, EncodedRows) else canonical_rows_json(records)
    return hashlib.sha256(canonical).hexdigest()


class Ledger(EntryListDesk, SigningDesk, Application[UUID]):
    name = "Paddock"

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now, *,
                 fold_megabytes: float = DEFAULT_MAX_MB) -> None:
        """`fold_megabytes` bounds the partition folds this process keeps (least recently
        used dropped first)."""
        super().__init__(env)
        self.clock = clock
        self._definitions: dict[tuple[str, int], ChampionshipDefinition] = {}
        self._deferred: ContextVar[list[Aggregate] | None] = ContextVar("deferred", default=None)
        self._also_saving: ContextVar[tuple[Aggregate, ...]] = ContextVar("also_saving", default=())
        self._fold: LedgerFold | None = None  # the whole log's fold: only for `state()`
        self._folded_to = 0
        self.partitions = PartitionReads(self.recorder, self.mapper.to_domain_event,
                                         self._read_log, self.head)
        if strtobool(self.env.get("CREATE_TABLE", "yes")):
            self.partitions.index_log()
        self.partitions.use_index_if_complete()
        self.folds = PartitionFolds(self._read_scope, units_of(fold_megabytes), self._final_head)

    # -- reading -------------------------------------------------------------------------------

    def find(self, cls: type[A], **key: Any) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(cls.create_id(**key))
        except AggregateNotFoundError:
            return None
        assert isinstance(aggregate, cls)
        return aggregate

    def read_events(self, after: int = 0, *, limit: int | None = None,
                    until: int | None = None) -> list[tuple[int, Any]]:
        """Domain events after log position `after` (at most `limit` of them, none after
        position `until`), read in large pages."""
        events: list[tuple[int, Any]] = []
        while limit is None or len(events) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(events))
            page = self.recorder.select_notifications(
                start=after, limit=size, stop=until, inclusive_of_start=False
            )
            events.extend((n.id, self.mapper.to_domain_event(n)) for n in page)
            if len(page) < size:
                return events
            after = page[-1].id
        return events

    def _read_log(self, after: int, limit: int | None, until: int | None) -> list[tuple[int, Any]]:
        return self.read_events(after, limit=limit, until=until)

    def read_partitions(self, partitions: Iterable[str], after: int = 0,
                        until: int | None = None) -> list[tuple[int, Any]]:
        """The events of these partitions (log positions after `after`, up to `until`)."""
        return self.partitions.read(partitions, after, until)

    def read_indexed(self, after: int = 0, *, limit: int | None = None,
                     until: int | None = None) -> list[tuple[int, Any, tuple[str, ...]]]:
        """The log after `after`, each event with the partitions it belongs to."""
        return self.partitions.read_indexed(after, limit, until)

    def _read_scope(self, scope: Scope, after: int) -> list[tuple[int, Any]]:
        return self.read_partitions(scope, after)

    def scoped(self, partitions: Iterable[str]) -> LedgerState:
        """The fold of these partitions only, brought up to date (once per `one_read`)."""
        return self.folds.state(scope_of(partitions))

    def championship_state(self, championship: str) -> LedgerState:
        return self.scoped(championship_scope(championship))

    def event_state(self, event_id: str) -> LedgerState:
        """A target event's partition with every partition its views depend on."""
        own = self.scoped((event_partition(event_id),))
        return self.scoped(event_dependencies(own, event_id))

    def _championship_answer(self, championship: str) -> LedgerState:
        """The state a query about a championship reads; an unknown one is named with some
        that the log holds (the partition read cannot know the others)."""
        state = self.championship_state(championship)
        if championship not in state.championships:
            raise UnknownChampionshipError(f"unknown championship '{championship}' "
                                           f"(known: {self.known('championship')})")
        return state

    def _event_answer(self, event_id: str) -> LedgerState:
        state = self.event_state(event_id)
        if event_id not in state.target_events:
            raise UnknownTargetEventError(f"unknown target event '{event_id}' "
                                          f"(known: {self.known('target event')})")
        return state

    def keys_state(self) -> LedgerState:
        return self.scoped((KEYS,))

    def known(self, kind: str, limit: int = 20) -> str:
        """Some of the championships or target events the log holds, for an error message."""
        prefix = CHAMPIONSHIP if kind == "championship" else EVENT
        found = [p.removeprefix(prefix) for p in self.partitions.partitions_like(prefix, limit + 1)]
        if not found:
            return "none registered"
        more = ", …" if len(found) > limit else ""
        return ", ".join(found[:limit]) + more

    def state(self) -> LedgerState:
        """The fold of the WHOLE log: for audits and replays that need every fact, never for
        answering about one championship (see `championship_state`)."""
        if self._fold is None:
            self._fold = LedgerFold()
        new = self.read_events(self._folded_to)
        for position, event in new:
            self._fold.apply(position, event)
            self._folded_to = position
        if len(new) > FREEZE_AFTER:
            gc.freeze()  # a large fold is long-lived: keep it out of the cyclic collector's scans
        return self._fold.state

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save with the partition index of every event, written in the same transaction."""
        entries = [IndexEntry.of(partitions_of(a, e), e)
                   for a in objs if a is not None for e in a.pending_events]
        recordings = super().save(*objs, partition_index=entries, **kwargs)
        if len(recordings) == len(entries):  # folded now, not read back (ingest: every run)
            self.folds.saved([(r.notification.id, r.domain_event, entry.partitions)
                              for r, entry in zip(recordings, entries, strict=True)])
        return recordings

    def receipt_position(self, message_id: str) -> int | None:
        """The log position of the receipt of a message, if one was recorded."""
        found = self.read_partitions((receipt_partition(message_id),))
        return found[0][0] if found else None

    def replay(self) -> LedgerState:
        """A fresh fold of the log from position zero."""
        return LedgerFold().apply_all(self.read_events(0))

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _final_head(self) -> int:
        """What a fold may count as complete through after reading its scope: the head, except
        on PostgreSQL while appends are in flight (a lower position may still commit: 0)."""
        final = getattr(self.recorder, "final_head", None)
        return int(final()) if final is not None else self.head()

    # -- queries -------------------------------------------------------------------------------

    def _times(self, as_of: datetime | None, known_at: datetime | None) -> tuple[datetime, datetime]:
        now = self.clock()
        as_of = require_aware(as_of, field="as_of") if as_of else now
        known_at = require_aware(known_at, field="known_at") if known_at else now
        return as_of, known_at

    def standings(self, championship: str, *, as_of: datetime | None = None,
                  known_at: datetime | None = None, class_id: str | None = None) -> dict[str, Any]:
        a, k = self._times(as_of, known_at)
        return standings_view(self._championship_answer(championship), championship, a, k, class_id)

    def invitations(self, event_id: str, *, as_of: datetime | None = None,
                    known_at: datetime | None = None) -> dict[str, Any]:
        a, k = self._times(as_of, known_at)
        return invitations_view(self._event_answer(event_id), event_id, a, k)

    def explain(self, championship: str, car: str, *, as_of: datetime | None = None,
                known_at: datetime | None = None) -> dict[str, Any]:
        """Every point of a car, round by round, with the facts behind each line."""
        a, k = self._times(as_of, known_at)
        return explain_view(self._championship_answer(championship), championship, car, a, k)

    def diff(self, championship: str, start: datetime, end: datetime, *,
             known_at: datetime | None = None) -> dict[str, Any]:
        """Rows whose position or points changed between two dates, with their causes."""
        _, k = self._times(None, known_at)
        return diff_view(self._championship_answer(championship), championship,
                         require_aware(start, field="from"),
                         require_aware(end, field="to"), k)

    def timeline(self, championship: str, *, as_of: datetime | None = None,
                 known_at: datetime | None = None,
                 retroactive_after: timedelta = RETROACTIVE_AFTER) -> dict[str, Any]:
        """All facts in effective-time order with both times; retroactive ones flagged."""
        a, k = self._times(as_of, known_at)
        return timeline_view(self._championship_answer(championship), championship, a, k,
                             retroactive_after)

    def history(self, championship: str, *, car: str | None = None, as_of: datetime | None = None,
                known_at: datetime | None = None) -> dict[str, Any]:
        a, k = self._times(as_of, known_at)
        return history_view(self._championship_answer(championship), championship, a, k, car)

    # -- commands: championships and target events -----------------------------------------------

    @contextmanager
    def one_read(self) -> Iterator[None]:
        """Inside this block each partition fold is brought up to date once, not on every
        validation."""
        with self.folds.pinned():
            yield

    @contextmanager
    def also_saving(self, *aggregates: Aggregate) -> Iterator[None]:
        """Commands inside this block save `aggregates` in the same transaction as their facts
        (an ingest receipt, so a message and its effects are recorded together or not at all)."""
        token = self._also_saving.set(aggregates)
        try:
            yield
        finally:
            self._also_saving.reset(token)

    @contextmanager
    def deferred(self) -> Iterator[list[Aggregate]]:
        """Commands inside this block do not save: their aggregates are collected, for the
        caller to save together in one transaction (ingest batches of independent messages)."""
        pending: list[Aggregate] = []
        token = self._deferred.set(pending)
        try:
            yield pending
        finally:
            self._deferred.reset(token)

    def _append(self, what: str, *aggregates: Aggregate) -> Outcome:
        everything = (*aggregates, *self._also_saving.get())
        pending = self._deferred.get()
        if pending is not None:
            pending.extend(everything)
            events = tuple((a.id, e.originator_version) for a in everything for e in a.pending_events)
            return Outcome(ACCEPTED, what, (), events)
        recordings = self.save(*everything)
        return Outcome(ACCEPTED, what, tuple(r.notification.id for r in recordings))

    def register_championship(self, definition: dict[str, Any], *, effective_at: datetime,
                              actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        ChampionshipDefinition.from_record(definition)  # shape check of trusted records
        cid = definition["id"]
        existing = self.find(Championship, championship=cid)
        if existing is None:
            self._check_route_owner(championship_owner(cid), definition, source)
            created = Championship(championship=cid, definition=definition,
                                   effective_at=effective_at, recorded_at=self.clock(),
                                   actor=actor, source=source)
            return self._append(f"championship {cid} registered", created)
        if existing.knows_definition(definition):
            return Outcome(DUPLICATE, f"championship {cid}: this definition is already recorded")
        self._check_route_owner(championship_owner(cid), definition, source)
        existing.revise(definition, effective_at, self.clock(), actor, source)
        return self._append(f"championship {cid} revised (rules version {existing.rules_version})", existing)

    def register_target_event(self, definition: dict[str, Any], *, effective_at: datetime,
                              actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        eid = definition["id"]
        existing = self.find(TargetEvent, event_id=eid)
        routes = {**definition, "invitation_routes": [
            {**r, "target_event": eid} for r in definition.get("invitation_routes", ())]}
        if existing is None:
            self._check_route_owner(event_owner(eid), routes, source)
            created = TargetEvent(event_id=eid, definition=definition, effective_at=effective_at,
                                  recorded_at=self.clock(), actor=actor, source=source)
            return self._append(f"target event {eid} registered", created)
        if existing.knows_definition(definition):
            return Outcome(DUPLICATE, f"target event {eid}: this definition is already recorded")
        self._check_route_owner(event_owner(eid), routes, source)
        existing.revise(definition, effective_at, self.clock(), actor, source)
        return self._append(f"target event {eid} revised", existing)

    def _check_route_owner(self, owner: str, definition: dict[str, Any], source: str) -> None:
        """A route has one owner: a second file declaring it would count it twice. Every
        declaration of a route to an event is in that event's scope."""
        for r in definition.get("invitation_routes", ()):
            owners = recorded_owners(self.event_state(r["target_event"]))
            other = owners.get((r["target_event"], r["id"]))
            if other is not None and other.owner != owner:
                raise ConflictingFactError(
                    f"invitation route '{r['id']}' to {r['target_event']} is already declared by "
                    f"{other.owner} in {other.source}; {source} declares it again for {owner}: "
                    "a route has one owner, declare it in one of the two files only")

    def definition(self, championship: str) -> ChampionshipDefinition:
        """The latest recorded definition, against which commands are validated. Read from the
        fold (parsed once per version), not by rebuilding the aggregate on every command."""
        versions = self.championship_state(championship).championships.get(championship)
        if not versions:
            known = self.known("championship")
            raise UnknownChampionshipError(
                f"unknown championship '{championship}' (known: {known}); "
                "register it first with `paddock season register FILE`"
            )
        latest = max(versions, key=lambda v: v.position)
        key = (championship, latest.position)
        if key not in self._definitions:
            self._definitions[key] = ChampionshipDefinition.from_record(latest.value)
        return self._definitions[key]

    def resolve_tie(self, championship: str, class_id: str, order: list[str], *, reference: str,
                    reason: str, effective_at: datetime, signed_by: Signer | None, actor: str,
                    source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        signature = self._verified(Role.OFFICIAL, signed_by, tie_statement(
            championship, class_id, order, reference=reference, reason=reason,
            effective_at=effective_at))
        defn = self.definition(championship)
        defn.class_def(class_id)
        if len(order) < 2 or len(set(order)) != len(order):
            raise InvalidInputError(f"a tie decision orders two or more different cars (got {order})")
        agg = self.find(Championship, championship=championship)
        assert agg is not None
        if reference in agg.tie_references:
            same = [t for t in self.championship_state(championship).ties.get(championship, [])
                    if t.value.reference == reference]
            if any(t.value.class_id == class_id and list(t.value.order) == order for t in same):
                return Outcome(DUPLICATE, f"tie decision {reference} already recorded")
            raise ConflictingFactError(
                f"tie decision {reference} is already recorded with another class or order"
            )
        agg.resolve_tie(class_id, order, reference, reason, signature.record.to_record(),
                        effective_at, self.clock(), signature.actor, source)
        return self._append(f"{championship} {class_id} tie resolved ({reference})", agg)

    def declare_entry(self, championship: str, entry: dict[str, Any], *, effective_at: datetime,
                      actor: str, source: str) -> Outcome:
        """Declare (or re-declare) an entry: its team name and class override timing files, for
        the rounds it names (`from_round`, `until_round`; by default every round)."""
        defn = self.definition(championship)
        defn.class_def(entry["class"])
        if not str(entry.get("car", "")).strip() or not str(entry.get("team", "")).strip():
            raise InvalidInputError("an entry needs a car number and a team")
        self._check_entry_rounds(defn, entry)
        agg = self.find(Championship, championship=championship)
        assert agg is not None
        if agg.entries.get(entry["car"]) == entry:
            return Outcome(DUPLICATE, f"entry #{entry['car']} already declared as given")
        agg.declare_entry(entry, require_aware(effective_at, field="effective_at"), self.clock(),
                          actor, source)
        return self._append(f"{championship} entry #{entry['car']} {entry['team']} declared", agg)

    @staticmethod
    def _check_entry_rounds(defn: ChampionshipDefinition, entry: dict[str, Any]) -> None:
        rounds = [entry.get(k) for k in ("from_round", "until_round")]
        for number in rounds:
            if number is not None:
                defn.round(number)
        first, last = rounds
        if first is not None and last is not None and first > last:
            raise InvalidInputError(f"from round {first} is after until round {last}")

    # -- commands: classifications and poles -------------------------------------------------------

    def _round(self, championship: str, number: int, *, effective_at: datetime, actor: str,
               source: str, checked: bool = False) -> RaceClassification:
        """The round's aggregate, opened by the first fact recorded on it; rebuilt from the facts
        the fold holds, not read back from the store (its events carry every version's rows).
        `checked`: the caller has already found the round in the definition."""
        if not checked:
            self.definition(championship).round(number)
        state = self.championship_state(championship)
        key = (championship, number)
        versions = state.classifications.get(key, [])
        marks = state.official_marks.get(key, [])
        poles = state.poles.get(key, [])
        facts: list[Recorded[Any]] = [*versions, *marks, *poles]
        if not facts:  # an opening event is only ever saved with a fact
            return RaceClassification(
                championship=championship, round_number=number, effective_at=effective_at,
                recorded_at=self.clock(), actor=actor, source=source,
            )
        return RaceClassification.resumed(
            championship, number,
            versions=[(v.value.digest, v.value.status, v.effective_at) for v in versions],
            official_marks=[(m.value, m.effective_at) for m in marks],
            poles=[(p.value[0], p.value[1], p.effective_at) for p in poles],
            created_on=min(f.recorded_at for f in facts),
            modified_on=max(f.recorded_at for f in facts))

    def import_classification(self, championship: str, number: int,
                              rows: Sequence[ClassificationRow], *, status: str,
                              published_at: datetime | None, actor: str, source: str) -> Outcome:
        return self.publish_classification(championship, number, [r.to_record() for r in rows],
                                           status=status, published_at=published_at, actor=actor,
                                           source=source)

    def publish_classification(self, championship: str, number: int,
                               records: list[dict[str, Any]], *, status: str,
                               published_at: datetime | None, actor: str,
                               source: str) -> Outcome:
        """Record a classification given as row records (`ClassificationRow.to_record`'s shape,
        e.g. built straight from a validated message): stored as given, digested once."""
        defn = self.definition(championship)
        rnd = defn.round(number)
        if status not in STATUSES:
            raise InvalidInputError(f"status '{status}' is not one of {', '.join(STATUSES)}")
        self._check_classes(defn, records, source)
        effective_at = self._publication_time(championship, number, rnd.flag_at, status, published_at)
        agg = self._round(championship, number, effective_at=effective_at, actor=actor,
                          source=source, checked=True)
        # encoded once: digested here, written as they are by the store
        rows = records if isinstance(records, EncodedRows) else EncodedRows(records)
        digest = rows_digest(rows)
        if agg.has_version(digest, status):
            return Outcome(DUPLICATE, f"{championship} R{number}: this {status} classification is already recorded")
        if any(s == status and e == effective_at for _, s, e in agg.versions):
            raise ConflictingFactError(
                f"{championship} round {number} already has a different {status} classification "
                f"published at {effective_at.isoformat()}: give --published-at (when this version "
                "was published) so Paddock knows which one is in force"
            )
        agg.publish(status, digest, rows, effective_at, self.clock(), actor, source)
        return self._append(f"{championship} R{number} {status} classification recorded ({len(records)} cars)", agg)

    @staticmethod
    def _check_classes(defn: ChampionshipDefinition, records: list[dict[str, Any]],
                       source: str) -> None:
        """Every row's class (and group) is one of the championship's: each distinct pair is
        resolved once; an unknown one is named by the first row that has it."""
        unknown: set[tuple[str, str]] = set()
        for pair in set(map(_CLASS_AND_GROUP, records)):  # in C: a message has 40 rows
            try:
                defn.resolve_class(*pair)
            except UnknownClassError:
                unknown.add(pair)
        if not unknown:
            return
        first = next(r for r in records if (r["class"], r["group"]) in unknown)
        try:
            defn.resolve_class(first["class"], first["group"])
        except UnknownClassError as error:
            raise type(error)(f"car #{first['car']} (position {first['position']}): "
                              f"{error.message}", where=source) from None

    def _publication_time(self, championship: str, number: int, flag_at: datetime, status: str,
                          published_at: datetime | None) -> datetime:
        if published_at is not None:
            return require_aware(published_at, field="published_at")
        if status == OFFICIAL and self._decisions_after(championship, number, flag_at):
            raise InvalidInputError(
                f"{championship} round {number} has stewards' decisions after the flag: give --published-at so "
                "Paddock knows which of them this official classification already includes"
            )
        return flag_at

    def _decisions_after(self, championship: str, number: int, at: datetime) -> bool:
        changes = self.championship_state(championship).decisions.get((championship, number), {})
        return any(c.effective_at > at for cs in changes.values() for c in cs)

    def declare_official(self, championship: str, number: int, *, effective_at: datetime,
                         actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        agg = self._round(championship, number, effective_at=effective_at, actor=actor, source=source)
        if not agg.declare_official(effective_at, self.clock(), actor, source):
            return Outcome(DUPLICATE, f"{championship} R{number} was already official at that time")
        return self._append(f"{championship} R{number} declared official", agg)

    def record_pole(self, championship: str, number: int, class_id: str, car: str, *,
                    effective_at: datetime | None, actor: str, source: str) -> Outcome:
        defn = self.definition(championship)
        defn.class_def(class_id)
        at = require_aware(effective_at, field="effective_at") if effective_at else defn.round(number).flag_at
        self._check_car_class(championship, car, class_id)
        agg = self._round(championship, number, effective_at=at, actor=actor, source=source)
        other = [c for c, e in agg.poles.get(class_id, []) if e == at and c != car]
        if other:
            raise ConflictingFactError(
                f"{championship} R{number} {class_id} pole is already #{other[0]} at "
                f"{at.isoformat()}: to correct it, give the correction its own (later) effective_at"
            )
        if not agg.record_pole(class_id, car, at, self.clock(), actor, source):
            return Outcome(DUPLICATE, f"{championship} R{number} {class_id} pole #{car} already recorded")
        return self._append(f"{championship} R{number} {class_id} pole: #{car}", agg)

    def _car_classes(self, championship: str, car: str) -> set[str]:
        """The classes a car has been entered in: declared, or seen in imported classifications."""
        defn = self.definition(championship)
        classes = {e.class_id for e in defn.declared_entries(car)}
        for (cid, _), versions in self.championship_state(championship).classifications.items():
            if cid == championship:
                classes.update(defn.resolve_class(r["class"], r.get("group", ""))
                               for v in versions for r in v.value.rows if r["car"] == car)
        return classes

    def _check_car_class(self, championship: str, car: str, class_id: str) -> None:
        classes = self._car_classes(championship, car)
        if not classes:
            raise UnknownCarError(f"car #{car} is not an entry of {championship} "
                                  "(not declared and in no imported classification)")
        defn = self.definition(championship)
        if not any(class_id == c or class_id == defn.class_def(c).parent for c in classes):
            raise InvalidInputError(
                f"car #{car} races in {', '.join(sorted(classes))}, not in {class_id}"
            )

    # -- commands: stewards' decisions --------------------------------------------------------------

    def impose_penalty(self, championship: str, number: int, terms: DecisionTerms, *,
                       reference: str | None, reason: str, effective_at: datetime,
                       signed_by: Signer | None, actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        terms.check_bounds()
        check_text("reason", reason, TEXT_LENGTH)
        ref = reference or default_reference(terms, effective_at)
        signature = self._verified(Role.STEWARD, signed_by, penalty_statement(
            "penalty.imposed", championship, number, ref, terms=terms.to_record(),
            reason=reason, effective_at=effective_at))
        actor = signature.actor
        self._check_decision_target(championship, number, terms, effective_at)
        known = ref in self.championship_state(championship).decisions.get((championship, number), {})
        existing = known and self.find(StewardsDecision, championship=championship,
                                       round_number=number, reference=ref)
        if existing:
            if existing.is_same(terms.to_record(), effective_at):
                return Outcome(DUPLICATE, f"decision {ref} already recorded")
            raise existing.conflict()
        decision = StewardsDecision(championship=championship, round_number=number, reference=ref,
                                    terms=terms.to_record(), reason=reason,
                                    signature=signature.record.to_record(),
                                    effective_at=effective_at, recorded_at=self.clock(),
                                    actor=actor, source=source)
        return self._append(f"{championship} R{number} decision {ref}: #{terms.car} {terms.describe()}", decision)

    def _check_decision_target(self, championship: str, number: int, terms: DecisionTerms,
                               effective_at: datetime) -> None:
        self.definition(championship).round(number)
        versions = self.championship_state(championship).classifications.get((championship, number), [])
        first = min((v.effective_at for v in versions), default=None)
        if first is None:
            raise ClassificationMissingError(
                f"{championship} round {number} has no classification yet: import it before "
                "recording stewards' decisions on it"
            )
        if terms.kind.changes_classification and effective_at < first:
            raise TimeOrderError(
                f"{terms.describe()} for #{terms.car} takes effect at {effective_at.isoformat()}, "
                f"before the classification was first published ({first.isoformat()})"
            )
        self._check_car_in_round(championship, number, terms.car)
        if terms.kind is DecisionKind.POLE_STRIPPED:
            self._check_pole_holder(championship, number, terms.car, effective_at)

    def _check_pole_holder(self, championship: str, number: int, car: str, at: datetime) -> None:
        poles = self.championship_state(championship).poles.get((championship, number), [])
        held = [p for p in poles if p.value[1] == car and p.effective_at <= at]
        if not held:
            raise InvalidInputError(
                f"car #{car} held no pole at {championship} round {number} at {at.isoformat()}: "
                "nothing to strip"
            )

    def _check_car_in_round(self, championship: str, number: int, car: str) -> None:
        versions = self.championship_state(championship).classifications.get((championship, number), [])
        cars = sorted({r["car"] for v in versions for r in v.value.rows}, key=car_sort_key)
        if car not in cars:
            raise UnknownCarError(
                f"car #{car} is not in the classification of {championship} round {number} "
                f"(cars: {', '.join(cars)})"
            )

    def _decision(self, championship: str, number: int, reference: str) -> StewardsDecision:
        agg = self.find(StewardsDecision, championship=championship, round_number=number, reference=reference)
        if agg is None:
            raise UnknownDecisionError(f"no decision '{reference}' at {championship} round {number}")
        return agg

    def amend_penalty(self, championship: str, number: int, reference: str, terms: DecisionTerms, *,
                      reason: str, effective_at: datetime, signed_by: Signer | None, actor: str,
                      source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        terms.check_bounds()
        check_text("reason", reason, TEXT_LENGTH)
        signature = self._verified(Role.STEWARD, signed_by, penalty_statement(
            "penalty.amended", championship, number, reference, terms=terms.to_record(),
            reason=reason, effective_at=effective_at))
        agg = self._decision(championship, number, reference)
        if not agg.amend(terms, reason, signature.record.to_record(), effective_at,
                         self.clock(), signature.actor, source):
            return Outcome(DUPLICATE, f"decision {reference} already has these terms")
        return self._append(f"decision {reference} amended: {terms.describe()}", agg)

    def rescind_penalty(self, championship: str, number: int, reference: str, *, reason: str,
                        effective_at: datetime, signed_by: Signer | None, actor: str,
                        source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        signature = self._verified(Role.STEWARD, signed_by, penalty_statement(
            "penalty.rescinded", championship, number, reference, terms=None, reason=reason,
            effective_at=effective_at))
        agg = self._decision(championship, number, reference)
        if not agg.rescind(reason, signature.record.to_record(), effective_at,
                           self.clock(), signature.actor, source):
            return Outcome(DUPLICATE, f"decision {reference} was already rescinded")
        return self._append(f"decision {reference} rescinded", agg)

    # -- commands: awards and invitations ---------------------------------------------------------

    def grant_award(self, award: str, *, name: str, series: str, recipient: dict[str, Any],
                    effective_at: datetime, signed_by: Signer | None, actor: str,
                    source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        signature = self._verified(Role.OFFICIAL, signed_by, award_statement(
            award, name=name, series=series, recipient=recipient, effective_at=effective_at))
        if not recipient.get("driver") and not recipient.get("team"):
            raise InvalidInputError(f"award {award}: name a driver or a team as recipient")
        existing = self.find(Award, award=award)
        if existing is not None:
            if existing.recipient == recipient and existing.granted_at == effective_at:
                return Outcome(DUPLICATE, f"award {award} already recorded")
            raise ConflictingFactError(f"award {award} is already granted to {existing.recipient}")
        granted = Award(award=award, name=name, series=series, recipient=recipient,
                        signature=signature.record.to_record(), effective_at=effective_at,
                        recorded_at=self.clock(), actor=signature.actor, source=source)
        return self._append(f"award {award} granted", granted)

    def transition_invitation(self, event_id: str, route: str, status: str, *,
                              holder: dict[str, Any] | None, reason: str, effective_at: datetime,
                              actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        if self.find(TargetEvent, event_id=event_id) is None:
            raise UnknownTargetEventError(f"unknown target event '{event_id}'")
        view = invitations_view(self.event_state(event_id), event_id, effective_at, self.clock())
        routes = {r["route"]: r for r in view["routes"]}
        if route not in routes:
            raise InvalidInputError(f"{event_id} has no invitation route '{route}' "
                                    f"(routes: {', '.join(routes)})")
        agg = self.find(Invitation, event_id=event_id, route=route) or Invitation(
            event_id=event_id, route=route, effective_at=effective_at, recorded_at=self.clock(),
            actor=actor, source=source,
        )
        if agg.is_repeat(status, effective_at) or self._recorded_before(event_id, route, status,
                                                                         effective_at, holder):
            return Outcome(DUPLICATE, f"{event_id}/{route} already {status} at that time")
        if status == CONFIRMED and holder is None and agg.status is None:
            # only a first confirmation takes the computed holder; otherwise the lifecycle
            # check in `agg.transition` names the real problem (e.g. already confirmed)
            holder = _confirmable_holder(routes[route])
        if status in HOLDING:
            self._check_invitation_limit(event_id, route, holder or agg.holder, effective_at)
        agg.transition(status, holder, reason, effective_at, self.clock(), actor, source)
        return self._append(f"{event_id}/{route}: {status}", agg)


def _confirmable_holder(route: dict[str, Any]) -> dict[str, Any]:
    if route["status"] != EARNED or not route["holder"]:
        raise InvalidInputError(
            f"route {route['route']} has no earned holder to confirm (status {route['status']}"
            + (f": {'; '.join(route['notes'])}" if route["notes"] else "")
            + "); name the holder explicitly to confirm anyway"
        )
    return dict(route["holder"])


def default_reference(terms: DecisionTerms, effective_at: datetime) -> str:
    """A reference derived from content, so a resent decision is recognised as the same."""
    stamp = effective_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{terms.kind.value.replace('_', '-')}-car{terms.car}-{stamp}"

