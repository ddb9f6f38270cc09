"""A view added the way every view is added: this module (its pure function) and one catalog
line (`ROUND_FACTS`, put in a catalog by tests/unit/test_catalog_extension.py and
tests/integration/test_added_view.py). Nothing else is edited for it."""

from __future__ import annotations

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
from projections.ledger import LedgerState


def round_facts_view(state: LedgerState, championship: str, as_of: datetime, known_at: datetime,
                     round_number: int) -> dict[str, Any]:
    """The facts of one round (classifications, poles, stewards' decisions), in log order."""
    if championship not in state.championships:
        raise UnknownChampionshipError(f"unknown championship '{championship}'")
    facts = [i for i in state.history.get(championship, [])
             if i.round == round_number and i.recorded_at <= known_at and i.effective_at <= as_of]
    return {"championship": championship, "round": round_number, "as_of": as_of,
            "known_at": known_at, "log_position": state.position_known_at(known_at),
            "facts": [{"position": i.position, "kind": i.kind, "summary": i.summary}
                      for i in sorted(facts, key=lambda i: i.position)]}


ROUND_FACTS = View("round-facts", CHAMPIONSHIP, "tests.added_view:round_facts_view",
                   "the facts of one round, in log order",
                   params=(*TIMES, Param("round", INTEGER, "the round", required=True)),
                   query="round_facts",
                   publication=Publication(WHOLE_VIEW, "A round's facts, on every change"))
"""The catalog line."""

WITH_ROUND_FACTS: Catalog = CATALOG.with_views(ROUND_FACTS)
