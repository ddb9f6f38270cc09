"""Standings of a championship at (as_of, known_at), as a canonical, self-describing view."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from domain.errors import UnknownChampionshipError, UnknownClassError
from domain.race_status import OFFICIAL
from domain.rules import ChampionshipDefinition, ClassDef, DeclaredEntry, merge_entries
from domain.standings import (
    Placed,
    RoundInput,
    RoundResult,
    TieDecision,
    class_standings,
    driver_standings,
    score_round,
)
from projections.canonical import Encoded
from projections.ledger import LedgerState, Recorded, winner
from projections.partition_scope import championship_scope
from projections.round_state import RoundState, poles_at, remembered_round


@dataclass(frozen=True)
class SeasonAt:
    """A championship's definition and rounds as they stood at (as_of, known_at). `rounds`
    are the rounds with a classification in force; `early_poles` the poles (class → car) of
    the other rounds: they score before the race is classified."""

    definition: ChampionshipDefinition
    rules_version: int
    rounds: dict[int, RoundState]
    ties: tuple[TieDecision, ...]
    early_poles: dict[int, dict[str, str]] = field(default_factory=dict)
    scores: dict[int, dict[str, list[RoundResult]]] = field(default_factory=dict, compare=False)
    """Round → class → its scores, filled as asked; a published round's dict is the round's memo
    (`RoundMemo.scores`), so a round unchanged since the last season is not scored again."""
    definition_key: Hashable = field(default=(), compare=False)
    """The definition's version and the declared entries merged into it (what `definition`
    is a function of)."""
    memo: dict[Hashable, Any] = field(default_factory=dict, compare=False)
    """The state's `views_memo`: the last scores of each round and class (`score`), and the
    parts of the view (`standings_view`), kept while their inputs are the same objects."""

    @property
    def complete(self) -> bool:
        """Every round of the calendar has an official classification."""
        return all(
            r.number in self.rounds and self.rounds[r.number].status == OFFICIAL
            for r in self.definition.rounds
        )

    def inputs(self) -> list[RoundInput]:
        published = {n: RoundInput(self.definition.round(n), s.rows, s.poles, s.deductions)
                     for n, s in self.rounds.items()}
        early = {n: RoundInput(self.definition.round(n), (), poles)
                 for n, poles in self.early_poles.items()}
        return [inp for _, inp in sorted({**early, **published}.items())]

    def poles(self, number: int) -> dict[str, str]:
        rs = self.rounds.get(number)
        return rs.poles if rs else self.early_poles.get(number, {})

    def standings(self, class_id: str) -> list[Placed]:
        return class_standings(self.definition, self.inputs(), class_id, self.ties, self.score)

    def score(self, defn: ChampionshipDefinition, rnd: RoundInput, class_id: str
              ) -> list[RoundResult]:
        """`score_round`, once per round and class (the car and driver standings share it)."""
        by_class = self.scores.setdefault(rnd.definition.number, {})
        found = by_class.get(class_id)
        if found is None:
            found = by_class[class_id] = self._same(rnd.definition.number, class_id,
                                                    score_round(defn, rnd, class_id))
        return found

    def _same(self, number: int, class_id: str, scores: list[RoundResult]) -> list[RoundResult]:
        """The scores last computed for this round and class when equal to these: a decision
        in one class gives a new round, but the other classes keep their scores' identity, so
        their blocks are found again (`class_block`)."""
        slot = ("scores", self.definition.id, number, class_id)
        before = self.memo.get(slot)
        if before is not None and before == scores:
            return before  # type: ignore[no-any-return]
        self.memo[slot] = scores
        return scores


def season_at(state: LedgerState, championship: str, as_of: datetime, known_at: datetime) -> SeasonAt:
    versions = [v for v in state.championships.get(championship, []) if v.visible(as_of, known_at)]
    current = winner(versions)
    if current is None:
        raise UnknownChampionshipError(_unknown_message(state, championship, as_of, known_at))
    declared = [e for e in state.entries.get(championship, []) if e.visible(as_of, known_at)]
    defn = _with_declared_entries(ChampionshipDefinition.from_record(current.value), declared)
    definition_key = (current.position, tuple(e.position for e in declared))
    rounds, early_poles, scores = {}, {}, {}
    for rnd in defn.rounds:
        memo = remembered_round(state, defn, definition_key, rnd.number, as_of, known_at)
        if memo.state is not None:
            rounds[rnd.number] = memo.state
            scores[rnd.number] = memo.scores
        elif poles := poles_at(state, championship, rnd.number, as_of, known_at):
            early_poles[rnd.number] = poles
    ties = tuple(
        TieDecision(t.value.class_id, t.value.order, t.value.reference)
        for t in sorted(
            (t for t in state.ties.get(championship, []) if t.visible(as_of, known_at)),
            key=lambda t: (t.effective_at, t.value.reference),
        )
    )
    version = sorted(versions, key=lambda v: (v.effective_at, v.position)).index(current) + 1
    return SeasonAt(defn, version, rounds, ties, early_poles, scores, definition_key,
                    state.views_memo)


def _unknown_message(state: LedgerState, championship: str, as_of: datetime, known_at: datetime) -> str:
    if championship in state.championships:
        return (f"championship '{championship}' was not yet registered at as_of={as_of.isoformat()}"
                f" / known_at={known_at.isoformat()}")
    known = ", ".join(sorted(state.championships)) or "none registered"
    return f"unknown championship '{championship}' (known: {known})"


def _with_declared_entries(defn: ChampionshipDefinition,
                           declared: list[Recorded[dict[str, Any]]]) -> ChampionshipDefinition:
    """Entries declared after the definition replace its entries for the rounds they cover."""
    if not declared:
        return defn
    entries = defn.entries
    for fact in sorted(declared, key=lambda f: (f.effective_at, f.position)):
        entries = merge_entries(entries, DeclaredEntry.from_record(fact.value))
    return replace(defn, entries=entries)


def standings_view(state: LedgerState, championship: str, as_of: datetime, known_at: datetime,
                   class_id: str | None = None, *, season: SeasonAt | None = None) -> dict[str, Any]:
    """`season`, when given, must be `season_at(state, championship, as_of, known_at)`."""
    season = season or season_at(state, championship, as_of, known_at)
    defn = season.definition
    if class_id is not None and class_id not in defn.class_ids():
        raise UnknownClassError(f"{championship} has no class '{class_id}' "
                                f"(classes: {', '.join(defn.class_ids())})")
    view = {
        "championship": defn.id,
        "name": defn.name,
        "as_of": as_of,
        "known_at": known_at,
        "log_position": state.position_known_at(known_at, championship_scope(championship)),
        "rules_version": season.rules_version,
        "complete": season.complete,
        "rounds": [round_summary(season, r.number) for r in defn.rounds],
        "classes": [class_block(season, c) for c in defn.classes
                    if class_id is None or c.id == class_id or c.parent == class_id],
    }
    return view if class_id is None else narrow_to_class(view, class_id)


def narrow_to_class(view: dict[str, Any], class_id: str) -> dict[str, Any]:
    """One class's standings: its block, and round summaries with only its (and its
    sub-classes') poles and decisions on its cars, so another class's news does not change it.
    Works on a view and on its JSON alike (the publisher splits stored views with it)."""
    block = next(c for c in view["classes"] if c["class"] == class_id)
    if "rounds" not in view:
        return {**view, "classes": [block]}
    pole_classes = {class_id} | {c["class"] for c in view["classes"] if c.get("parent") == class_id}
    cars = {r["car"] for r in block["rows"]}
    rounds = [
        {**r, "decisions": [d for d in r["decisions"] if d["car"] in cars],
         "poles": {k: v for k, v in r["poles"].items() if k in pole_classes}}
        for r in view["rounds"]
    ]
    return {**view, "rounds": rounds, "classes": [block]}


def class_block(season: SeasonAt, c: ClassDef) -> Encoded:
    """A class's car and driver standings, as last made while its inputs are the same: the
    definition, the class's scores in each round (the same lists: `SeasonAt.score`) and its
    tie decisions. The entry holds its inputs, so the identities in its key stay theirs."""
    inputs = season.inputs()
    scores = tuple(season.score(season.definition, rnd, c.id) for rnd in inputs)
    ties = tuple(t for t in season.ties if t.class_id == c.id)
    key = (season.definition_key,
           tuple((rnd.definition.number, id(s)) for rnd, s in zip(inputs, scores, strict=True)),
           ties)
    slot = ("class", season.definition.id, c.id)
    found = season.memo.get(slot)
    if found is not None and found[0] == key:
        return found[2]  # type: ignore[no-any-return]
    defn = season.definition
    block = Encoded({
        "class": c.id,
        "name": c.name,
        "parent": c.parent,
        "rows": [_car_row(p) for p in class_standings(defn, inputs, c.id, ties, season.score)],
        "drivers": [_driver_row(p)
                    for p in driver_standings(defn, inputs, c.id, [], season.score)],
    })
    season.memo[slot] = (key, scores, block)
    return block


def round_summary(season: SeasonAt, number: int) -> Encoded:
    """A round's summary, as last made while its inputs are the same: the definition, the
    round's state (the same object: `RoundMemo.state`) and its poles."""
    rs = season.rounds.get(number)
    poles = tuple(sorted(season.poles(number).items()))
    key = (season.definition_key, id(rs), poles)
    slot = ("round", season.definition.id, number)
    found = season.memo.get(slot)
    if found is not None and found[0] == key:
        return found[2]  # type: ignore[no-any-return]
    summary = Encoded(_round_summary(season, number))
    season.memo[slot] = (key, rs, summary)
    return summary


def _round_summary(season: SeasonAt, number: int) -> dict[str, Any]:
    rnd = season.definition.round(number)
    rs = season.rounds.get(number)
    return {
        "round": number,
        "name": rnd.name,
        "flag_at": rnd.flag_at,
        "status": rs.status if rs else "not published",
        "published_at": rs.published_at if rs else None,
        "decisions": [
            {"reference": d.reference, "car": d.terms.car, "decision": d.terms.describe()}
            for d in rs.decisions
        ] if rs else [],
        "poles": dict(sorted(season.poles(number).items())),
    }


def _car_row(p: Placed) -> dict[str, Any]:
    c = p.competitor
    return {
        "position": p.position,
        "car": c.car,
        "team": c.team,
        "points": c.points,
        "tie": p.tie,
        "decided_by": p.decided_by,
        "countback": list(c.countback),
        "drivers": list(c.drivers),
        "rounds": [
            {
                "round": r.round,
                "position": r.class_position,
                "status": r.status_text,
                "classified": r.classified,
                "points": r.points,
                "pole_points": r.pole_points,
                "deduction": r.deduction,
            }
            for r in c.results
        ],
    }


def _driver_row(p: Placed) -> dict[str, Any]:
    c = p.competitor
    return {
        "position": p.position,
        "driver": c.key,
        "car": c.car,
        "team": c.team,
        "points": c.points,
        "tie": p.tie,
    }
