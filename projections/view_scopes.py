"""Which partitions each live view is computed from, and which views each partition feeds.

A championship's standings read its own partition only. A target event's invitations and entry
list read the event's partition and the partitions it depends on: the championships and awards
its routes name (its own routes and those championships declare to it, joint parts included),
the championships that declare routes to it, and the championships of its automatic entries.
Dependencies are learnt from the definitions as they are folded and never forgotten (a revision
that drops a route leaves the older version readable at an earlier `as_of`), so the scope of a
view is a function of the log prefix alone, never of what a cache happens to hold.

`projections/partition_scope.py` finds the same scope in the fold of the event's partition (what
a query has at hand); the projector learns it event by event instead, because it must know a
championship's dependants when that championship's events arrive, with the event's fold
perhaps evicted. Both read a definition one way (`needed_by`, `offered_by` in
partition_scope.py); tests/unit/test_partition_folds.py checks that the two scopes agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.aggregates.championship import Championship
from domain.aggregates.target_event import TargetEvent
from domain.partitions import event_partition
from projections.catalog import CATALOG, Catalog
from projections.partition_scope import needed_by, offered_by

_DEFINITIONS = (TargetEvent.Registered, TargetEvent.Revised)
_CHAMPIONSHIPS = (Championship.Registered, Championship.Revised)


def event_dependencies(event: Any) -> dict[str, set[str]]:
    """Target event id → the partitions its views depend on, as this event declares them (the
    same reading of a definition as a query's, projections/partition_scope.py)."""
    definition = getattr(event, "definition", None)
    if not isinstance(definition, Mapping):
        return {}
    if isinstance(event, _DEFINITIONS):
        eid = definition.get("id")
        return {eid: needed_by(definition)} if isinstance(eid, str) else {}
    if isinstance(event, _CHAMPIONSHIPS):
        return offered_by(definition)
    return {}


class ViewScopes:
    """The dependencies learnt so far, both ways: a target event's partitions, and the target
    events each championship or award partition feeds. Grows with the definitions (O(routes)),
    never with the log. Which views a partition feeds, and which partitions a view reads, are
    the catalog's: a view reads its key's partition, and a routed key's view (a target event's)
    also what the key depends on."""

    def __init__(self, catalog: Catalog = CATALOG) -> None:
        self.catalog = catalog
        self._depends: dict[str, set[str]] = {}
        self._dependants: dict[str, set[str]] = {}
        self._homes = [(view.key.partition_of(""), view) for view in catalog.published]

    def learn(self, event: Any) -> None:
        for eid, partitions in event_dependencies(event).items():
            known = self._depends.setdefault(eid, set())
            for partition in partitions - known:
                known.add(partition)
                self._dependants.setdefault(partition, set()).add(eid)

    def scope(self, event_id: str) -> tuple[str, ...]:
        """The partitions a target event's views are computed from: its own first."""
        return (event_partition(event_id), *sorted(self._depends.get(event_id, ())))

    def scope_of(self, name: str) -> tuple[str, ...]:
        """The partitions a live view (`standings/aslms`) is computed from."""
        found = self.catalog.live(name)
        if found is None:
            raise LookupError(f"'{name}' is not a view the catalog publishes")
        view, key = found
        return self.scope(key) if view.key.routed else (view.key.partition_of(key),)

    def views_of(self, partition: str) -> set[str]:
        """The views a change in `partition` may change: those its key names, and the routed
        views of the keys that depend on it."""
        names = {view.name_of(partition.removeprefix(home))
                 for home, view in self._homes if partition.startswith(home)}
        for eid in self._dependants.get(partition, ()):
            names.update(view.name_of(eid) for _, view in self._homes if view.key.routed)
        return names
