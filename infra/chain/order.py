"""Reading the whole log on PostgreSQL without skipping an event that commits later.

Appends of different partitions run in parallel (infra/chain/postgres.py): each holds the
advisory locks of its partitions from before its INSERT takes notification ids from the sequence
until it commits. Ids are so committed in order within a partition, not across partitions: a
follower that has read up to id M and goes on from `notification_id > M` would skip an id g < M
whose transaction was still in flight. A gap below the largest id read is one of:

- an append in flight: it will fill the gap when it commits;
- an aborted append (sequence values are not transactional), or an event row deleted: it never
  fills.

Why the rule below is right. Let a reader's statement see M and not g < M, g taken by transaction
T. The sequence is monotonic, so T took g before M's transaction took M, which committed before
the statement's snapshot; T took its partition lock before taking g, and holds it until it ends.
So at any moment L after that snapshot, T either holds one of this store's advisory locks (it is
in flight) or has ended; once it has ended, a snapshot taken after L sees g if and only if T
committed. The rule: on seeing gaps, note which appends hold this store's locks now (their
virtual transaction ids, from `pg_locks`); a gap first seen is held by one of those or by none.
Return rows up to the first gap that some append noted at its first sighting still holds; if
gaps below it are left, read again (a snapshot after the sampling): whatever is still missing
there is permanent and skipped from then on. Appends that began after a gap was first seen never
delay it, nor does any transaction that is not an append of this store.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
MAX_POSITION = 2**63 - 1


@dataclass(frozen=True)
class StoreKey:
    """The first half of every advisory lock key of one store: `pg_locks.classid` shows it
    unsigned."""

    signed: int
    unsigned: int


def _int4(text: str) -> int:
    value = zlib.crc32(text.encode())
    return value - 2**32 if value >= 2**31 else value


def store_key(name: str) -> StoreKey:
    """The key of one events table (schema.table): appends to two stores never wait for each
    other's locks (a crc32 collision only makes them share locks)."""
    signed = _int4(f"paddock-chain:{name}")
    return StoreKey(signed, signed & 0xFFFFFFFF)


def lock_key(partition: str) -> int:
    """The second half of a partition's lock key (a collision between two partitions only makes
    their appends take turns)."""
    return _int4(partition)


def missing(after: int, ids: Sequence[int]) -> list[int]:
    """Ids after `after` and below the last of `ids` (ascending) that are not in `ids`."""
    gaps: list[int] = []
    expected = after + 1
    for position in ids:
        gaps.extend(range(expected, position))
        expected = position + 1
    return gaps


class FinalPrefix:
    """Per recorder (thread-safe): the gaps seen, with the appends that were in flight when each
    was first seen; and the gaps known to be permanent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, frozenset[str]] = {}
        self._final: set[int] = set()

    def read(self, after: int, select: Callable[[int], list[T]], position: Callable[[T], int],
             limit: int, writers: Callable[[], frozenset[str]]) -> list[T]:
        """The rows that `select(bound)` (ids after `after` up to `bound`, ascending, at most
        `limit`) returns, cut before the first gap an append in flight may still fill."""
        rows = select(MAX_POSITION)
        ids = [position(row) for row in rows]
        gaps = [g for g in missing(after, ids) if g not in self._final]
        if not gaps:
            return rows
        now = writers()
        with self._lock:
            held = next((g for g in gaps if self._waiting.setdefault(g, now) & now), None)
        bound = ids[-1] if held is None else held - 1
        if any(g <= bound for g in gaps):  # their appends ended: look again, after they did
            rows = select(bound)
            ids = [position(row) for row in rows]
            self._settle(after, ids, ids[-1] if len(rows) == limit else bound)
        return [row for row in rows if position(row) <= bound]

    def _settle(self, after: int, ids: Sequence[int], upto: int) -> None:
        """Every id up to `upto` not in `ids` is permanent."""
        gaps = missing(after, [*(i for i in ids if i <= upto), upto + 1])
        with self._lock:
            self._final.update(gaps)
            for g in [g for g in self._waiting if g <= upto]:
                del self._waiting[g]

    def stable(self, after: int, head: int, select_ids: Callable[[int], list[int]],
               writers: Callable[[], frozenset[str]]) -> int:
        """The last id up to which the log is final, given its head (the largest id committed,
        read before this call): the head itself when no append is in flight."""
        if head <= after or not writers():
            return max(head, after)
        ids = self.read(after, lambda bound: select_ids(min(bound, head)), lambda i: i,
                        MAX_POSITION, writers)
        return ids[-1] if ids else after
