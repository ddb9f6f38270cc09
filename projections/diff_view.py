"""What changed in the standings between two dates, and which facts changed it.

A car's causes are the facts behind its points at the later date that were not behind them at
the earlier one (`explain_view` names them). A car that only moved because others gained or lost
points gets its class's causes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.errors import InvalidInputError, UnknownCarError
from domain.standings import car_sort_key
from projections.explain_view import explain_view
from projections.ledger import LedgerState
from projections.partition_scope import championship_scope
from projections.standings_view import standings_view


def diff_view(state: LedgerState, championship: str, start: datetime, end: datetime,
              known_at: datetime) -> dict[str, Any]:
    if end < start:
        raise InvalidInputError(f"--to ({end.isoformat()}) is before --from ({start.isoformat()})")
    before = _rows(standings_view(state, championship, start, known_at))
    after = _rows(standings_view(state, championship, end, known_at))
    changes = []
    for class_id, rows in after.items():
        old_rows = before.get(class_id, {})
        moved = [car for car in sorted(set(rows) | set(old_rows), key=car_sort_key)
                 if _mark(rows.get(car)) != _mark(old_rows.get(car))]
        causes = {car: _causes(state, championship, car, class_id, start, end, known_at)
                  for car in moved}
        shared = _dedupe([c for cs in causes.values() for c in cs])
        for car in moved:
            row = rows.get(car) or old_rows[car]
            changes.append({
                "class": class_id, "car": car, "team": row["team"],
                "before": _mark(old_rows.get(car)), "after": _mark(rows.get(car)),
                "causes": causes[car] or shared,
                "caused_by_others": not causes[car],
            })
    return {"championship": championship, "from": start, "to": end, "known_at": known_at,
            "log_position": state.position_known_at(known_at, championship_scope(championship)), "changes": changes}


def _rows(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {c["class"]: {r["car"]: r for r in c["rows"]} for c in view["classes"]}


def _mark(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {"position": row["position"], "points": row["points"],
                                     "tie": row["tie"]}


def _causes(state: LedgerState, championship: str, car: str, class_id: str, start: datetime,
            end: datetime, known_at: datetime) -> list[dict[str, Any]]:
    old = _sources(state, championship, car, class_id, start, known_at)
    new = _sources(state, championship, car, class_id, end, known_at)
    return [s for s in new if s["position"] not in {o["position"] for o in old}]


def _sources(state: LedgerState, championship: str, car: str, class_id: str, at: datetime,
             known_at: datetime) -> list[dict[str, Any]]:
    try:
        view = explain_view(state, championship, car, at, known_at)
    except UnknownCarError:  # no result yet at that date: nothing behind its points
        return []
    blocks = [b for b in view["classes"] if b["class"] == class_id]
    return _dedupe([s for b in blocks for line in b["lines"] for s in line["because"]])


def _dedupe(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for s in sources:
        seen.setdefault(s["position"], s)
    return [seen[p] for p in sorted(seen)]
