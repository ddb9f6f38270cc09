"""Season definition files (TOML) → validated definition records.

The file format is documented in the README. Validation happens here, at the edge, with
pydantic; the domain receives plain, normalised records.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.bounds import (
    CAR_PATTERN,
    MAX_CAPACITY,
    MAX_NESTING,
    MAX_SEASON_BYTES,
    check_text,
    printable,
)
from domain.errors import InvalidInputError
from domain.rules import DeclaredEntry

Points = Annotated[Decimal, Field(ge=0, decimal_places=2)]
Ident = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/+-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassFile(_Model):
    id: Ident
    name: str | None = None
    aliases: list[str] = []
    parent: str | None = None
    scores_in_parent: bool = True
    match_group: str | None = None


class RoundFile(_Model):
    number: Annotated[int, Field(ge=1)]
    name: str
    flag_at: AwareDatetime
    scale: str | None = None
    multiplier: Annotated[Decimal, Field(gt=0)] = Decimal(1)
    half_points: bool = False
    pole_points: Points | None = None


class RulesFile(_Model):
    scales: dict[str, list[Points]]
    pole_points: Points = Decimal(0)
    classification_threshold: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    tie_break: list[Literal["countback"]] = ["countback"]

    @field_validator("scales")
    @classmethod
    def _scales(cls, scales: dict[str, list[Decimal]]) -> dict[str, list[Decimal]]:
        if not scales:
            raise ValueError("define at least one points scale")
        for name, points in scales.items():
            if not points:
                raise ValueError(f"scale '{name}' is empty")
            if any(a < b for a, b in pairwise(points)):
                raise ValueError(f"scale '{name}' must not award more to a lower place")
        return scales


class StandingsSourceFile(_Model):
    type: Literal["standings"]
    championship: Ident
    class_: str = Field(alias="class")
    position: Annotated[int, Field(ge=1)] = 1


class AwardSourceFile(_Model):
    type: Literal["award"]
    award: Ident


class JointPartFile(_Model):
    championship: Ident
    class_: str = Field(alias="class")


class JointSourceFile(_Model):
    """Points of a team added across championships (e.g. AsLMS GT + GT World Challenge Asia)."""

    type: Literal["joint"]
    parts: Annotated[list[JointPartFile], Field(min_length=2)]
    position: Annotated[int, Field(ge=1)] = 1


class RouteFile(_Model):
    id: Ident
    target_event: Ident | None = None
    target_class: str
    kind: Literal["invitation", "priority"] = "invitation"
    beneficiary: Literal["team", "driver"] = "team"
    description: str
    source: Annotated[StandingsSourceFile | AwardSourceFile | JointSourceFile,
                      Field(discriminator="type")]


class EntryFile(_Model):
    """A car's entry; `from_round`/`until_round` (inclusive, optional) when it changes class."""

    car: Annotated[str, Field(min_length=1, max_length=5, pattern=CAR_PATTERN)]
    team: str
    class_: str = Field(alias="class")
    drivers: list[str] = []
    from_round: Annotated[int, Field(ge=1)] | None = None
    until_round: Annotated[int, Field(ge=1)] | None = None

    def record(self) -> dict[str, Any]:
        """Without rounds, the record of files written before round ranges existed."""
        out: dict[str, Any] = {"car": self.car, "team": self.team, "class": self.class_,
                               "drivers": self.drivers}
        if self.from_round is not None:
            out["from_round"] = self.from_round
        if self.until_round is not None:
            out["until_round"] = self.until_round
        return out


class ChampionshipFile(_Model):
    kind: Literal["championship"]
    id: Ident
    name: str
    series: Ident
    season: str
    effective_at: AwareDatetime
    rules: RulesFile
    classes: Annotated[list[ClassFile], Field(min_length=1)]
    rounds: Annotated[list[RoundFile], Field(min_length=1)]
    entries: list[EntryFile] = []
    invitation_routes: list[RouteFile] = []

    @model_validator(mode="after")
    def _consistent(self) -> ChampionshipFile:
        class_ids = _unique("classes", [c.id for c in self.classes])
        _unique("rounds", [str(r.number) for r in self.rounds])
        _unique("invitation_routes", [r.id for r in self.invitation_routes])
        for i, c in enumerate(self.classes):
            if c.parent is not None and c.parent not in class_ids:
                raise ValueError(f"classes[{i}].parent '{c.parent}' is not a class id")
        for i, r in enumerate(self.rounds):
            if r.scale is None and len(self.rules.scales) != 1:
                raise ValueError(f"rounds[{i}].scale: name one of {sorted(self.rules.scales)}")
            if r.scale is not None and r.scale not in self.rules.scales:
                raise ValueError(f"rounds[{i}].scale '{r.scale}' is not one of {sorted(self.rules.scales)}")
        for i, e in enumerate(self.entries):
            if e.class_ not in class_ids:
                raise ValueError(f"entries[{i}].class '{e.class_}' is not a class id")
        _entry_rounds(self.entries, {r.number for r in self.rounds})
        for i, route in enumerate(self.invitation_routes):
            if route.target_event is None:
                raise ValueError(f"invitation_routes[{i}].target_event is required in a championship file")
            src = route.source
            if isinstance(src, StandingsSourceFile) and src.championship == self.id and src.class_ not in class_ids:
                raise ValueError(f"invitation_routes[{i}].source.class '{src.class_}' is not a class id")
        return self

    def to_record(self) -> dict[str, Any]:
        only_scale = next(iter(self.rules.scales))
        return {
            "id": self.id,
            "name": self.name,
            "series": self.series,
            "season": self.season,
            "classes": [
                {"id": c.id, "name": c.name or c.id, "aliases": c.aliases, "parent": c.parent,
                 "scores_in_parent": c.scores_in_parent, "match_group": c.match_group}
                for c in self.classes
            ],
            "rounds": [
                {"number": r.number, "name": r.name, "flag_at": r.flag_at.isoformat(),
                 "scale": r.scale or only_scale, "multiplier": str(r.multiplier),
                 "half_points": r.half_points,
                 "pole_points": None if r.pole_points is None else str(r.pole_points)}
                for r in sorted(self.rounds, key=lambda r: r.number)
            ],
            "rules": {
                "scales": {k: [str(p) for p in v] for k, v in self.rules.scales.items()},
                "pole_points": str(self.rules.pole_points),
                "classification_threshold": None if self.rules.classification_threshold is None
                else str(self.rules.classification_threshold),
                "tie_break": list(self.rules.tie_break),
            },
            "entries": [e.record() for e in self.entries],
            "invitation_routes": [_route_record(r, r.target_event or "") for r in self.invitation_routes],
        }


class TargetClassFile(_Model):
    id: Ident
    name: str | None = None
    capacity: Annotated[int, Field(ge=0, le=MAX_CAPACITY)] | None = None  # places; the organiser may change it


class AutomaticEntriesFile(_Model):
    """Every declared entry of a championship gets a place (the WEC's full-season entries)."""

    championship: Ident
    description: str | None = None


class TargetEventFile(_Model):
    kind: Literal["target-event"]
    id: Ident
    name: str
    effective_at: AwareDatetime
    starts_at: AwareDatetime | None = None
    capacity: Annotated[int, Field(ge=1, le=MAX_CAPACITY)]
    max_invitations_per_competitor: Annotated[int, Field(ge=1)] | None = None
    reserve_order: Literal["class", "overall"] | None = None  # default: a list per class
    classes: list[TargetClassFile] = []
    automatic_entries: list[AutomaticEntriesFile] = []
    invitation_routes: list[RouteFile] = []

    @model_validator(mode="after")
    def _consistent(self) -> TargetEventFile:
        class_ids = _unique("classes", [c.id for c in self.classes])
        places = sum(c.capacity or 0 for c in self.classes)
        if places > self.capacity:
            raise ValueError(f"classes: their capacities add up to {places}, more than the "
                             f"event's capacity {self.capacity}")
        _unique("invitation_routes", [r.id for r in self.invitation_routes])
        for i, route in enumerate(self.invitation_routes):
            if route.target_event not in (None, self.id):
                raise ValueError(f"invitation_routes[{i}].target_event must be {self.id} or omitted")
            if class_ids and route.target_class not in class_ids:
                raise ValueError(f"invitation_routes[{i}].target_class '{route.target_class}' "
                                 f"is not one of {sorted(class_ids)}")
        return self

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "starts_at": None if self.starts_at is None else self.starts_at.isoformat(),
            "capacity": self.capacity,
            "classes": [{"id": c.id, "name": c.name or c.id,
                         **({} if c.capacity is None else {"capacity": c.capacity})}
                        for c in self.classes],
            "invitation_routes": [_route_record(r, self.id) for r in self.invitation_routes],
            **self._entry_list_record(),
        }

    def _entry_list_record(self) -> dict[str, Any]:
        """Only what a file gives, so files without an entry-list section keep their record."""
        out: dict[str, Any] = {}
        if self.automatic_entries:
            out["automatic_entries"] = [
                {"championship": a.championship,
                 "description": a.description or f"full-season entry of {a.championship}"}
                for a in self.automatic_entries]
        if self.max_invitations_per_competitor is not None:
            out["max_invitations_per_competitor"] = self.max_invitations_per_competitor
        if self.reserve_order is not None:
            out["reserve_order"] = self.reserve_order
        return out


def _route_record(route: RouteFile, target_event: str) -> dict[str, Any]:
    src = route.source
    source: dict[str, Any]
    if isinstance(src, StandingsSourceFile):
        source = {"type": "standings", "championship": src.championship, "class": src.class_,
                  "position": src.position}
    elif isinstance(src, JointSourceFile):
        source = {"type": "joint", "position": src.position,
                  "parts": [{"championship": p.championship, "class": p.class_} for p in src.parts]}
    else:
        source = {"type": "award", "award": src.award}
    return {
        "id": route.id,
        "target_event": target_event,
        "target_class": route.target_class,
        "kind": route.kind,
        "beneficiary": route.beneficiary,
        "description": route.description,
        "source": source,
    }


def _entry_rounds(entries: list[EntryFile], numbers: set[int]) -> None:
    """Round ranges name rounds of the calendar; a car has one entry per round."""
    for i, e in enumerate(entries):
        for name in ("from_round", "until_round"):
            value = getattr(e, name)
            if value is not None and value not in numbers:
                raise ValueError(f"entries[{i}].{name} {value} is not a round of the calendar "
                                 f"({', '.join(map(str, sorted(numbers)))})")
        if e.from_round is not None and e.until_round is not None and e.from_round > e.until_round:
            raise ValueError(f"entries[{i}]: from_round {e.from_round} is after until_round {e.until_round}")
    spans = [DeclaredEntry.from_record(e.record()) for e in entries]
    for j, b in enumerate(spans):
        for i, a in enumerate(spans[:j]):
            first = a.overlap(b) if a.car == b.car else None
            if first is not None:
                raise ValueError(
                    f"entries[{i}] ({a.rounds_text}) and entries[{j}] ({b.rounds_text}) both "
                    f"declare car #{a.car} for round {first}: give each class its own rounds "
                    "(from_round, until_round)")


def _unique(what: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what}: '{i}' is defined twice")
        seen.add(i)
    return seen


SeasonFile = ChampionshipFile | TargetEventFile


def parse_season_text(text: str, *, source: str) -> SeasonFile:
    if len(text) > MAX_SEASON_BYTES:
        raise InvalidInputError(f"a season file has at most {MAX_SEASON_BYTES} characters "
                                f"(this one has more)", where=source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInputError(f"not valid TOML: {printable(str(error))}", where=source) from None
    except RecursionError:
        raise InvalidInputError(f"tables or arrays nested too deep (at most {MAX_NESTING} levels)",
                                where=source) from None
    _check_strings(data, source)
    kind = data.get("kind")
    model: type[ChampionshipFile | TargetEventFile]
    if kind == "championship":
        model = ChampionshipFile
    elif kind == "target-event":
        model = TargetEventFile
    else:
        raise InvalidInputError(
            f"kind: expected 'championship' or 'target-event', got {kind!r}", where=source
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInputError(_describe(error), where=source) from None


def load_season_file(path: Path) -> SeasonFile:
    """Read at most MAX_SEASON_BYTES + 1 bytes: a larger file is refused without reading it all."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SEASON_BYTES + 1)
        text = data.decode("utf-8")
    except OSError as error:
        raise InvalidInputError(f"cannot read season file: {error.strerror}", where=str(path)) from None
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"cannot read season file: not UTF-8 ({error.reason} at byte "
                                f"{error.start + 1})", where=str(path)) from None
    return parse_season_text(text, source=str(path))


def _check_strings(data: dict[str, Any], source: str) -> None:
    """Every string (keys too) free of control characters; nesting bounded (walked without
    recursion, so depth cannot overflow the stack here)."""
    stack: list[tuple[str, Any, int]] = [("", data, 1)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InvalidInputError(f"{path}: nested more than {MAX_NESTING} levels", where=source)
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
            value, list) else ()
        for key, item in items:
            inner = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip(".")
            if isinstance(key, str):
                _text(inner or "key", key, source)
            if isinstance(item, str):
                _text(inner, item, source)
            stack.append((inner, item, depth + 1))


def _text(field: str, value: str, source: str) -> None:
    try:
        check_text(printable(field), value, MAX_SEASON_BYTES)
    except InvalidInputError as error:
        raise InvalidInputError(error.message, where=source) from None


def _describe(error: ValidationError) -> str:
    lines = []
    for e in error.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        value = e.get("input")
        shown = "" if isinstance(value, (dict, list)) else f" (got {printable(repr(value))})"
        message = e["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {message}{shown}" if loc else message)
    return "; ".join(lines)
