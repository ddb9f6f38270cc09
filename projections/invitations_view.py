"""Invitation state of a target event at (as_of, known_at): per route, the holder and status.

Before the organiser acts the state is computed: `pending` (no holder yet), `provisional`
(holder from standings still in progress), `earned` (season complete, or award granted). Once
the organiser records a decision, the recorded status and holder are shown.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import invitations as lifecycle
from domain.errors import PaddockError, UnknownTargetEventError
from domain.rules import AwardSource, InvitationRoute, JointSource, StandingsSource
from domain.standings import Placed
from projections.ledger import LedgerState, Recorded, Transition, winner
from projections.partition_scope import event_dependencies
from projections.route_owners import championship_declarations, event_declarations, first_owners
from projections.standings_view import SeasonAt, season_at


def _routes(state: LedgerState, event_id: str, event: Recorded[dict[str, Any]],
            as_of: datetime, known_at: datetime) -> list[tuple[InvitationRoute, list[str]]]:
    """The event's routes, each once (see projections/route_owners.py), with a note for each
    declaration of it that is not counted."""
    found = event_declarations(event_id, event)
    for cid in sorted(state.championships):
        current = winner(v for v in state.championships[cid] if v.visible(as_of, known_at))
        if current is not None:
            found += [d for d in championship_declarations(cid, current)
                      if d.record["target_event"] == event_id]
    kept, ignored = first_owners(found)
    return [(InvitationRoute.from_record(d.record),
             [f"declared again by {x.owner} ({x.source}): ignored, a route is counted once"
              for x in ignored.get(d.key, [])])
            for d in kept]


def invitations_view(state: LedgerState, event_id: str, as_of: datetime,
                     known_at: datetime, *, seasons: dict[str, SeasonAt | str] | None = None
                     ) -> dict[str, Any]:
    """`seasons` may carry championships already computed at the same (as_of, known_at)."""
    versions = [v for v in state.target_events.get(event_id, []) if v.visible(as_of, known_at)]
    current = winner(versions)
    if current is None:
        if event_id in state.target_events:
            raise UnknownTargetEventError(
                f"target event '{event_id}' was not yet registered at "
                f"as_of={as_of.isoformat()} / known_at={known_at.isoformat()}"
            )
        known = ", ".join(sorted(state.target_events)) or "none registered"
        raise UnknownTargetEventError(f"unknown target event '{event_id}' (known: {known})")
    defn = current.value
    seasons = {} if seasons is None else seasons
    routes = [
        _route_view(state, event_id, route, seasons, as_of, known_at, ignored)
        for route, ignored in _routes(state, event_id, current, as_of, known_at)
    ]
    invitations = [r for r in routes if r["kind"] == "invitation"]
    return {
        "event": event_id,
        "name": defn["name"],
        "as_of": as_of,
        "known_at": known_at,
        "log_position": state.position_known_at(known_at, event_dependencies(state, event_id)),
        "capacity": defn["capacity"],
        "classes": defn.get("classes", []),
        "routes": routes,
        "summary": {
            "invitation_routes": len(invitations),
            "with_holder": sum(1 for r in invitations if r["holder"]),
            "by_status": _count_by_status(invitations),
        },
    }


def _count_by_status(routes: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in routes:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return dict(sorted(counts.items()))


def _route_view(state: LedgerState, event_id: str, route: InvitationRoute,
                seasons: dict[str, SeasonAt | str], as_of: datetime,
                known_at: datetime, ignored: list[str]) -> dict[str, Any]:
    status, holder, notes = _computed(state, route, seasons, as_of, known_at)
    since = None
    recorded = _recorded_transition(state, event_id, route.id, as_of, known_at)
    if recorded is not None:
        status, since = recorded.value.status, recorded.effective_at
        holder = recorded.value.holder or holder
        if recorded.value.reason:
            notes = [*notes, recorded.value.reason]
    return {
        "route": route.id,
        "description": route.description,
        "kind": route.kind,
        "target_class": route.target_class,
        "beneficiary": route.beneficiary,
        "source": _describe_source(route),
        "status": status,
        "since": since,
        "holder": holder,
        "notes": [*notes, *ignored],
    }


def _recorded_transition(state: LedgerState, event_id: str, route: str, as_of: datetime,
                         known_at: datetime) -> Recorded[Transition] | None:
    facts = [t for t in state.invitations.get((event_id, route), []) if t.visible(as_of, known_at)]
    return max(facts, key=lambda t: (t.effective_at, t.position), default=None)


def _describe_source(route: InvitationRoute) -> str:
    src = route.source
    if isinstance(src, StandingsSource):
        return f"{src.championship} {src.class_id} standings, position {src.position}"
    if isinstance(src, JointSource):
        parts = " + ".join(f"{c} {k}" for c, k in src.parts)
        return f"joint classification of {parts} (team points added), position {src.position}"
    return f"award {src.award}"


def _computed(state: LedgerState, route: InvitationRoute, seasons: dict[str, SeasonAt | str],
              as_of: datetime, known_at: datetime) -> tuple[str, dict[str, Any] | None, list[str]]:
    src = route.source
    if isinstance(src, AwardSource):
        return _from_award(state, src, as_of, known_at)
    names = src.championships if isinstance(src, JointSource) else [src.championship]
    missing = [c for c in names if c not in state.championships]
    if missing:
        return lifecycle.PENDING, None, [f"{', '.join(missing)} not in the ledger yet"]
    found = {c: _season(state, c, seasons, as_of, known_at) for c in names}
    problems = [f"no standings: {s}" for s in found.values() if isinstance(s, str)]
    if problems:
        return lifecycle.PENDING, None, problems
    if isinstance(src, JointSource):
        return joint_holder({c: s for c, s in found.items() if isinstance(s, SeasonAt)}, src)
    season = found[src.championship]
    assert isinstance(season, SeasonAt)
    return _from_standings(season, src)


def _season(state: LedgerState, championship: str, seasons: dict[str, SeasonAt | str],
            as_of: datetime, known_at: datetime) -> SeasonAt | str:
    if championship not in seasons:
        try:
            seasons[championship] = season_at(state, championship, as_of, known_at)
        except PaddockError as error:
            seasons[championship] = error.message
    return seasons[championship]


def joint_classification(seasons: dict[str, SeasonAt], src: JointSource) -> list[dict[str, Any]]:
    """Teams ranked by their points added across the parts; equal sums share a position."""
    teams: dict[str, dict[str, Any]] = {}
    for championship, class_id in src.parts:
        for placed in seasons[championship].standings(class_id):
            c = placed.competitor
            team = teams.setdefault(c.team.casefold().strip(), {
                "team": c.team, "car": c.car, "points": Decimal(0), "parts": []})
            team["points"] += c.points
            team["parts"].append({"championship": championship, "class": class_id,
                                  "car": c.car, "points": c.points})
    ranked = sorted(teams.values(), key=lambda t: (-t["points"], t["team"].casefold()))
    for i, t in enumerate(ranked):
        same = i > 0 and ranked[i - 1]["points"] == t["points"]
        t["position"] = ranked[i - 1]["position"] if same else i + 1
    return ranked


def joint_holder(seasons: dict[str, SeasonAt], src: JointSource
                 ) -> tuple[str, dict[str, Any] | None, list[str]]:
    if not any(s.rounds for s in seasons.values()):
        return lifecycle.PENDING, None, ["no round of the joint classification published yet"]
    complete = all(s.complete for s in seasons.values())
    status = lifecycle.EARNED if complete else lifecycle.PROVISIONAL
    notes = [] if complete else ["joint classification in progress: "
                                 + ", ".join(c for c, s in seasons.items() if not s.complete)
                                 + " not complete"]
    at = [t for t in joint_classification(seasons, src) if t["position"] == src.position]
    if not at:
        return status, None, [*notes, f"nobody at position {src.position}"]
    if len(at) > 1:
        teams = ", ".join(t["team"] for t in at)
        return status, None, [*notes, f"unresolved tie between {teams}: needs a decision"]
    t = at[0]
    holder = {"joint": [f"{c} {k}" for c, k in src.parts], "team": t["team"], "car": t["car"],
              "points": t["points"], "parts": t["parts"]}
    return status, holder, notes


def _from_standings(season: SeasonAt, src: StandingsSource) -> tuple[str, dict[str, Any] | None, list[str]]:
    if not season.rounds:
        return lifecycle.PENDING, None, [f"no round of {src.championship} published yet"]
    rows = _at_position(season.standings(src.class_id), src.position)
    if not rows:
        return lifecycle.PENDING, None, [f"nobody at position {src.position} in {src.class_id}"]
    done = sorted(season.rounds)
    status = lifecycle.EARNED if season.complete else lifecycle.PROVISIONAL
    notes = [] if season.complete else [
        f"standings after round(s) {', '.join(map(str, done))} of {len(season.definition.rounds)}"
        + ("" if all(season.rounds[n].status == "official" for n in done) else ", not all official")
    ]
    if len(rows) > 1:
        cars = ", ".join(f"#{p.competitor.car}" for p in rows)
        return status, None, [*notes, f"unresolved tie between {cars}: needs a decision"]
    c = rows[0].competitor
    holder = {
        "championship": src.championship,
        "class": src.class_id,
        "car": c.car,
        "team": c.team,
        "points": c.points,
    }
    return status, holder, notes


def _at_position(placed: list[Placed], position: int) -> list[Placed]:
    """Who holds `position`: a tie group sharing position p covers places p..p+size-1."""
    for p in placed:
        size = sum(1 for q in placed if q.position == p.position)
        if p.position <= position < p.position + size:
            return [q for q in placed if q.position == p.position]
    return []


def _from_award(state: LedgerState, src: AwardSource, as_of: datetime,
                known_at: datetime) -> tuple[str, dict[str, Any] | None, list[str]]:
    grant = winner(g for g in state.awards.get(src.award, []) if g.visible(as_of, known_at))
    if grant is None:
        return lifecycle.PENDING, None, [f"award {src.award} not decided yet"]
    recipient = dict(grant.value.recipient)
    return lifecycle.EARNED, {"award": grant.value.name, **recipient}, []
