"""Fixtures of the integration tests: the demo season loaded into the `ledger` fixture, and
the view store next to the test's store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.views import ViewStore
from infra.views.factory import open_view_store
from services.demo import load_demo
from services.ledger import Ledger


@pytest.fixture
def demo(ledger: Ledger) -> Ledger:
    """The real demo season (AsLMS 2023/24 + Le Mans 2024), on SQLite and on PostgreSQL."""
    outcomes = load_demo(ledger)
    assert all(o.accepted for o in outcomes), [o for o in outcomes if not o.accepted]
    return ledger


@pytest.fixture
def views(store_url: str) -> Iterator[ViewStore]:
    """The view store of `store_url` (a SQLite file beside the log, or PostgreSQL tables)."""
    store = open_view_store(store_url)
    try:
        yield store
    finally:
        store.close()
