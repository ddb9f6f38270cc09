"""Which partitions a view reads: a championship's views read its own partition; a target
event's views read the event's partition and every partition its routes and automatic entries
name, nothing else.

The dependencies are read from definitions, one way for every reader: `needed_by` (what a target
event's definition names) and `offered_by` (what a championship's definition names for each
target event it routes to). A query finds them in the fold of the event's partition, which holds
its definitions and the championship definitions that declare routes to it (domain/partitions.py):
`event_dependencies`. The projector learns them from the same definitions as they are folded
(projections/view_scopes.py). Both are tolerant: a malformed record names nothing (its view then
fails to compute and is absent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.partitions import award_partition, championship_partition, event_partition
from projections.ledger import LedgerState


def championship_scope(championship: str) -> tuple[str, ...]:
    return (championship_partition(championship),)


def event_dependencies(state: LedgerState, event_id: str) -> tuple[str, ...]:
    """The partitions a target event's views read, found in the fold of its own partition:
    every version of its definition and of the championship definitions routing to it counts,
    so a view at any point in time finds what it needs."""
    found = {event_partition(event_id)}
    for version in state.target_events.get(event_id, []):
        found |= needed_by(version.value)
    for versions in state.championships.values():
        for version in versions:
            found |= offered_by(version.value).get(event_id, set())
    return tuple(sorted(found))


def needed_by(definition: Mapping[str, Any]) -> set[str]:
    """The partitions a target event's definition names: its routes' sources and the
    championships of its automatic entries."""
    found: set[str] = set()
    for route in definition.get("invitation_routes", ()) or ():
        if isinstance(route, Mapping):
            found |= source_partitions(route)
    automatic = definition.get("automatic_entries", ()) or ()
    return found | _championships(a.get("championship") for a in automatic
                                  if isinstance(a, Mapping))


def offered_by(definition: Mapping[str, Any]) -> dict[str, set[str]]:
    """Target event → the partitions a championship's definition names for it: the
    championship's own and the sources of its routes to that event."""
    cid = definition.get("id")
    out: dict[str, set[str]] = {}
    for route in definition.get("invitation_routes", ()) or ():
        target = route.get("target_event") if isinstance(route, Mapping) else None
        if isinstance(target, str) and target and isinstance(cid, str):
            out.setdefault(target, set()).update(
                {championship_partition(cid)} | source_partitions(route))
    return out


def source_partitions(route: Mapping[str, Any]) -> set[str]:
    """The partitions a route record's source names."""
    source = route.get("source")
    if not isinstance(source, Mapping):
        return set()
    kind = source.get("type")
    if kind == "standings":
        return _championships([source.get("championship")])
    if kind == "joint":
        parts = source.get("parts") or ()
        return _championships(p.get("championship") for p in parts if isinstance(p, Mapping))
    award = source.get("award")
    return {award_partition(award)} if isinstance(award, str) else set()


def _championships(ids: Iterable[Any]) -> set[str]:
    return {championship_partition(c) for c in ids if isinstance(c, str)}
