"""From a producer's message to facts in the log, synchronously: validate against the contracts,
recognise resends by a permanent receipt, run the command, classify every rejection.

The asyncio worker (infra/workers/ingest_worker.py) calls `IngestService.validate` then
`IngestService.process_batch` in threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from domain.aggregates.ingest_receipt import IngestReceipt
from domain.authority import ForbiddenError, check_role, role_of
from domain.classification import check_records, check_rows
from domain.errors import (
    PaddockError,
    SignatureError,
    UnknownCarError,
    UnknownChampionshipError,
    UnknownClassError,
    UnknownDecisionError,
    UnknownRoundError,
    UnknownTargetEventError,
)
from domain.partitions import receipt_partition
from domain.timing import race_seconds_text
from services import contracts as c
from services.classification_records import ClassificationRecords, classification_records
from services.importing import register_season_file
from services.ingest_headers import ACTOR, BAD_HEADER, given_message_id, header_fault
from services.ingest_subjects import (
    KEY_FIELDS,
    IngestSubject,
    SubjectError,
    key_of,
    partition_key,
    subject_for,
)
from services.ledger import Ledger
from services.message_signing import presented, recipient_of, terms_of
from services.outcome import ACCEPTED, DUPLICATE, Outcome
from services.row_json import EncodedRows
from services.season_files import parse_season_text

REJECTED = "rejected"
WRONG_PARTITION = "wrong_partition"
Message = c.Contract | ClassificationRecords
"""A validated message: a contract, or a classification validated straight into its records."""
MAX_MESSAGE_BYTES = 256 * 1024

REASONS: dict[type[PaddockError], str] = {
    ForbiddenError: "forbidden",
    SignatureError: "bad_signature",
    UnknownChampionshipError: "unknown_championship",
    UnknownRoundError: "unknown_round",
    UnknownCarError: "unknown_car",
    UnknownClassError: "unknown_class",
    UnknownTargetEventError: "unknown_target_event",
    UnknownDecisionError: "unknown_decision",
}


@dataclass(frozen=True)
class IngestResult:
    status: str
    message_id: str
    what: str = ""
    positions: tuple[int, ...] = ()
    reason: str | None = None
    detail: str | None = None
    scope: str | None = None  # the championship or target event the message concerns, for logs

    def reply(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "message_id": self.message_id}
        if self.status == REJECTED:
            body.update(reason=self.reason, detail=self.detail)
        else:
            body.update(what=self.what, positions=list(self.positions))
        return body


@dataclass
class Delivery:
    subject: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @cached_property
    def message_id(self) -> str:
        """The producer's id; a content digest when it gave none or a malformed one (which
        `IngestService` rejects, so it never keys a receipt)."""
        given = given_message_id(self.headers)
        if given:
            return given
        return hashlib.sha256(self.subject.encode() + b"\0" + self.payload).hexdigest()

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


class IngestService:
    def __init__(self, ledger: Ledger, *, prefix: str = "paddock",
                 max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.ledger = ledger
        self.prefix = prefix
        self.max_bytes = max_bytes

    def process(self, delivery: Delivery) -> IngestResult:
        """Never raises for bad input: every problem becomes a rejected result."""
        mid = delivery.message_id
        try:
            message = self._validate(delivery)
            return replace(self._record(delivery, message), scope=_scope(message))
        except _Rejection as rejection:
            return IngestResult(REJECTED, mid, reason=rejection.reason, detail=rejection.detail)
        except PaddockError as error:
            reason = _reason(error)
            return IngestResult(REJECTED, mid, reason=reason, detail=str(error))

    def validate(self, deliveries: list[Delivery]) -> list[Validated]:
        """Each delivery validated: its message, or why it is rejected. Reads no store, so the
        worker runs it outside its turn, in another thread, while the batch before is being
        appended (whose commit waits on the disk without the GIL)."""
        validated: list[Validated] = []
        for delivery in deliveries:
            try:
                validated.append(self._validate(delivery))
            except _Rejection as rejection:
                validated.append(rejection)
        return validated

    def process_batch(self, deliveries: list[Delivery],
                      validated: list[Validated] | None = None) -> list[IngestResult]:
        """Validate a fetched batch (unless `validate` already did: `validated`), then append
        it in as few transactions as correctness allows: consecutive messages that touch nothing
        another one of the run writes share one transaction; a message that depends on one
        before it starts a new run."""
        if validated is None:
            validated = self.validate(deliveries)
        results: list[IngestResult | None] = [None] * len(deliveries)
        run: list[_Planned] = []
        written = _Writes()
        for index, (delivery, message) in enumerate(zip(deliveries, validated, strict=True)):
            if isinstance(message, _Rejection):
                results[index] = IngestResult(REJECTED, delivery.message_id, reason=message.reason,
                                              detail=message.detail)
                continue
            planned = _Planned(index, delivery, message, _footprint(message, delivery.message_id))
            if written.touched_by(planned.footprint):
                self._commit_run(run, results)
                run, written = [], _Writes()
            run.append(planned)
            written.add(planned.footprint)
        self._commit_run(run, results)
        return [r for r in results if r is not None]

    def _commit_run(self, run: list[_Planned], results: list[IngestResult | None]) -> None:
        if not run:
            return
        staged: list[tuple[_Planned, _Staged]] = []
        try:
            received = self._received([p.delivery.message_id for p in run])
            with self.ledger.one_read(), self.ledger.deferred() as pending:
                staged = [(p, self._stage(p, pending, received)) for p in run]
            recordings = self.ledger.save(*pending) if pending else []
        except IntegrityError:  # a concurrent writer got there first: one by one, re-checked
            for p in run:
                results[p.index] = self.process(p.delivery)
            return
        where = {(r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
                 for r in recordings}
        for p, result in staged:
            positions = tuple(where[k] for k in result.pending_events if k in where)
            results[p.index] = IngestResult(result.status, result.message_id, result.what,
                                            positions or result.positions, result.reason,
                                            result.detail, _scope(p.message))

    def _received(self, message_ids: list[str]) -> set[str]:
        """Which of these messages already have a receipt: one read of their receipt
        partitions for a run, not one aggregate read per message (a receipt a concurrent writer
        records meanwhile makes the run's save fail, and its messages are looked at again)."""
        found = self.ledger.read_partitions(receipt_partition(m) for m in message_ids)
        return {e.message_id for _, e in found if isinstance(e, IngestReceipt.Received)}

    def _stage(self, planned: _Planned, pending: list[Any], received: set[str]) -> _Staged:
        delivery = planned.delivery
        try:
            earlier = self._receipt(delivery.message_id) if delivery.message_id in received else None
            if earlier is not None:
                return _Staged.of(self._duplicate_of(earlier, delivery))
            receipt = self._new_receipt(delivery)
            with self.ledger.also_saving(receipt):
                outcome = self._dispatch(planned.message, delivery)
            if outcome.status == DUPLICATE:
                pending.append(receipt)
            return _Staged(outcome.status, delivery.message_id, outcome.what,
                           pending_events=outcome.pending)
        except _Rejection as rejection:
            return _Staged(REJECTED, delivery.message_id, "", (), rejection.reason, rejection.detail)
        except PaddockError as error:
            reason = _reason(error)
            return _Staged(REJECTED, delivery.message_id, "", (), reason, str(error))

    def _validate(self, delivery: Delivery) -> Message:
        fault = header_fault(delivery.headers)
        if fault:
            raise _Rejection(BAD_HEADER, fault)
        if len(delivery.payload) > self.max_bytes:
            raise _Rejection("oversized", f"{len(delivery.payload)} bytes; the limit is {self.max_bytes}")
        records = classification_records(delivery.payload)  # the rows as stored, in one pass
        if records is not None:
            self._check_subject(delivery.subject, records.kind, key_of(records.championship))
            return records
        try:  # parsing and validating in one pass (pydantic-core) is twice as fast
            message: c.Contract = c.MESSAGE.validate_json(delivery.payload)
        except ValidationError as error:
            if any(e["type"] == "json_invalid" for e in error.errors()):
                raise _Rejection("invalid_json", _describe(error)) from None
            raise _Rejection("schema_violation", _describe(error)) from None
        self._check_subject(delivery.subject, c.kind_of(type(message)), partition_key(message))
        return message

    def _check_subject(self, subject: str, kind: str, key: str | None) -> None:
        """The server's permissions let a role publish only under its own token; checking the
        token against the kind here means a message cannot smuggle another role's fact. A
        partitioned subject must carry the message's own partition key: in another key's group
        it would not be ordered with the other messages of its championship."""
        expected = subject_for(kind, key, self.prefix)
        try:
            parsed = IngestSubject.parse(subject, self.prefix)
        except SubjectError as error:
            raise _Rejection("schema_violation", f"{error}; a {kind} message belongs on "
                                                 f"{expected}") from None
        if parsed.kind != kind or parsed.role != role_of(kind).value:
            try:
                check_role(kind, parsed.role)
            except ForbiddenError as error:
                raise _Rejection("forbidden", f"{error.message} (published on {subject})") from None
            raise _Rejection("schema_violation", f"a {kind} message belongs on {expected}, "
                                                 f"not {subject}")
        if parsed.key is not None and key is not None and parsed.key != key:
            raise _Rejection(WRONG_PARTITION, (
                f"its {KEY_FIELDS[kind]} gives the partition key '{key}': publish it on "
                f"{expected}, not {subject} (a message in another key's group is not ordered "
                "with the other messages of its championship or event)"))

    def _record(self, delivery: Delivery, message: Message) -> IngestResult:
        mid = delivery.message_id
        for attempt in range(2):
            earlier = self._receipt(mid)
            if earlier is not None:
                return self._duplicate_of(earlier, delivery)
            receipt = self._new_receipt(delivery)
            try:
                with self.ledger.one_read(), self.ledger.also_saving(receipt):
                    outcome = self._dispatch(message, delivery)
                if outcome.status == DUPLICATE:
                    self.ledger.save(receipt)
                return IngestResult(outcome.status, mid, outcome.what, outcome.positions)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _receipt(self, message_id: str) -> IngestReceipt | None:
        """A concurrent writer's receipt makes our save fail, then we look again."""
        return self.ledger.find(IngestReceipt, message_id=message_id)

    def _duplicate_of(self, earlier: IngestReceipt, delivery: Delivery) -> IngestResult:
        if earlier.digest != delivery.digest:
            raise _Rejection("message_id_reused",
                             f"message id {delivery.message_id} was used on "
                             f"{earlier.recorded_at.isoformat()} for different content")
        position = self.ledger.receipt_position(delivery.message_id)
        return IngestResult(DUPLICATE, delivery.message_id,
                            f"already received: {earlier.what}", (position,) if position else ())

    def _new_receipt(self, delivery: Delivery) -> IngestReceipt:
        now = self.ledger.clock()
        return IngestReceipt(
            message_id=delivery.message_id, subject=delivery.subject, digest=delivery.digest,
            outcome=ACCEPTED, what=delivery.subject, effective_at=now, recorded_at=now,
            actor=self._actor(delivery), source=f"nats:{delivery.subject}",
        )

    def _actor(self, delivery: Delivery) -> str:
        return delivery.headers.get(ACTOR) or f"nats:{delivery.subject}"

    def _dispatch(self, message: Message, delivery: Delivery) -> Outcome:
        handler = _HANDLERS[type(message)]
        return handler(self.ledger, message, self._actor(delivery), f"nats:{delivery.message_id}")


@dataclass(frozen=True)
class _Staged(IngestResult):
    pending_events: tuple[tuple[object, int], ...] = ()

    @classmethod
    def of(cls, result: IngestResult) -> _Staged:
        return cls(result.status, result.message_id, result.what, result.positions, result.reason,
                   result.detail)


@dataclass(frozen=True)
class Footprint:
    """What a message reads and writes, as keys; `*` at the end of a key is a wildcard."""

    reads: frozenset[str]
    writes: frozenset[str]



class _Writes:
    """The keys a run writes, for a quick "does this message depend on the run?"."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.scopes: set[str] = set()  # "round:c:" for "round:c:5": what a wildcard read matches
        self.everything = False

    def add(self, footprint: Footprint) -> None:
        for key in footprint.writes:
            if key == "*":
                self.everything = True
            self.exact.add(key)
            self.scopes.add(key.rsplit(":", 1)[0] + ":")

    def touched_by(self, footprint: Footprint) -> bool:
        """True if the message reads or writes something the run writes."""
        if self.everything and self.exact:
            return True
        for key in footprint.reads | footprint.writes:
            if key == "*":
                return bool(self.exact)
            if key.endswith(":*") and key[:-1] in self.scopes:
                return True
            if key in self.exact:
                return True
        return False


def _scope(m: Message) -> str | None:
    value = getattr(m, "championship", None) or getattr(m, "event", None)
    return str(value) if value else None


def _footprint(m: Message, message_id: str) -> Footprint:
    receipt = f"receipt:{message_id}"
    reads: set[str] = {receipt}
    writes: set[str] = {receipt}
    if isinstance(m, (ClassificationRecords, c.ClassificationPublishedV1, c.ClassificationOfficialV1,
                      c.PenaltyImposedV1, c.PenaltyRescindedV1)):
        reads |= {f"def:{m.championship}", f"round:{m.championship}:{m.round}"}
        writes.add(f"round:{m.championship}:{m.round}")
    elif isinstance(m, c.PolePositionV1):
        reads |= {f"def:{m.championship}", f"round:{m.championship}:*"}
        writes.add(f"round:{m.championship}:{m.round}")
    elif isinstance(m, c.AwardDecidedV1):
        writes.add(f"award:{m.award}")
    elif isinstance(m, c.TieResolvedV1):
        reads.add(f"def:{m.championship}")
        writes.add(f"tie:{m.championship}")
    else:  # seasons and invitation decisions read or change everything: run alone
        reads.add("*")
        writes.add("*")
    return Footprint(frozenset(reads), frozenset(writes))


@dataclass(frozen=True)
class _Planned:
    index: int
    delivery: Delivery
    message: Message
    footprint: Footprint


def _reason(error: PaddockError) -> str:
    """The rejection class a producer sees for a domain error."""
    return next((r for t, r in REASONS.items() if isinstance(error, t)), "business_rule")


class _Rejection(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


Validated = Message | _Rejection
"""A delivery after validation: its message, or why it is rejected."""


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors()[:10]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        parts.append(f"{loc or 'message'}: {e['msg']}")
    return "; ".join(parts)


def row_records(message: c.ClassificationPublishedV1) -> EncodedRows:
    """The validated rows as the classification event stores them, built straight from the
    contract's rows: the same records, keys in the same (sorted) order, as
    `ClassificationRow.to_record` of the rows a file import parses; encoded once, as plain
    values (the contract made them strings, integers, lists of strings and None)."""
    return EncodedRows((
        {"car": r.car, "class": r.class_, "drivers": list(r.drivers), "group": r.group,
         "laps": r.laps, "position": r.position, "status": r.status, "team": r.team,
         "total_time": None if r.total_time is None else race_seconds_text(r.total_time),
         "vehicle": r.vehicle}
        for r in message.rows), plain=True)


def _classification(ledger: Ledger, m: Any, actor: str, source: str) -> Outcome:
    records = row_records(m)
    check_rows(m.rows, where=f"{m.championship} round {m.round}")
    return ledger.publish_classification(m.championship, m.round, records, status=m.status,
                                         published_at=m.published_at, actor=actor, source=source)


def _recorded_classification(ledger: Ledger, m: ClassificationRecords, actor: str,
                             source: str) -> Outcome:
    """A classification validated into its records: checked and stored as they are."""
    records = m.encoded
    check_records(records, where=f"{m.championship} round {m.round}")
    return ledger.publish_classification(m.championship, m.round, records, status=m.status,
                                         published_at=m.published_at, actor=actor, source=source)


_Handler = Callable[[Ledger, Any, str, str], Outcome]
_HANDLERS: dict[type[Message], _Handler] = {
    ClassificationRecords: _recorded_classification,
    c.ClassificationPublishedV1: _classification,
    c.ClassificationCorrectedV1: _classification,
    c.ClassificationOfficialV1: lambda L, m, a, s: L.declare_official(
        m.championship, m.round, effective_at=m.effective_at, actor=a, source=s),
    c.PolePositionV1: lambda L, m, a, s: L.record_pole(
        m.championship, m.round, m.class_, m.car, effective_at=m.effective_at, actor=a, source=s),
    c.PenaltyImposedV1: lambda L, m, a, s: L.impose_penalty(
        m.championship, m.round, terms_of(m), reference=m.reference, reason=m.reason,
        effective_at=m.effective_at, signed_by=presented(m), actor=a, source=s),
    c.PenaltyAmendedV1: lambda L, m, a, s: L.amend_penalty(
        m.championship, m.round, m.reference, terms_of(m), reason=m.reason,
        effective_at=m.effective_at, signed_by=presented(m), actor=a, source=s),
    c.PenaltyRescindedV1: lambda L, m, a, s: L.rescind_penalty(
        m.championship, m.round, m.reference, reason=m.reason, effective_at=m.effective_at,
        signed_by=presented(m), actor=a, source=s),
    c.AwardDecidedV1: lambda L, m, a, s: L.grant_award(
        m.award, name=m.name, series=m.series, recipient=recipient_of(m.recipient) or {},
        effective_at=m.effective_at, signed_by=presented(m), actor=a, source=s),
    c.InvitationTransitionV1: lambda L, m, a, s: L.transition_invitation(
        m.event, m.route, m.status, holder=recipient_of(m.holder), reason=m.reason,
        effective_at=m.effective_at, actor=a, source=s),
    c.SeasonRegisteredV1: lambda L, m, a, s: register_season_file(
        L, parse_season_text(m.text, source="message"), actor=a, source=s),
    c.TieResolvedV1: lambda L, m, a, s: L.resolve_tie(
        m.championship, m.class_, list(m.order), reference=m.reference, reason=m.reason,
        effective_at=m.effective_at, signed_by=presented(m), actor=a, source=s),
}

__all__ = ["REJECTED", "Delivery", "IngestResult", "IngestService", "Validated"]
