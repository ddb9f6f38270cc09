"""Persisted live views: the interface every backend (SQLite, PostgreSQL) implements.

Tables (docs/SERVICE.md), each name followed by the store's suffix ("" for the live set,
"_rebuild" while a rebuild builds a fresh set next to it):
- `paddock_views(name, position, body)`: a view's canonical JSON and the tracking position at
  which it was last written (the body names the log position it reflects, `log_position`);
- `paddock_view_tracking(worker, position)`: the log position the views reflect, one row per
  partition group (`<worker>#<group>/<groups>`, infra/views/tracking.py) or one for all;
- `paddock_publish_tracking(publisher, position)`: what a publisher has published (never
  suffixed: a rebuild does not change what was published).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

VIEWS = "paddock_views"
VIEW_TRACKING = "paddock_view_tracking"
PUBLISH_TRACKING = "paddock_publish_tracking"
REBUILD_SUFFIX = "_rebuild"
_SUFFIX = re.compile(r"^[a-z0-9_]*$")


@dataclass(frozen=True)
class StoredView:
    name: str
    position: int
    body: str


class TrackingConflictError(Exception):
    """The tracked position is not the one the writer expected (another writer, or a rebuild
    swapped the views in): nothing was written; reload from the tracked position."""


@dataclass(frozen=True)
class ViewTables:
    """The table names of one set of views."""

    suffix: str = ""

    def __post_init__(self) -> None:
        if not _SUFFIX.match(self.suffix):
            raise ValueError(f"view table suffix {self.suffix!r}: use lower-case letters, digits, _")

    @property
    def views(self) -> str:
        return VIEWS + self.suffix

    @property
    def tracking(self) -> str:
        return VIEW_TRACKING + self.suffix

    @property
    def views_index(self) -> str:
        return f"{self.views}_by_position"

    @property
    def publish(self) -> str:
        return PUBLISH_TRACKING


class ViewStore(Protocol):
    """Views and the positions they reflect. `write` is one transaction: views and tracking."""

    tables: ViewTables

    def position(self, worker: str) -> int:
        """The log position all the worker's views reflect (0 before the first write): its
        row's, or the least of its groups' rows (infra/views/tracking.py `summary`)."""
        ...

    def tracking(self) -> dict[str, int]:
        """Every tracking row as it is stored (key → position)."""
        ...

    def write_tracked(self, moves: Mapping[str, tuple[int, int]], position: int,
                      views: dict[str, str]) -> None:
        """Move each tracking key from its expected position to its new one and upsert `views`
        at `position`, atomically; a key not at its expected position (absent counts as 0)
        raises `TrackingConflictError` and nothing is written."""
        ...

    def migrate_tracking(self, legacy: str, keys: Sequence[str]) -> None:
        """Replace the row `legacy` by rows `keys` at its position, atomically (no-op once done:
        several processes may try at once)."""
        ...

    def write(self, worker: str, position: int, views: dict[str, str], *,
              expected: int | None = None) -> None:
        """Upsert `views` (name → canonical JSON) at `position` and track it, atomically.

        With `expected`, the write happens only if the worker's tracked position is still
        `expected`; otherwise it raises `TrackingConflictError` and writes nothing."""
        ...

    def read(self, name: str) -> StoredView | None: ...

    def names(self) -> list[str]: ...

    def changed_since(self, position: int, until: int | None = None) -> list[StoredView]:
        """Views written after `position` (and at or before `until`), ordered by position then
        name."""
        ...

    def workers(self) -> dict[str, int]:
        """Every projection worker's tracked position (the least of its groups')."""
        ...

    def published_position(self, publisher: str) -> int: ...

    def set_published(self, publisher: str, position: int) -> None: ...

    def publishers(self) -> dict[str, int]:
        """Every publisher's published position."""
        ...

    def reset(self) -> None:
        """Empty this store's views and tracking (a rebuild starts from nothing)."""
        ...

    def swap_from(self, other: ViewStore) -> None:
        """Replace this store's views and tracking by `other`'s in one transaction; `other`'s
        tables are gone afterwards (renamed into place, or copied then dropped)."""
        ...

    def drop(self) -> None:
        """Remove this store's views and tracking tables (not the publish tracking)."""
        ...

    def close(self) -> None: ...


class TrackedWrites:
    """`write` and `write_tracked` over a backend's transaction, tracking check and upsert."""

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _track(self, cur: Any, worker: str, position: int, expected: int | None) -> None:
        raise NotImplementedError

    def _upsert_views(self, cur: Any, position: int, views: dict[str, str]) -> None:
        raise NotImplementedError

    def write(self, worker: str, position: int, views: dict[str, str], *,
              expected: int | None = None) -> None:
        self._write({worker: (expected, position)}, position, views)

    def write_tracked(self, moves: Mapping[str, tuple[int, int]], position: int,
                      views: dict[str, str]) -> None:
        self._write(moves, position, views)

    def _write(self, moves: Mapping[str, tuple[int | None, int]], position: int,
               views: dict[str, str]) -> None:
        with self._transaction() as cur:
            self._track_all(cur, moves)
            self._upsert_views(cur, position, views)

    def _track_all(self, cur: Any, moves: Mapping[str, tuple[int | None, int]]) -> None:
        """Every key checked and moved (in key order: two writers never wait on each other
        the other way round)."""
        for key, (expected, new) in sorted(moves.items()):
            self._track(cur, key, new, expected)

