"""Persisted live views: the interface every backend (SQLite, PostgreSQL) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredView:
    name: str
    position: int
    body: str


class ViewStore(Protocol):
    """Views and the positions they reflect. `write` is one transaction: views and tracking."""

    def position(self, worker: str) -> int:
        """The log position the worker's views reflect (0 before the first write)."""
        ...

    def write(self, worker: str, position: int, views: dict[str, str]) -> None:
        """Upsert `views` (name → canonical JSON) at `position` and track it, atomically."""
        ...

    def read(self, name: str) -> StoredView | None: ...

    def names(self) -> list[str]: ...

    def changed_since(self, position: int) -> list[StoredView]:
        """Views written after `position`, ordered by position then name."""
        ...

    def published_position(self, publisher: str) -> int: ...

    def set_published(self, publisher: str, position: int) -> None: ...

    def close(self) -> None: ...
