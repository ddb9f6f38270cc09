"""Championship rules as data: classes, calendar, points scales, pole points, tie-breaks, routes.

These are the normalised records stored in events; files from users are validated at the edge
(services/season_files.py) before they become these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.errors import UnknownClassError, UnknownRoundError

TIE_BREAKS = ("countback",)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True)
class ClassDef:
    """A class, or a sub-class (with `parent`) whose cars may also score in the parent class."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    scores_in_parent: bool = True
    match_group: str | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> ClassDef:
        return cls(
            id=r["id"],
            name=r.get("name") or r["id"],
            aliases=tuple(r.get("aliases", ())),
            parent=r.get("parent"),
            scores_in_parent=bool(r.get("scores_in_parent", True)),
            match_group=r.get("match_group"),
        )


@dataclass(frozen=True)
class RoundDef:
    """A round of the calendar and the scoring that applies to it."""

    number: int
    name: str
    flag_at: datetime
    scale: str
    multiplier: Decimal = Decimal(1)
    half_points: bool = False
    pole_points: Decimal | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> RoundDef:
        return cls(
            number=int(r["number"]),
            name=r["name"],
            flag_at=datetime.fromisoformat(r["flag_at"]),
            scale=r["scale"],
            multiplier=_dec(r.get("multiplier", 1)),
            half_points=bool(r.get("half_points", False)),
            pole_points=None if r.get("pole_points") is None else _dec(r["pole_points"]),
        )

    def points_for(self, place: int, scale: tuple[Decimal, ...]) -> Decimal:
        """Points for the n-th classified car of a class in this round."""
        if place > len(scale):
            return Decimal(0)
        points = scale[place - 1] * self.multiplier
        return points / 2 if self.half_points else points


@dataclass(frozen=True)
class StandingsSource:
    championship: str
    class_id: str
    position: int


@dataclass(frozen=True)
class AwardSource:
    award: str


@dataclass(frozen=True)
class JointSource:
    """A classification across championships (the SRO/ACO joint GT classification): a team's
    points in each part's class, added up; `position` of the sum holds the route."""

    parts: tuple[tuple[str, str], ...]  # (championship, class)
    position: int

    @property
    def championships(self) -> list[str]:
        return [c for c, _ in self.parts]


RouteSource = StandingsSource | AwardSource | JointSource


@dataclass(frozen=True)
class InvitationRoute:
    """How a place at a target event is earned. `priority` routes are not invitations."""

    id: str
    target_event: str
    target_class: str
    kind: str
    beneficiary: str
    description: str
    source: RouteSource

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> InvitationRoute:
        s = r["source"]
        source: RouteSource
        if s["type"] == "standings":
            source = StandingsSource(s["championship"], s["class"], int(s.get("position", 1)))
        elif s["type"] == "joint":
            source = JointSource(tuple((p["championship"], p["class"]) for p in s["parts"]),
                                 int(s.get("position", 1)))
        else:
            source = AwardSource(s["award"])
        return cls(
            id=r["id"],
            target_event=r["target_event"],
            target_class=r["target_class"],
            kind=r.get("kind", "invitation"),
            beneficiary=r.get("beneficiary", "team"),
            description=r.get("description", r["id"]),
            source=source,
        )


@dataclass(frozen=True)
class DeclaredEntry:
    """A car's entry (team, class, drivers) for the rounds `from_round`..`until_round`
    (inclusive; None: open-ended): a car that changes class has one entry per class."""

    car: str
    team: str
    class_id: str
    drivers: tuple[str, ...] = ()
    from_round: int | None = None
    until_round: int | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> DeclaredEntry:
        first, last = r.get("from_round"), r.get("until_round")
        return cls(str(r["car"]), r["team"], r["class"], tuple(r.get("drivers", ())),
                   None if first is None else int(first), None if last is None else int(last))

    def covers(self, number: int) -> bool:
        return (self.from_round or 1) <= number and (self.until_round is None or number <= self.until_round)

    def overlap(self, other: DeclaredEntry) -> int | None:
        """The first round both entries cover, if any."""
        first = max(self.from_round or 1, other.from_round or 1)
        lasts = [x for x in (self.until_round, other.until_round) if x is not None]
        return first if not lasts or first <= min(lasts) else None

    @property
    def rounds_text(self) -> str:
        if self.from_round is None and self.until_round is None:
            return "every round"
        if self.until_round is None:
            return f"from round {self.from_round}"
        if self.from_round is None:
            return f"until round {self.until_round}"
        return f"rounds {self.from_round}-{self.until_round}"

    def later_than(self, other: DeclaredEntry) -> bool:
        """Covers later rounds: the entry a car ends the season with."""
        def key(e: DeclaredEntry) -> tuple[bool, int, int]:
            return (e.until_round is None, e.until_round or 0, e.from_round or 0)
        return key(self) > key(other)

    def outside(self, other: DeclaredEntry) -> list[DeclaredEntry]:
        """The parts of this entry's rounds that `other` does not cover."""
        if self.overlap(other) is None:
            return [self]
        parts = []
        if other.from_round is not None and other.from_round > (self.from_round or 1):
            parts.append(replace(self, until_round=other.from_round - 1))
        if other.until_round is not None and (self.until_round is None or self.until_round > other.until_round):
            parts.append(replace(self, from_round=other.until_round + 1))
        return parts


def merge_entries(entries: tuple[DeclaredEntry, ...], later: DeclaredEntry) -> tuple[DeclaredEntry, ...]:
    """A later declaration replaces the car's entries for the rounds it covers."""
    kept = [part for e in entries
            for part in (e.outside(later) if e.car == later.car else [e])]
    return (*kept, later)


@dataclass(frozen=True)
class ChampionshipDefinition:
    """One version of a championship season's definition."""

    id: str
    name: str
    series: str
    season: str
    classes: tuple[ClassDef, ...]
    rounds: tuple[RoundDef, ...]
    scales: Mapping[str, tuple[Decimal, ...]]
    pole_points: Decimal
    classification_threshold: Decimal | None
    tie_break: tuple[str, ...]
    routes: tuple[InvitationRoute, ...]
    entries: tuple[DeclaredEntry, ...]

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> ChampionshipDefinition:
        rules = r["rules"]
        threshold = rules.get("classification_threshold")
        return cls(
            id=r["id"],
            name=r["name"],
            series=r["series"],
            season=r["season"],
            classes=tuple(ClassDef.from_record(c) for c in r["classes"]),
            rounds=tuple(RoundDef.from_record(x) for x in r["rounds"]),
            scales={k: tuple(_dec(p) for p in v) for k, v in rules["scales"].items()},
            pole_points=_dec(rules.get("pole_points", 0)),
            classification_threshold=None if threshold is None else _dec(threshold),
            tie_break=tuple(rules.get("tie_break", TIE_BREAKS)),
            routes=tuple(InvitationRoute.from_record(x) for x in r.get("invitation_routes", ())),
            entries=tuple(DeclaredEntry.from_record(e) for e in r.get("entries", ())),
        )

    def round(self, number: int) -> RoundDef:
        for rnd in self.rounds:
            if rnd.number == number:
                return rnd
        known = ", ".join(str(x.number) for x in self.rounds)
        raise UnknownRoundError(f"{self.id} has no round {number} (rounds: {known})")

    def class_def(self, class_id: str) -> ClassDef:
        for c in self.classes:
            if c.id == class_id:
                return c
        raise UnknownClassError(
            f"{self.id} has no class '{class_id}' (classes: {', '.join(self.class_ids())})"
        )

    def class_ids(self) -> list[str]:
        return [c.id for c in self.classes]

    def resolve_class(self, file_class: str, group: str = "") -> str:
        """Map a timing file's CLASS (and GROUP) to a class id of this championship."""
        base = next(
            (c for c in self.classes if file_class == c.id or file_class in c.aliases), None
        )
        if base is None:
            known = ", ".join(self.class_ids())
            raise UnknownClassError(f"class '{file_class}' is not a class of {self.id} ({known})")
        for sub in self.classes:
            if sub.parent == base.id and sub.match_group and sub.match_group == group:
                return sub.id
        return base.id

    def scoring_classes(self, class_id: str) -> frozenset[str]:
        """The class ids whose cars score in `class_id`'s standings."""
        members = {class_id}
        members.update(
            c.id for c in self.classes if c.parent == class_id and c.scores_in_parent
        )
        return frozenset(members)

    def round_pole_points(self, rnd: RoundDef) -> Decimal:
        return self.pole_points if rnd.pole_points is None else rnd.pole_points

    def declared_entry(self, car: str, number: int) -> DeclaredEntry | None:
        """The car's entry in force for round `number`."""
        return next((e for e in self.entries if e.car == car and e.covers(number)), None)

    def declared_entries(self, car: str) -> list[DeclaredEntry]:
        return [e for e in self.entries if e.car == car]
