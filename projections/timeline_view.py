"""A championship's facts in effective-time order, with both times; retroactive ones flagged.

A fact is retroactive when it was recorded well after it took effect (a backfill, a late
correction): `recorded_at - effective_at` above a threshold (default one day).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from projections.history_view import history_view
from projections.ledger import LedgerState

RETROACTIVE_AFTER = timedelta(days=1)


def timeline_view(state: LedgerState, championship: str, as_of: datetime, known_at: datetime,
                  retroactive_after: timedelta = RETROACTIVE_AFTER) -> dict[str, Any]:
    history = history_view(state, championship, as_of, known_at)
    facts = sorted(history["events"], key=lambda e: (e["effective_at"], e["position"]))
    for fact in facts:
        lag = fact["recorded_at"] - fact["effective_at"]
        fact["recorded_after"] = lag
        fact["retroactive"] = lag > retroactive_after
    return {
        "championship": championship,
        "as_of": as_of,
        "known_at": known_at,
        "log_position": history["log_position"],
        "retroactive_after": retroactive_after,
        "facts": facts,
        "retroactive": sum(1 for f in facts if f["retroactive"]),
    }
