"""Fixtures of the integration tests: the demo season loaded into the `ledger` fixture."""

from __future__ import annotations

import pytest

from services.demo import load_demo
from services.ledger import Ledger


@pytest.fixture
def demo(ledger: Ledger) -> Ledger:
    """The real demo season (AsLMS 2023/24 + Le Mans 2024), on SQLite and on PostgreSQL."""
    outcomes = load_demo(ledger)
    assert all(o.accepted for o in outcomes), [o for o in outcomes if not o.accepted]
    return ledger
