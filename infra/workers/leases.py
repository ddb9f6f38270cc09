"""Leases on partition groups, so that several workers split the partitions between them and a
dead worker's groups are taken over by the others.

Partitions map to a fixed number of groups (`domain.partitions.partition_group`); a worker holds
a group while it holds its lease. The lease is the store's own lock, released by the operating
system or the database when its holder dies, never by a timer that a slow worker could outlive:
- PostgreSQL: a session advisory lock per group on a connection kept by the worker
  (`pg_try_advisory_lock`); a killed worker's connection closes and its locks go with it;
- SQLite (one machine): an exclusive `flock` on a file per group beside the log; a killed
  process's locks are released by the kernel.

Assignment is deterministic first (worker k of n prefers the groups g with g % n == k), so that
workers started together split the groups evenly; a worker then claims any group nobody holds,
which is how a dead worker's groups move to the survivors.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

LEASE_NAMESPACE = zlib.crc32(b"paddock-partition-group") & 0x7FFFFFFF
"""The first key of every advisory lock Paddock takes (the second is the group)."""


def preferred(groups: int, worker: int, workers: int) -> list[int]:
    """The groups worker `worker` of `workers` claims first, then the others in order."""
    if not 0 <= worker < workers:
        raise ValueError(f"worker {worker} of {workers}: give 0 ≤ worker < workers")
    own = [g for g in range(groups) if g % workers == worker]
    return own + [g for g in range(groups) if g % workers != worker]


class Leases(ABC):
    """The leases one worker holds."""

    def __init__(self, groups: int) -> None:
        if groups < 1:
            raise ValueError(f"at least one partition group (got {groups})")
        self.groups = groups
        self.held: set[int] = set()

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

    def release(self, group: int) -> None:
        """Give one group up (its work stopped first: the next holder starts after it)."""
        if group in self.held:
            self._release(group)
            self.held.discard(group)

    def taken(self, group: int) -> bool:
        """Whether another holder has the group now (tried, and given back at once if free)."""
        if group in self.held:
            return False
        if self._try(group):
            self._release(group)
            return False
        return True

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
    """flock leases in a directory (one machine: the SQLite deployment). `role` names the
    files, so that the groups of different roles (and logs) sharing a directory are apart."""

    def __init__(self, directory: Path, groups: int, role: str = "projections") -> None:
        super().__init__(groups)
        self.directory = directory
        self.role = role
        self._files: dict[int, int] = {}

    def _try(self, group: int) -> bool:
        path = self.directory / f"{self.role}.group-{group}.lease"
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


class AdvisoryLeases(Leases):
    """PostgreSQL session advisory locks on one connection (psycopg, autocommit). `namespace`
    is the first key of every lock: one per role (and deployment), so roles never contend."""

    def __init__(self, connection: Any, groups: int, namespace: int = LEASE_NAMESPACE) -> None:
        super().__init__(groups)
        self.connection = connection
        self.namespace = namespace

    def _try(self, group: int) -> bool:
        row = self.connection.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                      (self.namespace, group)).fetchone()
        return bool(row and row[0])

    def _release(self, group: int) -> None:
        with contextlib.suppress(Exception):
            self.connection.execute("SELECT pg_advisory_unlock(%s, %s)", (self.namespace, group))

    def alive(self) -> bool:
        try:
            self.connection.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means the session (and its locks) is gone
            self.held.clear()
            return False
        return True
