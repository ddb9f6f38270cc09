"""A worker's claim on partition groups: which groups it works on, a fair share of them among
the workers alive, re-settled every lease period so that a dead worker's groups are taken over.
The one mechanism of ingest workers (infra/workers/ingest_worker.py), projection workers
(infra/workers/projection_worker.py) and, with one key, the publisher (`Leadership`).

How a worker knows how many peers are alive: besides its groups, each worker holds one *slot*
lease (the lowest free of as many slots as there are groups). A slot's lease is released by the
database or the kernel when its holder dies, like a group's, so the slots taken are the workers
alive: a worker counts them (on PostgreSQL in one read of `pg_locks`; elsewhere by trying each
slot it does not hold, giving back at once one it got). With `live` workers alive, a worker's fair share is ⌈groups / live⌉; worker `rank` (its
slot's rank among the taken slots) claims the groups `preferred(groups, rank, live)` first (g %
live == rank: an even, deterministic split whatever order the workers started in), then any free
group, up to its share, and gives up the groups over its share (its work on them stopped first:
the next holder starts after it). A worker that finds no free slot waits, as a standby, and
claims nothing until a slot is freed. A lost store session loses every lease: `settle` says so
(the worker stops working on all) and opens a new session at the next settlement.

Where the leases live (PostgreSQL advisory locks on a connection with TCP keepalives, flock
files, memory:// in-process with no slots: the first worker owns every group):
infra/workers/lease_places.py.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.workers.lease_places import Opened, Opener, store_leases, view_leases
from infra.workers.leases import Leases, preferred

if TYPE_CHECKING:
    from infra.views import ViewStore

@dataclass(frozen=True)
class Plan:
    """What a worker does after settling its claims."""

    start: tuple[int, ...] = ()  # newly held: start working on them
    give_up: tuple[int, ...] = ()  # over the fair share: stop working on them, then `release`
    lost: bool = False  # every lease went with the store connection: stop working on all
    live: int = 1  # workers alive, this one included (0: this one is a standby)
    rank: int = 0  # this worker's rank among the live ones


@dataclass
class _Held:
    groups: Leases
    slots: Leases | None
    opened: Opened


class GroupClaims:
    """One worker's claims on the `count` groups of key space `role` (opened by `opener`, again
    after the store connection was lost). Blocking: call from a thread."""

    def __init__(self, count: int, opener: Opener, role: str) -> None:
        self.count = count
        self.role = role
        self._opener = opener
        self._held: _Held | None = None

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held.groups.held) if self._held else frozenset()

    def settle(self) -> Plan:
        """Claim up to the fair share; say which groups to give up; notice a lost store."""
        if self._held is not None and not self._alive(self._held):
            self._drop()
            return Plan(lost=True, live=0)
        if self._held is None:
            self._held = self._open()
        held = self._held
        rank, live = self._rank(held)
        if live == 0:
            return Plan(live=0)
        share = math.ceil(self.count / live)
        over = len(held.groups.held) - share
        if over > 0:
            mine = set(preferred(self.count, rank, live)[:share])
            order = sorted(held.groups.held, key=lambda g: (g in mine, -g))
            return Plan(give_up=tuple(sorted(order[:over])), live=live, rank=rank)
        claimed = held.groups.claim(preferred(self.count, rank, live), share)
        return Plan(start=tuple(sorted(claimed)), live=live, rank=rank)

    def _open(self) -> _Held:
        opened = self._opener([(f"{self.role}.group", self.count),
                               (f"{self.role}.slot", self.count)])
        groups, slots = opened.leases
        return _Held(groups, None if opened.one_process else slots, opened)

    def _rank(self, held: _Held) -> tuple[int, int]:
        """This worker's rank among the live ones, and how many are alive (0: no slot)."""
        slots = held.slots
        if slots is None:
            return 0, 1
        if not slots.held:
            slots.claim(list(range(slots.groups)), 1)
            if not slots.held:
                return 0, 0
        [own] = slots.held
        taken = sorted(slots.holders() | slots.held)
        return taken.index(own), len(taken)

    @staticmethod
    def _alive(held: _Held) -> bool:
        return held.groups.alive() and (held.slots is None or held.slots.alive())

    def release(self, group: int) -> None:
        if self._held is not None:
            self._held.groups.release(group)

    def close(self) -> None:
        """Give every lease back (the work on the groups stopped first)."""
        if self._held is not None:
            with contextlib.suppress(Exception):
                for leases in self._held.opened.leases:
                    leases.release_all()
            self._drop()

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.groups.held.clear()
            with contextlib.suppress(Exception):
                held.opened.close()


def claims_for(store_url: str, role: str, count: int, *, scope: str = "paddock") -> GroupClaims:
    """The claims of one worker of `role` on `count` groups of a log's store; `scope` (the NATS
    prefix) keeps deployments sharing a store apart."""
    return GroupClaims(count, store_leases(store_url, scope), role)


def view_claims(views: ViewStore, role: str, count: int) -> GroupClaims | None:
    """The claims of one worker of `role` on the `count` groups of a view store's views (None
    for an in-memory store: its one worker owns every group)."""
    opener = view_leases(views)
    return None if opener is None else GroupClaims(count, opener, role)


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
    opener = view_leases(views)
    if opener is None:
        return None
    return Leadership(lambda: opener([(f"{name}.lead", 1)]).leases[0])
