"""Championship standings as a pure function of scored rounds.

Ordering rules (documented in docs/RULES.md): more points first; equal points are separated by
the championship's tie-breaks (countback: most wins, then most second places, ...); competitors
still level form an unresolved tie and share a position until a decision orders them. Within an
unresolved tie rows are listed by car number (natural order), which carries no meaning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import attrgetter

from domain.classification import ClassificationRow, ResultStatus
from domain.rules import ChampionshipDefinition, RoundDef

NO_RESULT = "no_result"
"""The status shown for a round in which a car scored its pole alone (no row in a classification)."""


@dataclass(frozen=True)
class RoundResult:
    """What one car got from one round in one class's standings. `status` None: the car has
    no row in the round's classification (none published yet, or not listed): a pole alone."""

    round: int
    car: str
    team: str
    drivers: tuple[str, ...]
    status: ResultStatus | None
    class_position: int | None
    classified: bool
    points: Decimal
    pole_points: Decimal
    deduction: Decimal

    @property
    def total(self) -> Decimal:
        return self.points + self.pole_points - self.deduction

    @property
    def status_text(self) -> str:
        return self.status.value if self.status is not None else NO_RESULT


@dataclass(frozen=True)
class RoundInput:
    """A round as the standings see it: its final rows (none before the classification is
    published), poles and deductions."""

    definition: RoundDef
    rows: tuple[ClassificationRow, ...]
    poles: Mapping[str, str] = field(default_factory=dict)
    deductions: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Competitor:
    key: str
    car: str
    team: str
    drivers: tuple[str, ...]
    points: Decimal
    countback: tuple[int, ...]
    results: tuple[RoundResult, ...]


@dataclass(frozen=True)
class Placed:
    position: int
    competitor: Competitor
    tie: str | None
    decided_by: str | None


@dataclass(frozen=True)
class TieDecision:
    """A decision ordering competitors that the tie-breaks could not separate."""

    class_id: str
    order: tuple[str, ...]
    reference: str


def car_sort_key(car: str) -> tuple[int, str]:
    return (int(car), car) if car.isdigit() else (1 << 30, car)


def score_round(
    defn: ChampionshipDefinition, rnd: RoundInput, class_id: str
) -> list[RoundResult]:
    """Points of every car of `class_id` (and its scoring sub-classes) in one round."""
    members = defn.scoring_classes(class_id)
    rows = [r for r in rnd.rows if r.class_name in members]
    winner_laps = max((r.laps for r in rows if r.status is ResultStatus.CLASSIFIED), default=0)
    scale = defn.scales[rnd.definition.scale]
    pole_car = rnd.poles.get(class_id)
    results: list[RoundResult] = []
    place = 0
    for position, row in enumerate(rows, start=1):
        classified = _is_classified(row, winner_laps, defn.classification_threshold)
        if classified:
            place += 1
        points = rnd.definition.points_for(place, scale) if classified else Decimal(0)
        pole = defn.round_pole_points(rnd.definition) if row.car == pole_car else Decimal(0)
        results.append(
            RoundResult(
                round=rnd.definition.number,
                car=row.car,
                team=row.team,
                drivers=row.drivers,
                status=row.status,
                class_position=position,
                classified=classified,
                points=points,
                pole_points=pole,
                deduction=rnd.deductions.get(row.car, Decimal(0)),
            )
        )
    if pole_car is not None and all(r.car != pole_car for r in rnd.rows):
        results.append(_pole_only(defn, rnd, pole_car))
    return results


def _pole_only(defn: ChampionshipDefinition, rnd: RoundInput, car: str) -> RoundResult:
    """The pole is earned in qualifying: it scores before (or without) a race result."""
    declared = defn.declared_entry(car, rnd.definition.number)
    return RoundResult(
        round=rnd.definition.number,
        car=car,
        team=declared.team if declared else "",
        drivers=declared.drivers if declared else (),
        status=None,
        class_position=None,
        classified=False,
        points=Decimal(0),
        pole_points=defn.round_pole_points(rnd.definition),
        deduction=rnd.deductions.get(car, Decimal(0)),
    )


def _is_classified(row: ClassificationRow, winner_laps: int, threshold: Decimal | None) -> bool:
    if row.status is not ResultStatus.CLASSIFIED:
        return False
    return threshold is None or row.laps * 100 >= threshold * winner_laps


Scorer = Callable[[ChampionshipDefinition, RoundInput, str], list[RoundResult]]
"""`score_round`, or a memo of it: the standings below score each round through one."""


def countback(results: Iterable[RoundResult], depth: int) -> tuple[int, ...]:
    """How many times the competitor finished 1st, 2nd, ... (classified results only)."""
    counts = [0] * depth
    for r in results:
        if r.classified and r.class_position is not None and r.class_position <= depth:
            counts[r.class_position - 1] += 1
    return tuple(counts)


def rank(
    competitors: Sequence[Competitor],
    tie_break: Sequence[str],
    decisions: Sequence[TieDecision],
) -> list[Placed]:
    """Order competitors by points, then the tie-breaks; leave real ties visible."""
    use_countback = "countback" in tie_break

    def level(c: Competitor) -> tuple[Decimal, tuple[int, ...]]:
        return (c.points, c.countback if use_countback else ())

    # car number first, then (a stable sort) more points and the better countback: the same
    # order as one sort by (-points, -countback..., car), without negating every countback
    ordered = sorted(competitors, key=lambda c: (car_sort_key(c.car), c.key))
    ordered.sort(key=level, reverse=True)
    placed: list[Placed] = []
    for _, group_iter in groupby(ordered, key=level):
        group = list(group_iter)
        placed.extend(_place_group(group, len(placed) + 1, decisions))
    return _mark_countback(placed, use_countback)


def _place_group(
    group: list[Competitor], first: int, decisions: Sequence[TieDecision]
) -> list[Placed]:
    if len(group) == 1:
        return [Placed(first, group[0], None, None)]
    keys = {c.key for c in group} if decisions else set()
    for decision in reversed(decisions):
        if keys <= set(decision.order):
            by_key = {c.key: c for c in group}
            ordered = [by_key[k] for k in decision.order if k in keys]
            return [
                Placed(first + i, c, None, f"decision {decision.reference}")
                for i, c in enumerate(ordered)
            ]
    return [Placed(first, c, "unresolved", None) for c in group]


def _mark_countback(placed: list[Placed], use_countback: bool) -> list[Placed]:
    """Flag rows whose place among equal points was settled by countback."""
    if not use_countback:
        return placed
    with_points = Counter(p.competitor.points for p in placed)
    result = []
    for p in placed:
        level = with_points[p.competitor.points] > 1  # another row has the same points
        separated = p.tie is None and p.decided_by is None and level
        result.append(Placed(p.position, p.competitor, p.tie, "countback") if separated else p)
    return result


def class_standings(
    defn: ChampionshipDefinition,
    rounds: Sequence[RoundInput],
    class_id: str,
    decisions: Sequence[TieDecision],
    score: Scorer = score_round,
) -> list[Placed]:
    """Standings of the cars (entries) of one class."""
    per_car: dict[str, list[RoundResult]] = {}
    for rnd in rounds:
        for result in score(defn, rnd, class_id):
            per_car.setdefault(result.car, []).append(result)
    depth = max((r.class_position or 0 for rs in per_car.values() for r in rs), default=0)
    competitors = [
        _car_competitor(defn, car, results, depth) for car, results in per_car.items()
    ]
    return rank(competitors, defn.tie_break, [d for d in decisions if d.class_id == class_id])


def _latest(results: list[RoundResult]) -> RoundResult:
    """The latest round with a race result (its team spelling), else the latest round."""
    return max(results, key=lambda r: (r.status is not None, r.round))


def _car_competitor(
    defn: ChampionshipDefinition, car: str, results: list[RoundResult], depth: int
) -> Competitor:
    latest = _latest(results)
    in_order = tuple(sorted(results, key=_ROUND))
    drivers: dict[str, None] = {}
    for r in in_order:
        drivers.update(dict.fromkeys(r.drivers))
    return Competitor(
        key=car,
        car=car,
        team=_team(defn, latest),
        drivers=tuple(drivers),
        points=_points(results),
        countback=countback(results, depth),
        results=in_order,
    )


_ROUND = attrgetter("round")


def _points(results: Iterable[RoundResult]) -> Decimal:
    """The sum of the results' totals (`RoundResult.total`, inlined: asked for every row)."""
    return sum((r.points + r.pole_points - r.deduction for r in results), Decimal(0))


def _team(defn: ChampionshipDefinition, result: RoundResult) -> str:
    """The declared entry's team name (for that round) wins over the spelling in a timing file."""
    declared = defn.declared_entry(result.car, result.round) if defn.entries else None
    return declared.team if declared else result.team


def driver_standings(
    defn: ChampionshipDefinition,
    rounds: Sequence[RoundInput],
    class_id: str,
    decisions: Sequence[TieDecision],
    score: Scorer = score_round,
) -> list[Placed]:
    """Drivers score what their car scored in the rounds they were entered in it."""
    per_driver: dict[str, list[RoundResult]] = {}
    for rnd in rounds:
        for result in score(defn, rnd, class_id):
            for driver in result.drivers:
                per_driver.setdefault(driver, []).append(result)
    depth = max((r.class_position or 0 for rs in per_driver.values() for r in rs), default=0)
    shared: dict[tuple[int, ...], Competitor] = {}  # co-drivers of a car share their results
    competitors = []
    for driver, results in per_driver.items():
        same = tuple(map(id, results))
        c = shared.get(same)
        if c is None:
            c = shared[same] = Competitor(
                key=driver,
                car=max(results, key=_ROUND).car,
                team=_team(defn, _latest(results)),
                drivers=(driver,),
                points=_points(results),
                countback=countback(results, depth),
                results=tuple(sorted(results, key=_ROUND)),
            )
        else:
            c = Competitor(driver, c.car, c.team, (driver,), c.points, c.countback, c.results)
        competitors.append(c)
    return rank(competitors, defn.tie_break, [])
