"""A stewards' decision on one car at one round, with its amendments and rescinding (appeal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact
from domain.decisions import DecisionTerms
from domain.errors import ConflictingFactError, TimeOrderError
from domain.ids import decision_path, natural_id


class StewardsDecision(Aggregate):
    class PenaltyImposed(Aggregate.Created, Fact):
        championship: str
        round_number: int
        reference: str
        terms: dict[str, Any]
        reason: str
        signature: dict[str, str]

    class PenaltyAmended(Aggregate.Event, Fact):
        terms: dict[str, Any]
        reason: str
        signature: dict[str, str]

    class PenaltyRescinded(Aggregate.Event, Fact):
        reason: str
        signature: dict[str, str]

    @staticmethod
    def create_id(championship: str, round_number: int, reference: str, **_: Any) -> UUID:
        return natural_id(decision_path(championship, round_number, reference))

    @event(PenaltyImposed)
    def __init__(self, championship: str, round_number: int, reference: str,
                 terms: dict[str, Any], reason: str, signature: dict[str, str],
                 effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.championship = championship
        self.round_number = round_number
        self.reference = reference
        self.terms = terms
        self.reason = reason
        self.imposed_at = effective_at
        self.last_effective_at = effective_at
        self.rescinded = False

    @property
    def where(self) -> str:
        return f"decision '{self.reference}' ({self.championship} round {self.round_number})"

    def is_same(self, terms: dict[str, Any], effective_at: datetime) -> bool:
        return self.terms == terms and self.imposed_at == effective_at and self.version == 1

    def conflict(self) -> ConflictingFactError:
        return ConflictingFactError(
            f"{self.where} is already recorded with other terms; amend or rescind it instead"
        )

    def _check_after(self, effective_at: datetime) -> None:
        if effective_at < self.last_effective_at:
            raise TimeOrderError(
                f"{self.where}: {effective_at.isoformat()} is before its last change "
                f"({self.last_effective_at.isoformat()})"
            )
        if self.rescinded:
            raise ConflictingFactError(f"{self.where} was rescinded; impose a new decision")

    def amend(self, terms: DecisionTerms, reason: str, signature: dict[str, str],
              effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> bool:
        if terms.to_record() == self.terms:
            return False
        self._check_after(effective_at)
        if terms.car != self.terms["car"]:
            raise ConflictingFactError(f"{self.where} concerns car #{self.terms['car']}, not #{terms.car}")
        self._amended(terms.to_record(), reason, signature, effective_at, recorded_at, actor, source)
        return True

    @event(PenaltyAmended)
    def _amended(self, terms: dict[str, Any], reason: str, signature: dict[str, str],
                 effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.terms = terms
        self.last_effective_at = effective_at

    def rescind(self, reason: str, signature: dict[str, str], effective_at: datetime,
                recorded_at: datetime, actor: str, source: str) -> bool:
        if self.rescinded:
            return False
        self._check_after(effective_at)
        self._rescinded(reason, signature, effective_at, recorded_at, actor, source)
        return True

    @event(PenaltyRescinded)
    def _rescinded(self, reason: str, signature: dict[str, str], effective_at: datetime,
                   recorded_at: datetime, actor: str, source: str) -> None:
        self.rescinded = True
        self.last_effective_at = effective_at
