"""The composition root: from a store URL (or the environment) to a ready Ledger."""

from __future__ import annotations

import os

from infra.config import fold_megabytes
from infra.store import store_settings
from services.ledger import Clock, Ledger, utc_now
from services.partition_folds import DEFAULT_MAX_MB

# psycopg_pool retries a lost connection with doubling pauses for 5 minutes; a long outage left
# the pool waiting on its next try well after the database was back. Given up after a few
# seconds, the next request that finds no connection opens one at once.
POOL_RECONNECT_TIMEOUT = 5.0


def open_ledger(store_url: str, clock: Clock = utc_now, *, create: bool = True) -> Ledger:
    """create=False: open an existing log to read it; no table is created."""
    env = store_settings(store_url)
    if not create:
        env |= {"CREATE_TABLE": "no", f"{Ledger.name.upper()}_CREATE_TABLE": "no"}
    ledger = Ledger(env=env, clock=clock,
                    fold_megabytes=fold_megabytes(os.environ, DEFAULT_MAX_MB))
    pool = getattr(getattr(ledger.recorder, "datastore", None), "pool", None)
    if pool is not None and hasattr(pool, "reconnect_timeout"):  # PostgreSQL's
        pool.reconnect_timeout = POOL_RECONNECT_TIMEOUT
    return ledger
