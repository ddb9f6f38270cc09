"""What an ingest of `penalty.imposed` messages (one decision each) must leave behind."""

from __future__ import annotations

from typing import Any

from domain.aggregates.stewards_decision import StewardsDecision
from infra.views.factory import open_view_store
from services.ledger import Ledger
from tests.views_invariants import check_views


def assert_each_message_once(events: list[tuple[int, Any]], messages: int) -> None:
    """One receipt and one decision per message: none lost, none recorded twice."""
    receipts = [e for _, e in events if type(e).__name__ == "Received"]
    decisions = [e for _, e in events if isinstance(e, StewardsDecision.PenaltyImposed)]
    assert len({r.message_id for r in receipts}) == len(receipts) == messages
    assert len({d.reference for d in decisions}) == len(decisions) == messages


def assert_views_replay(store: str, ledger: Ledger, head: int) -> None:
    """The persisted views are those a replay of the log up to `head` gives."""
    views = open_view_store(store)
    try:
        stored = {name: view.body for name in views.names() if (view := views.read(name))}
    finally:
        views.close()
    check_views(ledger.read_events(0), stored, head)
