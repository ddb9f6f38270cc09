"""A target event's entry list at (as_of, known_at), or as a version was published: per class,
the entries, pending invitations, reserves in order and free places, each line with why.

The facts are gathered here from the fold; the list itself is computed by domain/entry_list.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.classification import ResultStatus
from domain.entry_list import BY_CLASS, ClassList, Desk, Invitation, Line, compose
from domain.errors import InvalidInputError
from domain.rules import DeclaredEntry, merge_entries
from projections.invitations_view import invitations_view
from projections.ledger import DeskDecision, LedgerState, Recorded, winner
from projections.partition_scope import event_dependencies
from projections.standings_view import SeasonAt

DEFAULT_MAX_INVITATIONS = 2


def entry_list_view(state: LedgerState, event_id: str, as_of: datetime, known_at: datetime,
                    *, published: int | None = None,
                    seasons: dict[str, SeasonAt | str] | None = None,
                    invitations: dict[str, Any] | None = None) -> dict[str, Any]:
    """`published=N`: the list exactly as version N was published (its as_of and known_at).
    `seasons` may carry championships, `invitations` the event's invitations view, already
    computed at the same (as_of, known_at)."""
    version = None
    if published is not None:
        version = publication(state, event_id, published)
        as_of, known_at = version.effective_at, version.recorded_at
        seasons, invitations = None, None
    seasons = {} if seasons is None else seasons
    if invitations is None:
        invitations = invitations_view(state, event_id, as_of, known_at, seasons=seasons)
    defn = _definition(state, event_id, as_of, known_at)
    decisions = [d for d in state.desk.get(event_id, []) if d.visible(as_of, known_at)]
    total, capacities = _capacities(defn, decisions)
    desk = Desk(
        capacity=total, class_capacities=capacities,
        automatic=_automatic(state, defn, as_of, known_at),
        invitations=[_invitation(state, event_id, r, seasons, as_of, known_at)
                     for r in invitations["routes"] if r["kind"] == "invitation"],
        granted=_granted(decisions), reserves=_reserves(decisions),
        max_invitations=int(defn.get("max_invitations_per_competitor", DEFAULT_MAX_INVITATIONS)),
        reserve_order=defn.get("reserve_order", BY_CLASS),
    )
    classes = compose(desk)
    return {
        "event": event_id, "name": defn["name"], "as_of": as_of, "known_at": known_at,
        "log_position": state.position_known_at(known_at, event_dependencies(state, event_id)),
        "published": None if version is None else {
            "version": version.value.values["version"], "note": version.value.values["note"],
            "position": version.position},
        "versions": [{"version": p.value.values["version"], "published_at": p.effective_at,
                      "recorded_at": p.recorded_at, "position": p.position}
                     for p in _publications(state, event_id) if p.visible(as_of, known_at)],
        "capacity": total,
        "max_invitations": desk.max_invitations,
        "reserve_order": desk.reserve_order,
        "entries": sum(len(c.entries) for c in classes),
        "free": sum(c.free for c in classes),
        "classes": [_class_json(c) for c in classes],
    }


def _definition(state: LedgerState, event_id: str, as_of: datetime,
                known_at: datetime) -> dict[str, Any]:
    current = winner(v for v in state.target_events.get(event_id, []) if v.visible(as_of, known_at))
    assert current is not None  # invitations_view raised otherwise
    return current.value


def _publications(state: LedgerState, event_id: str) -> list[Recorded[DeskDecision]]:
    return [d for d in state.desk.get(event_id, []) if d.value.kind == "published"]


def publication(state: LedgerState, event_id: str, version: int) -> Recorded[DeskDecision]:
    versions = _publications(state, event_id)
    found = [p for p in versions if p.value.values["version"] == version]
    if not found:
        raise InvalidInputError(
            f"{event_id} has no published entry list version {version} (published: "
            f"{', '.join(str(p.value.values['version']) for p in versions) or 'none yet'})")
    return found[0]


def _latest(decisions: list[Recorded[DeskDecision]], kind: str,
            key: str) -> dict[Any, Recorded[DeskDecision]]:
    """The decision in force per key (class): the latest by effective time, then log order."""
    out: dict[Any, Recorded[DeskDecision]] = {}
    for d in sorted((d for d in decisions if d.value.kind == kind),
                    key=lambda d: (d.effective_at, d.position)):
        out[d.value.values[key]] = d
    return out


def _capacities(defn: dict[str, Any],
                decisions: list[Recorded[DeskDecision]]) -> tuple[int, dict[str, int]]:
    classes = {c["id"]: int(c["capacity"]) for c in defn.get("classes", []) if "capacity" in c}
    total = int(defn["capacity"])
    for class_id, d in _latest(decisions, "capacity", "class_id").items():
        if class_id is None:
            total = int(d.value.values["capacity"])
        else:
            classes[class_id] = int(d.value.values["capacity"])
    return total, classes


def _automatic(state: LedgerState, defn: dict[str, Any], as_of: datetime,
               known_at: datetime) -> list[Line]:
    lines = []
    for source in defn.get("automatic_entries", []):
        cid = source["championship"]
        current = winner(v for v in state.championships.get(cid, []) if v.visible(as_of, known_at))
        if current is None:
            continue
        why = source.get("description", f"full-season entry of {cid}")
        for entry, position in _season_entries(state, cid, current, as_of, known_at):
            lines.append(Line(entry.class_id, entry.team, entry.car, "automatic", why, (position,)))
    return lines


def _season_entries(state: LedgerState, cid: str, current: Recorded[dict[str, Any]],
                    as_of: datetime, known_at: datetime) -> list[tuple[DeclaredEntry, int]]:
    """Each car's entry for its last rounds (a car that changed class enters in its latest
    class), with the log position of the fact that declared it."""
    entries = tuple(DeclaredEntry.from_record(e) for e in current.value.get("entries", []))
    positions = {e.car: current.position for e in entries}
    declared = [d for d in state.entries.get(cid, []) if d.visible(as_of, known_at)]
    for fact in sorted(declared, key=lambda f: (f.effective_at, f.position)):
        entries = merge_entries(entries, DeclaredEntry.from_record(fact.value))
        positions[fact.value["car"]] = fact.position
    last: dict[str, DeclaredEntry] = {}
    for e in entries:
        if e.car not in last or e.later_than(last[e.car]):
            last[e.car] = e
    order = dict.fromkeys([*positions, *(d.value["car"] for d in declared)])  # file, then log order
    return [(last[car], positions[car]) for car in order]


def _invitation(state: LedgerState, event_id: str, route: dict[str, Any],
                seasons: dict[str, SeasonAt | str], as_of: datetime,
                known_at: datetime) -> Invitation:
    holder = route["holder"] or {}
    why = route["description"] + (f" ({route['source']})" if route["source"] else "")
    return Invitation(
        route=route["route"], class_id=route["target_class"], status=route["status"],
        team=holder.get("team"), car=holder.get("car"), driver=holder.get("driver"),
        personal=route["beneficiary"] == "driver", why=why,
        facts=_route_facts(state, event_id, route, as_of, known_at),
        problem=_missed_rounds(holder, seasons),
    )


def _route_facts(state: LedgerState, event_id: str, route: dict[str, Any], as_of: datetime,
                 known_at: datetime) -> tuple[int, ...]:
    """Log positions behind a route's line: the award granted, the organiser's decisions on it
    (a standings holder is explained by `paddock audit explain`)."""
    award = route["source"].removeprefix("award ") if route["source"].startswith("award ") else None
    grants = [g.position for g in state.awards.get(award or "", []) if g.visible(as_of, known_at)]
    decisions = [t.position for t in state.invitations.get((event_id, route["route"]), [])
                 if t.visible(as_of, known_at)]
    return tuple(sorted([*grants, *decisions]))


def _missed_rounds(holder: dict[str, Any], seasons: dict[str, SeasonAt | str]) -> str | None:
    """A route earned in standings needs the car to have contested every published round of
    its series (the season was computed for the route's holder, at the same times)."""
    season = seasons.get(str(holder.get("championship")))
    if not isinstance(season, SeasonAt) or "class" not in holder:
        return None
    car = holder["car"]
    if not any(p.competitor.car == car for p in season.standings(holder["class"])):
        return None
    # in any class: a car that changed class mid-season contested the rounds of both
    missed = [n for n, rs in sorted(season.rounds.items())
              if not any(r.car == car and r.status is not ResultStatus.DID_NOT_START
                         for r in rs.rows)]
    if not missed:
        return None
    return (f"car #{holder['car']} did not contest round(s) {', '.join(map(str, missed))} of "
            f"{holder['championship']}: the route requires every round")


def _granted(decisions: list[Recorded[DeskDecision]]) -> list[Line]:
    return [Line(d.value.values["class_id"], d.value.values["team"], d.value.values["car"],
                 "committee", f"place granted by the selection committee "
                 f"({d.value.values['reference']}){_reason(d)}", (d.position,))
            for d in decisions if d.value.kind == "grant"]


def _reserves(decisions: list[Recorded[DeskDecision]]) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = {}
    for class_id, d in _latest(decisions, "reserves", "class_id").items():
        out[class_id] = [
            Line(r.get("class", class_id), r["team"], r.get("car"), "reserve",
                 f"ranked by the organiser{_reason(d)}", (d.position,))
            for r in d.value.values["ranked"]]
    return out


def _reason(d: Recorded[DeskDecision]) -> str:
    reason = d.value.values.get("reason")
    return f": {reason}" if reason else ""


def _line_json(line: Line) -> dict[str, Any]:
    return {"team": line.team, "car": line.car, "driver": line.driver, "basis": line.basis,
            "route": line.route, "state": line.state, "why": line.why, "note": line.note,
            "facts": list(line.facts)}


def _class_json(c: ClassList) -> dict[str, Any]:
    return {"class": c.class_id, "capacity": c.capacity, "free": c.free, "over": c.over,
            "entries": [_line_json(x) for x in c.entries],
            "pending": [_line_json(x) for x in c.pending],
            "reserves": [_line_json(x) for x in c.reserves],
            "refused": [_line_json(x) for x in c.refused],
            "released": [_line_json(x) for x in c.released]}


def entry_list_diff(state: LedgerState, event_id: str, before: int, after: int) -> dict[str, Any]:
    """What changed between two published versions, per class, and why: places taken or held
    (entries and pending invitations) added, with the reason they are there now, and removed,
    with what became of them."""
    old, new = (_as_published(state, event_id, v) for v in (before, after))
    classes = []
    for o, n in zip(old["classes"], new["classes"], strict=True):
        was = {_key(x): x for part in ("entries", "pending") for x in o[part]}
        now = {_key(x): x for part in ("entries", "pending") for x in n[part]}
        elsewhere = {_key(x): x for part in ("reserves", "refused", "released") for x in n[part]}
        added = [now[k] for k in now if k not in was]
        holders = {x["route"]: x for x in added if x["route"]}
        removed = [{**was[k], "now": elsewhere.get(k), "route_now_held_by": holders.get(was[k]["route"])}
                   for k in was if k not in now]
        if added or removed or o["capacity"] != n["capacity"]:
            classes.append({"class": n["class"], "capacity": [o["capacity"], n["capacity"]],
                            "added": added, "removed": removed})
    return {"event": event_id, "from": old["published"], "to": new["published"],
            "from_as_of": old["as_of"], "to_as_of": new["as_of"], "classes": classes}


def _key(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line["team"], line["car"], line["route"], line["driver"])


def _as_published(state: LedgerState, event_id: str, version: int) -> dict[str, Any]:
    p = publication(state, event_id, version)
    return entry_list_view(state, event_id, p.effective_at, p.recorded_at, published=version)
