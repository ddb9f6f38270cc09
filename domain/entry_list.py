"""The organiser's entry list, computed: who has a place at a target event, who may still take
one, who waits, and why each line is there.

Nothing here is stored: the list at any date follows from facts (automatic entries, invitations
and the organiser's decisions on them, places granted by the selection committee, the ranked
reserves, capacities), so a decline frees a place and promotes the first reserve of its class
from the decline's effective time, and every earlier list can be recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

ENTRY, PENDING, REFUSED, RELEASED, RESERVE = "entry", "pending", "refused", "released", "reserve"
BY_CLASS, OVERALL = "class", "overall"
"""Reserve orders: a ranked list per class filling that class's free places, or one list
ranked across classes (key OVERALL in `reserves`) filling the event's free places in order,
each reserve in its own class."""
HELD_BY_DECISION = frozenset({"confirmed", "accepted", "redeemed"})
RELEASING = frozenset({"declined", "withdrawn", "reallocated"})


@dataclass(frozen=True)
class Line:
    """One line of the list: a car (or a driver still to be placed) and why it is there."""

    class_id: str
    team: str
    car: str | None
    basis: str  # automatic | invitation | committee | reserve
    why: str
    facts: tuple[int, ...] = ()
    route: str | None = None
    driver: str | None = None
    state: str = ENTRY
    note: str = ""

    @property
    def competitor(self) -> str:
        return self.team.casefold().strip()


@dataclass(frozen=True)
class Invitation:
    """An invitation as the desk sees it: its route, holder and lifecycle status."""

    route: str
    class_id: str
    status: str  # pending, provisional, earned, or a recorded lifecycle status
    team: str | None
    car: str | None
    driver: str | None
    personal: bool  # awarded to a driver, who must be placed with a team
    why: str
    facts: tuple[int, ...] = ()
    problem: str | None = None  # a condition not met (e.g. a round missed)


@dataclass(frozen=True)
class ClassList:
    class_id: str
    capacity: int
    entries: tuple[Line, ...]
    pending: tuple[Line, ...]
    reserves: tuple[Line, ...]
    refused: tuple[Line, ...]
    released: tuple[Line, ...]

    @property
    def free(self) -> int:
        return max(0, self.capacity - len(self.entries) - len(self.pending))

    @property
    def over(self) -> int:
        return max(0, len(self.entries) + len(self.pending) - self.capacity)


@dataclass(frozen=True)
class Desk:
    """Everything the list is computed from, at one (as_of, known_at)."""

    capacity: int
    class_capacities: Mapping[str, int]
    automatic: Sequence[Line] = ()
    invitations: Sequence[Invitation] = ()
    granted: Sequence[Line] = ()
    reserves: Mapping[str, Sequence[Line]] = field(default_factory=dict)
    max_invitations: int = 2
    reserve_order: str = BY_CLASS


def compose(desk: Desk) -> list[ClassList]:
    """The list per class, in the order the classes are defined."""
    lines = _invitation_lines(desk.invitations, desk.max_invitations)
    held = {c: _held(desk, lines, c) for c in desk.class_capacities}
    promoted, waiting = _reserves(desk, held)
    out = []
    for class_id, capacity in desk.class_capacities.items():
        taken, pending = held[class_id]
        mine = [ln for ln in lines if ln.class_id == class_id]
        out.append(ClassList(
            class_id, capacity, (*taken, *_of(promoted, class_id)), tuple(pending),
            tuple(_of(waiting, class_id)),
            tuple(ln for ln in mine if ln.state == REFUSED),
            tuple(ln for ln in mine if ln.state == RELEASED),
        ))
    return out


def _held(desk: Desk, lines: list[Line], class_id: str) -> tuple[list[Line], list[Line]]:
    """A class's entries (automatic, granted, invitations held) and pending invitations."""
    mine = [ln for ln in lines if ln.class_id == class_id]
    taken = [*_of(desk.automatic, class_id), *_of(desk.granted, class_id),
             *(ln for ln in mine if ln.state == ENTRY)]
    return taken, [ln for ln in mine if ln.state == PENDING]


def _reserves(desk: Desk, held: dict[str, tuple[list[Line], list[Line]]]
              ) -> tuple[list[Line], list[Line]]:
    """Promoted reserves and those still waiting, by the event's reserve order."""
    if desk.reserve_order == OVERALL:
        used = sum(len(t) + len(p) for t, p in held.values())
        return _promote(list(desk.reserves.get(OVERALL, ())), desk.capacity - used, "overall")
    promoted: list[Line] = []
    waiting: list[Line] = []
    for class_id, capacity in desk.class_capacities.items():
        taken, pending = held[class_id]
        up, wait = _promote(list(desk.reserves.get(class_id, ())),
                            capacity - len(taken) - len(pending), f"in {class_id}")
        promoted += up
        waiting += wait
    return promoted, waiting


def _of(lines: Iterable[Line], class_id: str) -> list[Line]:
    return [ln for ln in lines if ln.class_id == class_id]


def _promote(reserves: list[Line], free: int, scope: str) -> tuple[list[Line], list[Line]]:
    """The first `free` reserves take the free places, in the organiser's order."""
    count = max(0, min(free, len(reserves)))
    promoted = [replace(r, basis="reserve", state=ENTRY,
                        why=f"reserve #{i + 1} {scope}, promoted to a free place; {r.why}")
                for i, r in enumerate(reserves[:count])]
    rest = [replace(r, state=RESERVE, why=f"reserve #{count + i + 1} {scope}; {r.why}")
            for i, r in enumerate(reserves[count:])]
    return promoted, rest


def _invitation_lines(invitations: Sequence[Invitation], limit: int) -> list[Line]:
    """Each invitation's line; a competitor's invitations beyond `limit` are refused, in the
    order the routes are defined (the earlier routes keep theirs)."""
    held: dict[str, list[str]] = {}
    out = []
    for inv in invitations:
        line = _line(inv)
        if line.state in (ENTRY, PENDING) and inv.team:
            routes = held.setdefault(line.competitor, [])
            if len(routes) >= limit:
                line = replace(line, state=REFUSED, note=(
                    f"refused: {inv.team} already holds {len(routes)} invitations "
                    f"({', '.join(routes)}); a competitor holds at most {limit}"))
            else:
                routes.append(inv.route)
        out.append(line)
    return out


def _line(inv: Invitation) -> Line:
    base = Line(inv.class_id, inv.team or "", inv.car, "invitation", inv.why, inv.facts,
                inv.route, inv.driver)
    if inv.problem:
        return replace(base, state=REFUSED, note=f"refused: {inv.problem}")
    if inv.status in RELEASING:
        return replace(base, state=RELEASED, note=f"{inv.status}: its place is free")
    if inv.status in HELD_BY_DECISION:
        if inv.personal and not (inv.team and inv.car):
            return replace(base, state=PENDING, note=(
                f"personal invitation to {inv.driver}: not an entry until placed with a team"))
        return base
    if inv.team is None and inv.driver is None:
        return replace(base, state=PENDING, note="no holder yet")
    note = (f"personal invitation to {inv.driver}: not an entry until placed with a team"
            if inv.personal else f"{inv.status}: awaiting the organiser's confirmation")
    return replace(base, state=PENDING, note=note)
