"""The partition index: one row per (partition, log position) of every event, with its two
times, written by the chained recorders in the same transaction as the event itself.

A reader that answers about one championship selects that partition's rows through the index
(`PRIMARY KEY (partition, position)`), never the whole log. The Ledger hands the index entries
to `insert_events` as the keyword `partition_index`, aligned with the events it saves
(domain/partitions.py says which partitions a fact belongs to).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Notification, PersistenceError, StoredEvent

from domain.partitions import IndexEntry

INDEX_SUFFIX = "_partitions"
INDEX_KEYWORD = "partition_index"
MAX_PARTITIONS_PER_READ = 500
"""A target event depends on the championships its routes name: a few dozen at most."""


EARLY = "effective_at > recorded_at"
"""The facts recorded before they take effect: the only ones that can wait for T (a projector
resuming at a position routes them when T passes their effective time)."""


def time_indexes(table: str) -> list[str]:
    """What a resuming projector asks of the index without scanning it: the latest recorded
    time (`<table>_recorded`, read from its top) and the facts recorded early (`<table>_early`,
    a partial index: only those rows, so appends pay little for it). SQLite's; PostgreSQL's
    are the same statements composed with its identifiers (infra/chain/postgres.py)."""
    return [f"CREATE INDEX IF NOT EXISTS {table}_recorded ON {table} (recorded_at)",
            f"CREATE INDEX IF NOT EXISTS {table}_early ON {table} (effective_at) WHERE {EARLY}"]


class UnindexedAppendError(PersistenceError):
    """An append came without its partition index: it would be invisible to partition reads."""


def index_entries(stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]
                  ) -> Sequence[IndexEntry]:
    """The partition index entries of an append, one per event (refused when missing)."""
    entries: Sequence[IndexEntry] | None = kwargs.get(INDEX_KEYWORD)
    if entries is None or len(entries) != len(stored_events) or not all(
            entry.partitions for entry in entries):
        raise UnindexedAppendError(
            f"{len(stored_events)} events appended with "
            f"{'no' if entries is None else len(entries)} partition index entries: nothing was "
            "recorded (events are saved through services.ledger.Ledger, which indexes them)")
    return entries


def index_rows(ids: Sequence[int], entries: Sequence[IndexEntry]
               ) -> list[tuple[str, int, datetime | None, datetime | None]]:
    """(partition, position, effective_at, recorded_at) rows for appended events."""
    return [(partition, position, entry.effective_at, entry.recorded_at)
            for position, entry in zip(ids, entries, strict=True)
            for partition in dict.fromkeys(entry.partitions)]


def homes(entries: Sequence[IndexEntry]) -> list[str]:
    """The home partition of each event (its chain): the first it is indexed under."""
    return [entry.partitions[0] for entry in entries]


def check_partitions(partitions: Iterable[str]) -> list[str]:
    wanted = sorted(set(partitions))
    if len(wanted) > MAX_PARTITIONS_PER_READ:
        raise ValueError(f"{len(wanted)} partitions in one read (at most "
                         f"{MAX_PARTITIONS_PER_READ})")
    return wanted


def prefix_end(prefix: str) -> str:
    """The least key after every key that starts with `prefix` (a non-empty prefix)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class PartitionIndex:
    """What the chained recorders add for partition reads."""

    index_table_name: str

    @abstractmethod
    def select_partitions(self, partitions: Sequence[str], after: int, until: int | None,
                          limit: int) -> list[Notification]:
        """Events of the partitions after position `after` (up to `until`), ascending, each
        once, at most `limit` of them."""

    @abstractmethod
    def select_index(self, after: int, until: int) -> list[tuple[int, str]]:
        """(position, partition) rows with `after < position <= until`, ascending by position."""

    @abstractmethod
    def index_head(self) -> int | None:
        """The last indexed position (None: the index table is missing; 0: empty)."""

    @abstractmethod
    def partitions_like(self, prefix: str, limit: int) -> list[str]:
        """Partition keys starting with `prefix`, sorted, at most `limit` of them."""

    @abstractmethod
    def select_times(self, until: int) -> tuple[datetime | None, list[tuple[int, str, datetime]]]:
        """Where time stands after the events up to `until`, from the index alone: the latest
        `recorded_at` of a fact (T), and the (position, partition, effective_at) rows of the
        facts that take effect after T, ascending by position (what a projector resuming at
        `until` routes when T passes them)."""

    @abstractmethod
    def first_position(self, partition: str) -> int | None:
        """The position of the partition's first event (None: it has none)."""

    @abstractmethod
    def write_index(self, rows: Sequence[tuple[str, int, datetime | None, datetime | None]],
                    *, replace: bool) -> None:
        """Store index rows in one transaction (all rows first deleted when `replace`): to index
        a log written before Paddock kept the index."""
