"""Leases on partition groups, so that several workers split the partitions between them and a
dead worker's groups are taken over by the others.

Partitions map to a fixed number of groups (`domain.partitions.partition_group`); a worker holds
a group while it holds its lease. The lease is the store's own lock, released by the operating
system or the database when its holder dies, never by a timer that a slow worker could outlive:
- PostgreSQL: a session advisory lock per group on a connection kept by the worker
  (`pg_try_advisory_lock`); a killed worker's connection closes and its locks go with it;
- SQLite (one machine): an exclusive `flock` on a file per group beside the log; a killed
  process's locks are released by the kernel.

- memory:// (one process): an in-process table.

Assignment is deterministic first (worker k of n prefers the groups g with g % n == k), so that
workers started together split the groups evenly; infra/workers/group_claims.py says how a
worker learns k and n (slot leases, a second key space of the same kind) and when it claims and
gives up groups; infra/workers/lease_places.py where a deployment's key spaces live.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

LEASE_NAMESPACE = zlib.crc32(b"paddock-partition-group") & 0x7FFFFFFF
"""The first key of every advisory lock Paddock takes (the second is the group)."""


def preferred(groups: int, worker: int, workers: int) -> list[int]:
    """The groups worker `worker` of `workers` claims first, then the others in order."""
    if not 0 <= worker < workers:
        raise ValueError(f"worker {worker} of {workers}: give 0 ≤ worker < workers")
    own = [g for g in range(groups) if g % workers == worker]
    return own + [g for g in range(groups) if g % workers != worker]


def namespace(kind: str) -> int:
    """The first key of the advisory locks of a key space."""
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


class Leases(ABC):
    """The leases one worker holds, on keys 0..groups-1 of one key space."""

    def __init__(self, groups: int) -> None:
        if groups < 1:
            raise ValueError(f"at least one partition group (got {groups})")
        self.groups = groups
        self.held: set[int] = set()

    def release(self, group: int) -> None:
        if group in self.held:
            self._release(group)
            self.held.discard(group)

    def _taken(self, key: int) -> bool:
        """Whether another holder has the key now (tried, and given back at once if free)."""
        if self._try(key):
            self._release(key)
            return False
        return True

    @abstractmethod
    def holders(self) -> set[int]:
        """The keys someone holds now (this worker included)."""

    @abstractmethod
    def close(self) -> None:
        """Give every lease up and let go of what holds them (files, the connection)."""

    def claim(self, order: list[int], at_most: int) -> set[int]:
        """Try the groups in `order` until `at_most` are held; returns those newly claimed."""
        claimed: set[int] = set()
        for group in order:
            if len(self.held) >= at_most:
                break
            if group not in self.held and self._try(group):
                self.held.add(group)
                claimed.add(group)
        return claimed

    def release_all(self) -> None:
        for group in sorted(self.held):
            self._release(group)
        self.held.clear()

    @abstractmethod
    def _try(self, group: int) -> bool: ...

    @abstractmethod
    def _release(self, group: int) -> None: ...

    @abstractmethod
    def alive(self) -> bool:
        """Whether the leases still hold (False: the store connection was lost; start over)."""


class FileLeases(Leases):
    """flock leases in a directory (one machine: the SQLite deployment), one file per key."""

    def __init__(self, directory: Path, groups: int, kind: str = "projections.group") -> None:
        super().__init__(groups)
        self.directory = directory
        self.kind = kind
        self._files: dict[int, int] = {}
        directory.mkdir(parents=True, exist_ok=True)

    def _try(self, group: int) -> bool:
        path = self.directory / f"{self.kind}-{group}.lease"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._files[group] = fd
        return True

    def _release(self, group: int) -> None:
        fd = self._files.pop(group, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def alive(self) -> bool:
        return True

    def holders(self) -> set[int]:
        """Probed: a key whose lock this process can take is held by nobody (taken and given
        back at once; a worker starting meanwhile takes the next one)."""
        return set(self.held) | {key for key in range(self.groups)
                                 if key not in self.held and self._taken(key)}

    def close(self) -> None:
        self.release_all()


class AdvisoryLeases(Leases):
    """PostgreSQL session advisory locks on one connection (psycopg, autocommit)."""

    def __init__(self, connection: Any, groups: int, kind: str | None = None, *,
                 first_key: int | None = None) -> None:
        super().__init__(groups)
        self.connection = connection
        self.namespace = first_key if first_key is not None else \
            LEASE_NAMESPACE if kind is None else namespace(kind)

    def _try(self, group: int) -> bool:
        row = self.connection.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                      (self.namespace, group)).fetchone()
        return bool(row and row[0])

    def _release(self, group: int) -> None:
        with contextlib.suppress(Exception):
            self.connection.execute("SELECT pg_advisory_unlock(%s, %s)", (self.namespace, group))

    def holders(self) -> set[int]:
        """Read from pg_locks (a two-key advisory lock shows its keys as classid and objid)."""
        rows = self.connection.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 2 AND classid::bigint = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (self.namespace,)).fetchall()
        return {int(r[0]) for r in rows if 0 <= int(r[0]) < self.groups}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.release_all()
            self.connection.close()
        self.held.clear()

    def alive(self) -> bool:
        try:
            self.connection.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means the session (and its locks) is gone
            self.held.clear()
            return False
        return True


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
