"""A round as it stood at (as_of, known_at): the classification in force with the stewards'
decisions applied, its status, poles and points deductions.

A published classification is taken to include every decision effective at or before its
publication (that is how an official file is made). Decisions effective later are applied on top;
a decision rescinded or amended after being folded into a file is reversed on it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.classification import Adjustment, ClassificationRow, ResultStatus, apply_adjustments
from domain.decisions import DecisionKind, DecisionTerms
from domain.race_status import OFFICIAL
from domain.rules import ChampionshipDefinition
from domain.standings import RoundResult
from projections.ledger import (
    CHANGE_RANK,
    ClassificationVersion,
    DecisionChange,
    LedgerState,
    Recorded,
    RoundKey,
    content_key,
    winner,
)


@dataclass(frozen=True)
class AppliedDecision:
    reference: str
    terms: DecisionTerms
    position: int
    reason: str


@dataclass(frozen=True)
class RoundState:
    number: int
    status: str
    published_at: datetime
    version_position: int
    rows: tuple[ClassificationRow, ...]
    poles: dict[str, str]
    deductions: dict[str, Decimal]
    decisions: tuple[AppliedDecision, ...] = field(default=())


@dataclass
class RoundMemo:
    """A round as computed from the facts named by `signature`, and its scores per class as the
    standings ask for them (`SeasonAt.score`)."""

    signature: Hashable
    state: RoundState | None
    scores: dict[str, list[RoundResult]] = field(default_factory=dict)


def remembered_round(state: LedgerState, defn: ChampionshipDefinition, definition_key: Hashable,
                     number: int, as_of: datetime, known_at: datetime) -> RoundMemo:
    """`round_state`, computed again only when the facts it reads changed. A round is a function
    of the definition (`definition_key` names its version and the declared entries merged into
    it) and of the round's visible facts: `as_of` enters only through visibility (every other
    comparison with it is of a fact already visible, so effective by then)."""
    key: RoundKey = (defn.id, number)
    signature = (definition_key, _visible_positions(state, key, as_of, known_at))
    memo: RoundMemo | None = state.rounds_memo.get(key)
    if memo is None or memo.signature != signature:
        memo = RoundMemo(signature, round_state(state, defn, number, as_of, known_at))
        state.rounds_memo[key] = memo
    return memo


def _visible_positions(state: LedgerState, key: RoundKey, as_of: datetime,
                       known_at: datetime) -> tuple[tuple[int, ...], ...]:
    facts: list[Sequence[Recorded[Any]]] = [state.classifications.get(key, []),
                                             state.official_marks.get(key, []),
                                             state.poles.get(key, [])]
    facts += state.decisions.get(key, {}).values()
    return tuple(tuple(f.position for f in kind if f.visible(as_of, known_at)) for kind in facts)


def _version_key(v: ClassificationVersion) -> tuple[int, str]:
    return (1 if v.status == OFFICIAL else 0, v.digest)


def round_state(state: LedgerState, defn: ChampionshipDefinition, number: int,
                as_of: datetime, known_at: datetime) -> RoundState | None:
    key: RoundKey = (defn.id, number)
    versions = [v for v in state.classifications.get(key, []) if v.visible(as_of, known_at)]
    current = winner(versions, key=_version_key)
    if current is None:
        return None
    changes = _visible_changes(state, key, as_of, known_at)
    decisions = _decisions_in_force(changes, as_of)
    adjustments = _adjustments(state, key, changes, current.effective_at, as_of, known_at)
    rows = tuple(_in_class(defn, number, r)
                 for r in apply_adjustments(current.value.parsed_rows, adjustments))
    return RoundState(
        number=number,
        status=_status(state, key, current, as_of, known_at),
        published_at=current.effective_at,
        version_position=current.position,
        rows=rows,
        poles=_poles(state, key, decisions, as_of, known_at),
        deductions=_deductions(decisions),
        decisions=tuple(decisions),
    )


def poles_at(state: LedgerState, championship: str, number: int, as_of: datetime,
             known_at: datetime) -> dict[str, str]:
    """The poles in force, class → car, with or without a classification: a pole is earned in
    qualifying and counts from its own effective time (a stripping ends it from the decision's)."""
    key: RoundKey = (championship, number)
    decisions = _decisions_in_force(_visible_changes(state, key, as_of, known_at), as_of)
    return _poles(state, key, decisions, as_of, known_at)


def _in_class(defn: ChampionshipDefinition, number: int, row: ClassificationRow
              ) -> ClassificationRow:
    """The row with its class resolved (the row itself when the file already names it)."""
    class_name = _class_of(defn, number, row)
    return row if class_name == row.class_name else replace(row, class_name=class_name)


def _class_of(defn: ChampionshipDefinition, number: int, row: ClassificationRow) -> str:
    """The class of the car's declared entry for this round, else the timing file's."""
    declared = defn.declared_entry(row.car, number)
    if declared is not None:
        return declared.class_id
    return defn.resolve_class(row.class_name, row.group)


def _status(state: LedgerState, key: RoundKey, current: Recorded[ClassificationVersion],
            as_of: datetime, known_at: datetime) -> str:
    if current.value.status == OFFICIAL:
        return OFFICIAL
    marks = [m for m in state.official_marks.get(key, []) if m.visible(as_of, known_at)]
    if any(m.effective_at >= current.effective_at for m in marks):
        return OFFICIAL
    return current.value.status


def _terms_at(changes: Sequence[Recorded[DecisionChange]], at: datetime) -> DecisionChange | None:
    """The decision as it stood at `at`: None before it was imposed or after it was rescinded.
    The latest change wins; at equal times rescinded > amended > imposed, then content."""
    in_force = [c for c in changes if c.effective_at <= at]
    if not in_force:
        return None
    top = max((c.effective_at, CHANGE_RANK[c.value.change]) for c in in_force)
    tied = [c for c in in_force if (c.effective_at, CHANGE_RANK[c.value.change]) == top]
    latest = tied[0] if len(tied) == 1 else max(tied, key=lambda c: content_key(c.value.terms))
    return latest.value if latest.value.terms is not None else None


def _visible_changes(state: LedgerState, key: RoundKey, as_of: datetime, known_at: datetime
                     ) -> dict[str, list[Recorded[DecisionChange]]]:
    visible = {}
    for ref, changes in sorted(state.decisions.get(key, {}).items()):
        seen = [c for c in changes if c.visible(as_of, known_at)]
        if seen:
            visible[ref] = seen
    return visible


def _decisions_in_force(visible: dict[str, list[Recorded[DecisionChange]]], as_of: datetime
                        ) -> list[AppliedDecision]:
    result = []
    for ref, changes in visible.items():
        now = _terms_at(changes, as_of)
        if now is not None and now.parsed is not None:
            position = max(c.position for c in changes)
            result.append(AppliedDecision(ref, now.parsed, position, now.reason))
    return result


def _adjustments(state: LedgerState, key: RoundKey,
                 visible: dict[str, list[Recorded[DecisionChange]]], published_at: datetime,
                 as_of: datetime, known_at: datetime) -> dict[str, Adjustment]:
    """Per car: time and laps are the sum of (in force now − folded into the file); the status is
    that of the latest status decision in force, else, if one folded into the file was undone,
    the car's status before it, else the file's."""
    per_car: dict[str, list[_DecisionSpan]] = {}
    for changes in visible.values():
        if not changes:
            continue
        span = _DecisionSpan(
            folded=_classification_terms(_terms_at(changes, published_at)),
            now=_classification_terms(_terms_at(changes, as_of)),
            now_since=max((c.effective_at for c in changes if c.effective_at <= as_of), default=None),
            imposed_at=min(c.effective_at for c in changes),
        )
        if span.car is not None:
            per_car.setdefault(span.car, []).append(span)
    adjustments = {}
    for car, spans in sorted(per_car.items()):
        adjustment = _car_adjustment(state, key, car, spans, as_of, known_at)
        if adjustment != Adjustment():
            adjustments[car] = adjustment
    return adjustments


@dataclass(frozen=True)
class _DecisionSpan:
    folded: DecisionTerms | None
    now: DecisionTerms | None
    now_since: datetime | None
    imposed_at: datetime

    @property
    def car(self) -> str | None:
        terms = self.now or self.folded
        return terms.car if terms else None


def _car_adjustment(state: LedgerState, key: RoundKey, car: str, spans: list[_DecisionSpan],
                    as_of: datetime, known_at: datetime) -> Adjustment:
    def delta(span: _DecisionSpan) -> Adjustment:
        now = span.now.adjustment() if span.now else Adjustment()
        folded = span.folded.adjustment() if span.folded else Adjustment()
        return Adjustment(now.seconds - folded.seconds, now.laps - folded.laps)

    seconds = sum((delta(s).seconds for s in spans), Decimal(0))
    laps = sum(delta(s).laps for s in spans)
    in_force = [s for s in spans if s.now and s.now.adjustment().status is not None]
    undone = [s for s in spans if s.folded and s.folded.adjustment().status is not None
              and not (s.now and s.now.adjustment().status is not None)]
    status: ResultStatus | None = None
    if in_force:
        latest = max(in_force, key=lambda s: (s.now_since, s.now.kind.value if s.now else ""))
        status = latest.now.adjustment().status if latest.now else None
    elif undone:
        first = min(undone, key=lambda s: s.imposed_at)
        status = _status_before(state, key, car, first.imposed_at, as_of, known_at) or ResultStatus.CLASSIFIED
    return Adjustment(seconds=seconds, laps=laps, status=status)


def _status_before(state: LedgerState, key: RoundKey, car: str, at: datetime, as_of: datetime,
                   known_at: datetime) -> ResultStatus | None:
    """The car's status in the classification in force just before a decision took effect, so
    undoing a disqualification restores e.g. `not_classified`, not always `classified`."""
    earlier = [v for v in state.classifications.get(key, [])
               if v.visible(as_of, known_at) and v.effective_at < at]
    current = winner(earlier, key=_version_key)
    row = next((r for r in current.value.rows if r["car"] == car), None) if current else None
    return ResultStatus(row["status"]) if row else None


def _classification_terms(change: DecisionChange | None) -> DecisionTerms | None:
    if change is None or change.parsed is None:
        return None
    return change.parsed if change.parsed.kind.changes_classification else None


def _poles(state: LedgerState, key: RoundKey, decisions: Sequence[AppliedDecision],
           as_of: datetime, known_at: datetime) -> dict[str, str]:
    by_class: dict[str, list[Recorded[tuple[str, str]]]] = {}
    for pole in state.poles.get(key, []):
        if pole.visible(as_of, known_at):
            by_class.setdefault(pole.value[0], []).append(pole)
    stripped = {d.terms.car for d in decisions if d.terms.kind is DecisionKind.POLE_STRIPPED}
    poles = {}
    for class_id, facts in sorted(by_class.items()):
        current = winner(facts)
        if current is not None and current.value[1] not in stripped:
            poles[class_id] = current.value[1]
    return poles


def _deductions(decisions: Sequence[AppliedDecision]) -> dict[str, Decimal]:
    deductions: dict[str, Decimal] = {}
    for d in decisions:
        if d.terms.kind is DecisionKind.POINTS_DEDUCTION and d.terms.points is not None:
            deductions[d.terms.car] = deductions.get(d.terms.car, Decimal(0)) + d.terms.points
    return deductions
