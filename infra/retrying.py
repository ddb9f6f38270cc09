"""Bounded retries with jittered exponential backoff for conflicts between concurrent writers.

Another process changing the same catalog row or rows at the same moment is not the user's
fault: the operation is repeated a few times, each after a random pause that grows, so two
processes that collided do not collide again in lockstep. Anything else is raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger("paddock.store")

# SQLSTATEs of conflicts a retry resolves: serialization_failure, deadlock_detected,
# lock_not_available, unique_violation (two CREATEs of one catalog entry), internal_error,
# which is how PostgreSQL reports "tuple concurrently updated" (two DDLs on one catalog row),
# and duplicate_table: eventsourcing creates its composite types each in a transaction of its
# own, outside the create lock, and two at once can fail with 'relation "stored_event_uuid"
# already exists' (seen once in 48 simultaneous opens); the retry finds the type there.
CONFLICTS = frozenset({"40001", "40P01", "55P03", "23505", "XX000", "42P07"})


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, outermost first (eventsourcing re-raises psycopg's errors
    as its own, the original as `__cause__`)."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a psycopg error, also when wrapped."""
    states = (getattr(seen, "sqlstate", None) for seen in causes(error))
    return next((state for state in states if isinstance(state, str)), None)


def is_conflict(error: BaseException) -> bool:
    return sqlstate(error) in CONFLICTS


def is_write_conflict(error: BaseException) -> bool:
    """A conflict, or a write that lost a race: another writer appended the same aggregate
    version first (PostgreSQL unique violation, or SQLite's constraint error)."""
    from eventsourcing.persistence import IntegrityError

    return isinstance(error, IntegrityError) or is_conflict(error)


def retry_conflicts(call: Callable[[], T], *, attempts: int = 8, first: float = 0.02,
                    most: float = 1.0, conflict: Callable[[BaseException], bool] = is_conflict,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, repeated up to `attempts` times while it fails with a conflict; the pause
    before try n is uniform in [0, min(most, first * 2**n)] ("full jitter")."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            if attempt + 1 >= attempts or not conflict(error):
                raise
            log.info("store.conflict_retried", attempt=attempt + 1, error=type(error).__name__)
            sleep(random.uniform(0, min(most, first * 2 ** (attempt + 1))))
    raise AssertionError("unreachable")
