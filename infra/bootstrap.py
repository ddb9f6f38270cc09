"""The composition root: from a store URL (or the environment) to a ready Ledger."""

from __future__ import annotations

from infra.store import store_settings
from services.ledger import Clock, Ledger, utc_now


def open_ledger(store_url: str, clock: Clock = utc_now, *, create: bool = True) -> Ledger:
    """create=False: open an existing log to read it; no table is created."""
    env = store_settings(store_url)
    if not create:
        env |= {"CREATE_TABLE": "no", f"{Ledger.name.upper()}_CREATE_TABLE": "no"}
    return Ledger(env=env, clock=clock)
