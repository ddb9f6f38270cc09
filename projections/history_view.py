"""The facts of a championship in log order, with both times and who produced them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.errors import UnknownChampionshipError
from projections.ledger import LedgerState
from projections.partition_scope import championship_scope


def history_view(state: LedgerState, championship: str, as_of: datetime, known_at: datetime,
                 car: str | None = None) -> dict[str, Any]:
    if championship not in state.championships:
        known = ", ".join(sorted(state.championships)) or "none registered"
        raise UnknownChampionshipError(f"unknown championship '{championship}' (known: {known})")
    items = [
        item for item in state.history.get(championship, [])
        if item.recorded_at <= known_at and item.effective_at <= as_of
        and (car is None or car in item.cars)
    ]
    return {
        "championship": championship,
        "as_of": as_of,
        "known_at": known_at,
        "car": car,
        "log_position": state.position_known_at(known_at, championship_scope(championship)),
        "events": [
            {
                "position": i.position,
                "effective_at": i.effective_at,
                "recorded_at": i.recorded_at,
                "kind": i.kind,
                "round": i.round,
                "summary": i.summary,
                "actor": i.actor,
                "source": i.source,
            }
            for i in sorted(items, key=lambda i: i.position)
        ],
    }
