"""Which partition groups this projection worker owns, kept by leases (infra/workers/leases.py).

Every worker process holds one *slot* lease (the first free of `MAX_WORKERS` keys of its own key
space) for as long as it lives; the slots held by anyone are the live workers. A worker whose
slot is the k-th smallest of n live slots wants the groups g with g % n == k: n workers split the
groups evenly and deterministically, whatever order they started in. Each `rebalance` (every
PADDOCK_LEASE_SECONDS) the worker
1. checks that its leases still hold (a lost database session loses them all: it owns nothing,
   so it stops writing, and starts over with a new session at the next rebalance);
2. counts the live slots, gives up the groups it holds but no longer wants (a worker joined),
   and claims the ones it wants that nobody holds (a worker left, or gave them up).
A SIGKILLed worker's locks go with its process (flock) or its session (advisory locks), so its
slot and its groups are free at once; each survivor then counts one worker fewer, and claims its
new share at its next rebalance: within one lease period, two when a group moves from a worker
that must first give it up. Between a lease lost and its holder noticing, the per-group
expected position of every write (infra/views/tracking.py) still refuses a second writer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from infra.views import ViewStore
from infra.workers.leases import AdvisoryLeases, FileLeases, Leases

MAX_WORKERS = 64
log = structlog.get_logger("paddock.projections")


class TooManyWorkersError(Exception):
    """Every worker slot is held: more projection workers than MAX_WORKERS."""


class Assignment:
    """One worker's slot and groups."""

    def __init__(self, open_leases: Callable[[], tuple[Leases, Leases]], groups: int) -> None:
        """`open_leases`: the (slots, groups) leases, opened again after a lost session."""
        self._open = open_leases
        self.groups = groups
        self._leases: tuple[Leases, Leases] | None = None
        self.workers = 0  # live workers at the last rebalance
        self.rank = 0

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self._leases[1].held) if self._leases else frozenset()

    def rebalance(self) -> frozenset[int]:
        """Claim this worker's share (see the module's docstring); the groups it owns now."""
        if self._leases is not None and not all(lease.alive() for lease in self._leases):
            log.warning("projection.leases_lost", groups=sorted(self.owned))
            self.close()
        if self._leases is None:
            self._leases = self._open()
        slots, groups = self._leases
        if not slots.held and not slots.claim(list(range(MAX_WORKERS)), at_most=1):
            raise TooManyWorkersError(f"all {MAX_WORKERS} projection worker slots are held: "
                                      f"run at most {MAX_WORKERS} projection workers")
        live = sorted(slots.holders() | slots.held)
        self.workers, self.rank = len(live), live.index(min(slots.held))
        wanted = {g for g in range(self.groups) if g % self.workers == self.rank}
        for group in sorted(groups.held - wanted):
            groups.release(group)
        groups.claim(sorted(wanted), at_most=self.groups)
        return self.owned

    def close(self) -> None:
        """Give up the slot and the groups (a stopping worker's peers take them at once)."""
        if self._leases is not None:
            for lease in reversed(self._leases):
                with contextlib.suppress(Exception):
                    lease.close()
        self._leases = None


Opener = Callable[[Sequence[tuple[str, int]]], list[Leases]]
"""[(key space, keys)] → leases on each, sharing one database session when there is one."""


def lease_opener(views: ViewStore) -> Opener | None:
    """Leases beside the view store: advisory locks on a session of their own on PostgreSQL,
    flock files in `<views file>.leases/` for SQLite; None for an in-memory store (one process:
    its one worker owns every group, its one publisher publishes)."""
    from infra.views.postgres import PostgresViewStore
    from infra.views.sqlite import MEMORY, SQLiteViewStore

    if isinstance(views, PostgresViewStore):
        target, place = views.target, f"{views.target.schema}.{views.tables.views}"

        def advisory(spaces: Sequence[tuple[str, int]]) -> list[Leases]:
            connection = target.connect()
            return [AdvisoryLeases(connection, keys, f"paddock.{place}.{kind}")
                    for kind, keys in spaces]
        return advisory
    if isinstance(views, SQLiteViewStore) and views.path != MEMORY:
        directory, place = Path(f"{views.path}.leases"), views.tables.views

        def files(spaces: Sequence[tuple[str, int]]) -> list[Leases]:
            return [FileLeases(directory, keys, f"{place}.{kind}") for kind, keys in spaces]
        return files
    return None


def open_assignment(views: ViewStore, worker: str, groups: int) -> Assignment | None:
    """The assignment of worker `worker`'s groups, leased beside the view store (None for an
    in-memory store)."""
    opener = lease_opener(views)
    if opener is None:
        return None

    def leases() -> tuple[Leases, Leases]:
        slots, owned = opener([(f"{worker}.slots", MAX_WORKERS), (f"{worker}.groups", groups)])
        return slots, owned
    return Assignment(leases, groups)


class Leadership:
    """One lease that one process at a time holds (the publisher's: two publishing at once
    could put an older state in the KV bucket after a newer one)."""

    def __init__(self, open_lease: Callable[[], Leases]) -> None:
        self._open = open_lease
        self._lease: Leases | None = None

    def lead(self) -> bool:
        """Whether this process holds the lease now (claimed if free; a lost session lets
        it go, and a new one is opened)."""
        if self._lease is not None and not self._lease.alive():
            self.close()
        if self._lease is None:
            self._lease = self._open()
        return bool(self._lease.held or self._lease.claim([0], at_most=1))

    def close(self) -> None:
        if self._lease is not None:
            with contextlib.suppress(Exception):
                self._lease.close()
        self._lease = None


def open_leadership(views: ViewStore, name: str) -> Leadership | None:
    """The lease a publisher named `name` must hold to publish (None for an in-memory store)."""
    opener = lease_opener(views)
    if opener is None:
        return None
    return Leadership(lambda: opener([(f"{name}.publishing", 1)])[0])
