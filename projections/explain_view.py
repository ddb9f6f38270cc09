"""Why a car has its points: round by round, each line with the facts (log positions) behind it.

The lines sum to the car's total in the standings at the same (as_of, known_at), by
construction: both come from the same scored rounds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.errors import UnknownCarError
from domain.standings import RoundResult
from projections.ledger import LedgerState, winner
from projections.partition_scope import championship_scope
from projections.round_state import RoundState
from projections.standings_view import SeasonAt, season_at


def explain_view(state: LedgerState, championship: str, car: str, as_of: datetime,
                 known_at: datetime) -> dict[str, Any]:
    season = season_at(state, championship, as_of, known_at)
    classes = []
    for class_def in season.definition.classes:
        placed = next((p for p in season.standings(class_def.id) if p.competitor.car == car), None)
        if placed is None:
            continue
        lines = [_line(state, season, class_def.id, r, (as_of, known_at))
                 for r in placed.competitor.results]
        classes.append({
            "class": class_def.id,
            "position": placed.position,
            "tie": placed.tie,
            "team": placed.competitor.team,
            "points": placed.competitor.points,
            "lines": lines,
            "sum_of_lines": sum((Decimal(str(x["total"])) for x in lines), Decimal(0)),
        })
    if not classes:
        raise UnknownCarError(f"car #{car} has no result in {championship} at that time")
    return {
        "championship": championship,
        "car": car,
        "as_of": as_of,
        "known_at": known_at,
        "log_position": state.position_known_at(known_at, championship_scope(championship)),
        "classes": classes,
    }


def _line(state: LedgerState, season: SeasonAt, class_id: str, result: RoundResult,
          times: tuple[datetime, datetime]) -> dict[str, Any]:
    rnd = season.definition.round(result.round)
    rs = season.rounds.get(result.round)
    return {
        "round": result.round,
        "round_name": rnd.name,
        "status": result.status_text,
        "class_position": result.class_position,
        "classified": result.classified,
        "scale": rnd.scale,
        "multiplier": rnd.multiplier,
        "half_points": rnd.half_points,
        "race_points": result.points,
        "pole_points": result.pole_points,
        "deduction": result.deduction,
        "total": result.total,
        "because": _sources(state, season.definition.id, class_id, result, rs, times),
    }


def _sources(state: LedgerState, championship: str, class_id: str, result: RoundResult,
             rs: RoundState | None, times: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """The facts behind a line; a round without a classification in force has its pole alone."""
    number = result.round
    sources = [] if rs is None else [
        {"position": rs.version_position,
         "fact": f"R{number} {rs.status} classification published {rs.published_at.isoformat()}"}]
    if result.pole_points:
        pole = winner(p for p in state.poles.get((championship, number), [])
                      if p.value == (class_id, result.car) and p.visible(*times))
        if pole is not None:
            sources.append({"position": pole.position,
                            "fact": f"R{number} {class_id} pole #{result.car} "
                                    f"(in force from {pole.effective_at.isoformat()})"})
    if rs is None:
        return sources
    same_class = {r.car for r in rs.rows if r.class_name == class_id}
    for d in rs.decisions:
        own = d.terms.car == result.car
        if own or (d.terms.kind.changes_classification and d.terms.car in same_class):
            whose = "" if own else f" on #{d.terms.car} (re-sorted the class)"
            sources.append({"position": d.position,
                            "fact": f"decision {d.reference}: {d.terms.describe()}{whose}"
                                    + (f" ({d.reason})" if d.reason else "")})
    return sorted(sources, key=lambda s: s["position"])
