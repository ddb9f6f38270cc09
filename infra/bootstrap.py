"""The composition root: from a store URL (or the environment) to a ready Ledger."""

from __future__ import annotations

from infra.store import store_settings
from services.ledger import Clock, Ledger, utc_now


def open_ledger(store_url: str, clock: Clock = utc_now) -> Ledger:
    return Ledger(env=store_settings(store_url), clock=clock)
