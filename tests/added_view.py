"""Views added the way every view is added: this module (their pure functions) and one catalog
line each (`ROUND_FACTS`, queried; `ROUNDS`, queried and published), put in a catalog by
tests/unit/test_catalog_extension.py and tests/integration/test_added_view.py. Nothing else is
edited for them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from domain.errors import UnknownChampionshipError
from projections.catalog import (
    CATALOG,
    CHAMPIONSHIP,
    INTEGER,
    TIMES,
    WHOLE_VIEW,
    Catalog,
    Param,
    Publication,
    View,
)
from projections.ledger import HistoryItem, LedgerState


def _facts(state: LedgerState, championship: str, as_of: datetime,
           known_at: datetime) -> list[HistoryItem]:
    if championship not in state.championships:
        raise UnknownChampionshipError(f"unknown championship '{championship}'")
    return [i for i in state.history.get(championship, [])
            if i.recorded_at <= known_at and i.effective_at <= as_of]


def round_facts_view(state: LedgerState, championship: str, as_of: datetime, known_at: datetime,
                     round_number: int) -> dict[str, Any]:
    """The facts of one round (classifications, poles, stewards' decisions), in log order."""
    facts = [i for i in _facts(state, championship, as_of, known_at) if i.round == round_number]
    return {"championship": championship, "round": round_number, "as_of": as_of,
            "known_at": known_at, "log_position": state.position_known_at(known_at),
            "facts": [{"position": i.position, "kind": i.kind, "summary": i.summary}
                      for i in sorted(facts, key=lambda i: i.position)]}


def rounds_view(state: LedgerState, championship: str, as_of: datetime,
                known_at: datetime) -> dict[str, Any]:
    """The rounds of a championship that have facts, and how many each has."""
    counts = Counter(i.round for i in _facts(state, championship, as_of, known_at)
                     if i.round is not None)
    return {"championship": championship, "as_of": as_of, "known_at": known_at,
            "log_position": state.position_known_at(known_at),
            "rounds": [{"round": n, "facts": counts[n]} for n in sorted(counts)]}


ROUND_FACTS = View("round-facts", CHAMPIONSHIP, "tests.added_view:round_facts_view",
                   "the facts of one round, in log order",
                   params=(*TIMES, Param("round", INTEGER, "the round", required=True)),
                   query="round_facts")
"""A queried view's catalog line."""

ROUNDS = View("rounds", CHAMPIONSHIP, "tests.added_view:rounds_view",
              "the rounds of a championship with facts, and how many each has",
              query="rounds",
              publication=Publication(WHOLE_VIEW, "A championship's rounds, on every change"))
"""A published view's catalog line: projected, published and answered with no other edit."""

WITH_ADDED_VIEWS: Catalog = CATALOG.with_views(ROUND_FACTS, ROUNDS)
