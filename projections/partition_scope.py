"""Which partitions a view reads: a championship's views read its own partition; a target
event's views read the event's partition and every partition its routes and automatic entries
name, nothing else.

The event's partition holds its definitions and the championship definitions that declare
routes to it (domain/partitions.py), so the dependencies are found from it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.partitions import award_partition, championship_partition, event_partition
from domain.rules import AwardSource, InvitationRoute, JointSource, StandingsSource
from projections.ledger import LedgerState


def championship_scope(championship: str) -> tuple[str, ...]:
    return (championship_partition(championship),)


def event_dependencies(state: LedgerState, event_id: str) -> tuple[str, ...]:
    """The partitions a target event's views read, found in the fold of its own partition:
    every version of its definition and of the championship definitions routing to it counts,
    so a view at any point in time finds what it needs."""
    found = {event_partition(event_id)}
    for version in state.target_events.get(event_id, []):
        definition = version.value
        found.update(_sources(definition.get("invitation_routes", ()), event_id))
        found.update(championship_partition(str(a["championship"]))
                     for a in definition.get("automatic_entries", ()))
    for championship, versions in state.championships.items():
        found.add(championship_partition(championship))
        for version in versions:
            routes = [r for r in version.value.get("invitation_routes", ())
                      if r.get("target_event") == event_id]
            found.update(_sources(routes, event_id))
    return tuple(sorted(found))


def _sources(routes: Iterable[dict[str, Any]], event_id: str) -> set[str]:
    named: set[str] = set()
    for record in routes:
        source = InvitationRoute.from_record({"target_event": event_id, **record}).source
        if isinstance(source, StandingsSource):
            named.add(championship_partition(source.championship))
        elif isinstance(source, JointSource):
            named.update(championship_partition(c) for c in source.championships)
        elif isinstance(source, AwardSource):
            named.add(award_partition(source.award))
    return named
