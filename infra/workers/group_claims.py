"""A worker's claim on partition groups: which groups it works on, a fair share of them among
the workers alive, re-settled periodically so that a dead worker's groups are taken over.

How a worker knows how many peers are alive: besides its groups, each worker holds one *slot*
lease (the lowest free of as many slots as there are groups). A slot's lease is released by the
database or the kernel when its holder dies, like a group's, so the slots taken are the workers
alive: a worker counts them by trying each slot it does not hold (and giving back at once one it
got). With `live` workers alive, a worker's fair share is ⌈groups / live⌉; worker `rank` (its
slot's rank among the taken slots) claims the groups `preferred(groups, rank, live)` first, then
any free group, up to its share, and gives up the groups over its share (its work on them
stopped first: the next holder starts after it). A worker that finds no free slot waits, as a
standby, and claims nothing until a slot is freed.

Stores (infra/workers/leases.py): PostgreSQL session advisory locks on a connection of the
worker's own (TCP keepalives set, so that the server also notices a holder whose host died),
`flock` files beside a SQLite log, and for `memory://` (one process, one worker's store) an
in-process table with no slots: the first worker owns every group.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import structlog

from infra.store import store_settings
from infra.workers.leases import AdvisoryLeases, FileLeases, Leases, preferred
from infra.workers.leases import namespace as lease_namespace

log = structlog.get_logger("paddock.claims")
SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 5", "SET tcp_keepalives_interval = 2",
                    "SET tcp_keepalives_count = 3")
"""Server side: the locks of a holder whose host vanished are released within ~11 s."""


@dataclass(frozen=True)
class Plan:
    """What a worker does after settling its claims."""

    start: tuple[int, ...] = ()  # newly held: start working on them
    give_up: tuple[int, ...] = ()  # over the fair share: stop working on them, then `release`
    lost: bool = False  # every lease went with the store connection: stop working on all
    live: int = 1  # workers alive, this one included (0: this one is a standby)


@dataclass
class _Held:
    groups: Leases
    slots: Leases | None
    close: Callable[[], None] = field(default=lambda: None)


class GroupClaims:
    """One worker's claims. `open_leases` opens the group and slot leases (again after the
    store connection was lost). Blocking: call from a thread."""

    def __init__(self, count: int, open_leases: Callable[[], _Held], *, what: str = "groups"
                 ) -> None:
        self.count = count
        self._open = open_leases
        self._held: _Held | None = None
        self.what = what

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
            return Plan(give_up=tuple(sorted(order[:over])), live=live)
        claimed = held.groups.claim(preferred(self.count, rank, live), share)
        return Plan(start=tuple(sorted(claimed)), live=live)

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
        taken = [s for s in range(slots.groups) if s == own or slots.taken(s)]
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
                self._held.groups.release_all()
                if self._held.slots is not None:
                    self._held.slots.release_all()
            self._drop()

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.groups.held.clear()
            with contextlib.suppress(Exception):
                held.close()


class LocalLeases(Leases):
    """Leases within one process (`memory://`: each worker has a store of its own, so one
    worker must own every group)."""

    _owners: ClassVar[dict[tuple[str, int], int]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, namespace: str, groups: int) -> None:
        super().__init__(groups)
        self.namespace = namespace

    def _try(self, group: int) -> bool:
        with self._lock:
            return self._owners.setdefault((self.namespace, group), id(self)) == id(self)

    def _release(self, group: int) -> None:
        with self._lock:
            if self._owners.get((self.namespace, group)) == id(self):
                del self._owners[(self.namespace, group)]

    def holders(self) -> set[int]:
        with self._lock:
            return {g for (space, g) in self._owners if space == self.namespace}

    def close(self) -> None:
        self.release_all()

    def alive(self) -> bool:
        return True


def claims_for(store_url: str, role: str, count: int, *, scope: str = "paddock") -> GroupClaims:
    """The claims of one worker of `role` on `count` groups of a store; `scope` (the NATS
    prefix) keeps deployments sharing a store apart."""
    settings = store_settings(store_url)
    name = f"{scope}.{role}"
    module = settings["PERSISTENCE_MODULE"]
    if module.endswith("postgres"):
        return GroupClaims(count, lambda: _advisory(settings, name, count), what=role)
    if module.endswith("sqlite"):
        db = Path(settings["SQLITE_DBNAME"])
        return GroupClaims(count, lambda: _file_leases(db, name, count), what=role)
    return GroupClaims(count, lambda: _Held(LocalLeases(name, count), None), what=role)


def _file_leases(db: Path, name: str, count: int) -> _Held:
    """Lease files in `<log>.leases/` beside the log: `<prefix>.<role>.group-<g>.lease`."""
    directory = db.parent / f"{db.name}.leases"
    directory.mkdir(exist_ok=True)
    return _Held(FileLeases(directory, count, name), FileLeases(directory, count, f"{name}-slot"))


def lease_kind(name: str) -> str:
    """The key space of a role's advisory locks (its first key; the second is the group)."""
    return f"paddock-lease:{name}"


def namespace(name: str) -> int:
    """The first key of a role's advisory locks (the second is the group or slot)."""
    return lease_namespace(lease_kind(name))


def _advisory(settings: dict[str, str], name: str, count: int) -> _Held:
    connection = lease_connection(settings)
    scoped = f"{name}@{settings.get('POSTGRES_SCHEMA', '')}"
    return _Held(AdvisoryLeases(connection, count, lease_kind(scoped)),
                 AdvisoryLeases(connection, count, lease_kind(f"{scoped}-slot")),
                 connection.close)


def lease_connection(settings: dict[str, str]) -> Any:
    """A connection of the worker's own, autocommit, kept for its session locks."""
    import psycopg

    connection = psycopg.connect(
        host=settings["POSTGRES_HOST"], port=settings["POSTGRES_PORT"],
        dbname=settings["POSTGRES_DBNAME"], user=settings["POSTGRES_USER"],
        password=settings.get("POSTGRES_PASSWORD") or None,
        connect_timeout=int(settings.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        application_name="paddock-leases", autocommit=True,
        # client side: a lease connection to a vanished server fails within ~11 s
        keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
    for statement in SERVER_KEEPALIVE:
        connection.execute(statement)
    return connection
