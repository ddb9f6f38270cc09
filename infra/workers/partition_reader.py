"""How a projector folds one partition again from the log (after its fold was evicted, or after
a restart): through the ledger's partition index when it covers the log (`read_partitions`,
issue 10), else by scanning the log and keeping that partition's events (correct, but
proportional to the log: only for stores written before the index and not indexed yet)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.partitions import Partitioner
from projections.partition_folds import Item, Loader
from services.ledger import Ledger

SCAN_PAGE = 5000


def has_index(ledger: Ledger) -> bool:
    """Whether the ledger reads partitions through an index covering the log (a log without
    one is read by scanning here: bounded memory, rather than the ledger's in-memory walk)."""
    reads = getattr(ledger, "partitions", None)
    return bool(getattr(reads, "indexed", False))


def partition_loader(ledger: Ledger, indexed: bool | None = None) -> Loader:
    """`indexed`: what `has_index` answered (asked here when not given)."""
    if indexed if indexed is not None else has_index(ledger):
        read: Callable[..., list[Item]] = ledger.read_partitions

        def from_index(partition: str, until: int) -> list[Item]:
            return read([partition], 0, until)
        return from_index

    def by_scan(partition: str, until: int) -> list[Item]:
        return scan_partition(ledger, partition, until)
    return by_scan


def scan_partition(ledger: Ledger, partition: str, until: int) -> list[Item]:
    """The events of one partition up to `until`, found by reading the log from the start."""
    partitioner, found, after = Partitioner(), [], 0
    while after < until:
        page: list[tuple[int, Any]] = ledger.read_events(after, limit=SCAN_PAGE, until=until)
        if not page:
            break
        found += [(p, e) for p, e in page if partition in partitioner.partitions(e)]
        after = page[-1][0]
    return found
