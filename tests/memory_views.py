"""An in-memory ViewStore for tests of the workers that read views (the publisher)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.views import StoredView, TrackingConflictError, ViewStore, ViewTables
from infra.views.tracking import summary


class MemoryViewStore:
    """The ViewStore protocol in dicts: views, worker positions and publisher positions."""

    def __init__(self, tables: ViewTables | None = None) -> None:
        self.tables = tables or ViewTables()
        self.views: dict[str, StoredView] = {}
        self.positions: dict[str, int] = {}
        self.published: dict[str, int] = {}

    def position(self, worker: str) -> int:
        return summary(self.positions).get(worker, 0)

    def tracking(self) -> dict[str, int]:
        return dict(self.positions)

    def write_tracked(self, moves: Mapping[str, tuple[int, int]], position: int,
                      views: dict[str, str]) -> None:
        for key, (expected, _) in moves.items():
            if self.positions.get(key, 0) != expected:
                raise TrackingConflictError(f"{key} is not at {expected}")
        for name, body in views.items():
            self.views[name] = StoredView(name, position, body)
        self.positions.update({key: new for key, (_, new) in moves.items()})

    def migrate_tracking(self, legacy: str, keys: Sequence[str]) -> None:
        if legacy in self.positions:
            position = self.positions.pop(legacy)
            for key in keys:
                self.positions.setdefault(key, position)

    def write(self, worker: str, position: int, views: dict[str, str], *,
              expected: int | None = None) -> None:
        if expected is not None and self.position(worker) != expected:
            raise TrackingConflictError(f"{worker} is at {self.position(worker)}, not {expected}")
        for name, body in views.items():
            self.views[name] = StoredView(name, position, body)
        self.positions[worker] = position

    def read(self, name: str) -> StoredView | None:
        return self.views.get(name)

    def names(self) -> list[str]:
        return sorted(self.views)

    def changed_since(self, position: int, until: int | None = None) -> list[StoredView]:
        newer = [v for v in self.views.values()
                 if v.position > position and (until is None or v.position <= until)]
        return sorted(newer, key=lambda v: (v.position, v.name))

    def workers(self) -> dict[str, int]:
        return summary(self.positions)

    def published_position(self, publisher: str) -> int:
        return self.published.get(publisher, 0)

    def set_published(self, publisher: str, position: int) -> None:
        self.published[publisher] = position

    def publishers(self) -> dict[str, int]:
        return dict(self.published)

    def reset(self) -> None:
        self.views.clear()
        self.positions.clear()

    def swap_from(self, other: ViewStore) -> None:
        self.views = {name: view for name in other.names() if (view := other.read(name))}
        self.positions = other.tracking()
        other.drop()

    def drop(self) -> None:
        self.reset()

    def close(self) -> None:
        pass


def _conforms(store: MemoryViewStore) -> ViewStore:
    return store  # mypy checks that the fake still implements the protocol
