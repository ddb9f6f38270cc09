"""Who declares each invitation route. A route (target event, id) has one owner: the target
event's own file, or one championship's file. The ledger refuses a second owner; the views
count a route once even in a log that holds two (the event's own declaration first, then the
championships by id), so no holder is ever given two places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from projections.ledger import LedgerState, Recorded

RouteKey = tuple[str, str]  # (target event, route id)


@dataclass(frozen=True)
class Declaration:
    owner: str  # "target event lemans-2024" or "championship elms-2023"
    source: str  # the file or message the definition came from
    record: dict[str, Any]  # the route record, with its target event

    @property
    def key(self) -> RouteKey:
        return (self.record["target_event"], self.record["id"])


def event_owner(event_id: str) -> str:
    return f"target event {event_id}"


def championship_owner(championship: str) -> str:
    return f"championship {championship}"


def event_declarations(event_id: str, version: Recorded[dict[str, Any]]) -> list[Declaration]:
    return [Declaration(event_owner(event_id), version.source, {**r, "target_event": event_id})
            for r in version.value.get("invitation_routes", ())]


def championship_declarations(championship: str, version: Recorded[dict[str, Any]]
                              ) -> list[Declaration]:
    return [Declaration(championship_owner(championship), version.source, r)
            for r in version.value.get("invitation_routes", ())]


def first_owners(declarations: Iterable[Declaration]
                 ) -> tuple[list[Declaration], dict[RouteKey, list[Declaration]]]:
    """The declarations counted (the first of each route, in the given order) and, per route,
    the ones ignored after it."""
    kept: dict[RouteKey, Declaration] = {}
    ignored: dict[RouteKey, list[Declaration]] = {}
    for d in declarations:
        if d.key in kept:
            ignored.setdefault(d.key, []).append(d)
        else:
            kept[d.key] = d
    return list(kept.values()), ignored


def recorded_owners(state: LedgerState) -> dict[RouteKey, Declaration]:
    """Each route's owner by the latest recorded definitions, against which a new one is checked."""
    found: list[Declaration] = []
    for eid, versions in sorted(state.target_events.items()):
        found += event_declarations(eid, max(versions, key=lambda v: v.position))
    for cid, versions in sorted(state.championships.items()):
        found += championship_declarations(cid, max(versions, key=lambda v: v.position))
    return {d.key: d for d in first_owners(found)[0]}
