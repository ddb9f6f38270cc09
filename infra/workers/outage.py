"""A role's view of its store's health: is a failure an outage (the database is down or did not
answer: our fault, retried), when to try again (bounded exponential backoff with jitter), and one
log line per change of state (`store.unavailable`, `store.recovered`), not one per retry."""

from __future__ import annotations

import random
import sqlite3
import time

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError

from infra.retrying import causes

log = structlog.get_logger("paddock.store")

FIRST_PAUSE = 0.5  # seconds
MOST_PAUSE = 5.0  # seconds: a role notices the database is back within this


def is_outage(error: BaseException) -> bool:
    """The store could not be reached or broke the connection (server down, restarting, the
    pool timed out): the request was fine, trying again later will do."""
    return any(isinstance(seen, (OperationalError, InterfaceError, sqlite3.OperationalError))
               or _psycopg_outage(seen) for seen in causes(error))


def _psycopg_outage(error: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))


class StoreOutage:
    """One role's outage state; not thread-safe (used from the role's own task)."""

    def __init__(self, role: str, *, first: float = FIRST_PAUSE, most: float = MOST_PAUSE) -> None:
        self.role = role
        self.first = first
        self.most = most
        self.failures = 0
        self._since = 0.0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException) -> float:
        """Record a failure; returns how long to wait before the next try."""
        if not self.failures:
            self._since = time.monotonic()
            log.warning("store.unavailable", role=self.role, error=_one_line(error))
        self.failures += 1
        ceiling = min(self.most, self.first * 2 ** (self.failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def succeeded(self) -> None:
        if self.failures:
            log.info("store.recovered", role=self.role, failures=self.failures,
                     seconds=round(time.monotonic() - self._since, 1))
        self.failures = 0


def _one_line(error: BaseException) -> str:
    return " ".join((str(error) or type(error).__name__).split())[:300]
