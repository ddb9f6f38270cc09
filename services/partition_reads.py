"""Reading the log by partition: through the partition index the recorders keep, or, for a log
without one (the in-memory store; a log written before Paddock indexed, opened read-only), by
walking the log once and partitioning its events here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from eventsourcing.persistence import Notification

from domain.partitions import Partitioner
from projections.resume_point import ResumePoint

PAGE = 1000
Events = list[tuple[int, Any]]
ReadEvents = Callable[[int, int | None, int | None], Events]
"""(after, limit, until) → decoded events of the whole log (Ledger.read_events)."""


@runtime_checkable
class IndexedLog(Protocol):
    """What a recorder with a partition index offers (infra/chain/index.py)."""

    def select_partitions(self, partitions: Sequence[str], after: int, until: int | None,
                          limit: int) -> list[Notification]: ...

    def select_index(self, after: int, until: int) -> list[tuple[int, str]]: ...

    def index_head(self) -> int | None: ...

    def partitions_like(self, prefix: str, limit: int) -> list[str]: ...

    def select_times(self, until: int) -> tuple[datetime | None, list[tuple[int, str, datetime]]]: ...

    def first_position(self, partition: str) -> int | None: ...

    def write_index(self, rows: Sequence[tuple[str, int, datetime | None, datetime | None]],
                    *, replace: bool) -> None: ...


class PartitionReads:
    def __init__(self, recorder: object, decode: Callable[[Notification], Any],
                 read_events: ReadEvents, head: Callable[[], int]) -> None:
        self._index = recorder if isinstance(recorder, IndexedLog) else None
        self._decode = decode
        self._read_events = read_events
        self._head = head
        self._walk: Walk | None = None

    @property
    def indexed(self) -> bool:
        """Whether reads go through the index: it exists and covers the log."""
        if self._index is None:
            return False
        head = self._head()  # first: a writer appending now moves both, the index no later
        covered = self._index.index_head()
        return covered is not None and covered >= head

    def use_index_if_complete(self) -> None:
        """Decide once, at open, how this process reads partitions."""
        if not self.indexed:
            self._walk = Walk(self._read_events)
            self._index = None

    def index_log(self) -> int:
        """Index a log written before Paddock kept a partition index (a writer opening it);
        returns the number of events indexed, 0 when the index was complete."""
        if self._index is None or self.indexed:
            return 0
        rows = []
        partitioner = Partitioner()
        for position, event in self._read_events(0, None, None):
            for partition in dict.fromkeys(partitioner.partitions(event)):
                rows.append((partition, position, getattr(event, "effective_at", None),
                             getattr(event, "recorded_at", None)))
        self._index.write_index(rows, replace=True)
        return len({row[1] for row in rows})

    def read(self, partitions: Iterable[str], after: int = 0, until: int | None = None) -> Events:
        """The events of these partitions after `after` (up to `until`), ascending, each once."""
        wanted = sorted(set(partitions))
        if self._index is None:
            return self._walked().read(wanted, after, until)
        events: Events = []
        while True:
            page = self._index.select_partitions(wanted, after, until, PAGE)
            events.extend((n.id, self._decode(n)) for n in page)
            if len(page) < PAGE:
                return events
            after = page[-1].id

    def read_indexed(self, after: int = 0, limit: int | None = None,
                     until: int | None = None) -> list[tuple[int, Any, tuple[str, ...]]]:
        """The whole log after `after`, each event with its partitions (for a follower that
        routes every event to its partition's views)."""
        if self._index is None:
            return self._walked().read_indexed(after, limit, until)
        events = self._read_events(after, limit, until)
        if not events:
            return []
        found: dict[int, list[str]] = {}
        for position, partition in self._index.select_index(after, events[-1][0]):
            found.setdefault(position, []).append(partition)
        return [(position, event, tuple(found.get(position, ()))) for position, event in events]

    def resume_point(self, until: int) -> ResumePoint | None:
        """Where routing stands after the events up to `until`, from the index (None without
        one: the caller folds the log instead)."""
        if self._index is None:
            return None
        latest, rows = self._index.select_times(until)
        return ResumePoint.of_rows(until, latest, rows)

    def first_position(self, partition: str) -> int | None:
        """The position of a partition's first event (None: none yet). Only with an index."""
        if self._index is None:
            raise LookupError("a log without a partition index cannot say where a partition "
                              "starts without reading it all")
        return self._index.first_position(partition)

    def partitions_like(self, prefix: str, limit: int) -> list[str]:
        if self._index is None:
            return self._walked().partitions_like(prefix, limit)
        return self._index.partitions_like(prefix, limit)

    def _walked(self) -> Walk:
        if self._walk is None:
            self._walk = Walk(self._read_events)
        return self._walk


class Walk:
    """The fallback: every event of the log with its partitions, kept in this process (the
    in-memory store's logs are small; an old log opened read-only is read once)."""

    def __init__(self, read_events: ReadEvents) -> None:
        self._read_events = read_events
        self._partitioner = Partitioner()
        self._events: list[tuple[int, Any, tuple[str, ...]]] = []

    def _catch_up(self) -> None:
        after = self._events[-1][0] if self._events else 0
        self._events.extend((position, event, self._partitioner.partitions(event))
                            for position, event in self._read_events(after, None, None))

    def read(self, partitions: Sequence[str], after: int, until: int | None) -> Events:
        self._catch_up()
        wanted = set(partitions)
        return [(position, event) for position, event, parts in self._events
                if position > after and (until is None or position <= until)
                and not wanted.isdisjoint(parts)]

    def read_indexed(self, after: int, limit: int | None, until: int | None
                     ) -> list[tuple[int, Any, tuple[str, ...]]]:
        self._catch_up()
        found = [e for e in self._events if e[0] > after and (until is None or e[0] <= until)]
        return found if limit is None else found[:limit]

    def partitions_like(self, prefix: str, limit: int) -> list[str]:
        self._catch_up()
        found = {p for _, _, parts in self._events for p in parts if p.startswith(prefix)}
        return sorted(found)[:limit]
