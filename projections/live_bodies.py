"""How the catalog's published views are computed live (pure, no I/O): the `live` functions the
catalog's lines name (projections/catalog.py), each `(state, key, at, computed)` → the body.

They share what a view computed before them at the same time (`computed`): the standings
compute each championship's season once, the invitations and entry lists read it; an entry
list starts from its event's invitations. An event's entry list exists once a class of it has a
number of places (`has_places`): without one there is no list to publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.catalog import invitations_name
from projections.entry_list_view import entry_list_view
from projections.invitations_view import invitations_view
from projections.ledger import LedgerState
from projections.live_views import Computed
from projections.standings_view import season_at, standings_view


def live_standings(state: LedgerState, championship: str, at: datetime,
                   computed: Computed) -> dict[str, Any]:
    season = season_at(state, championship, at, at)
    computed.seasons[championship] = season
    return standings_view(state, championship, at, at, season=season)


def live_invitations(state: LedgerState, event_id: str, at: datetime,
                     computed: Computed) -> dict[str, Any]:
    return invitations_view(state, event_id, at, at, seasons=computed.seasons)


def live_entry_list(state: LedgerState, event_id: str, at: datetime,
                    computed: Computed) -> dict[str, Any] | None:
    if not has_places(state, event_id, at):
        return None
    return entry_list_view(state, event_id, at, at, seasons=computed.seasons,
                           invitations=computed.bodies.get(invitations_name(event_id)))


def has_places(state: LedgerState, event_id: str, at: datetime) -> bool:
    """Whether a class of the event has had a number of places by T = `at`: in a version of
    its definition in effect by then, or by an organiser's decision. Any version counts, not
    only the current one, so that the view, once it exists, exists at every later T (a store
    never deletes one)."""
    defined = any("capacity" in c for v in state.target_events.get(event_id, [])
                  if v.visible(at, at) for c in v.value.get("classes", []))
    decided = any(d.value.kind == "capacity" and d.value.values.get("class_id") is not None
                  for d in state.desk.get(event_id, []) if d.visible(at, at))
    return defined or decided
