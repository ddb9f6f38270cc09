"""A pole counts from its effective time (issue 9 item 13), as a property over random seasons.

For any as_of: the pole of a class in force at as_of (the latest visible one), unless a
`pole_stripped` decision on that car is in force, contributes exactly the round's pole points to
that car's standings, whether or not the round's classification is in force yet; no other car
gets pole points; and `audit explain` agrees with the standings and sums to the total.
Seasons are recorded through the Ledger's commands (in memory), as a user would record them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.classification import ClassificationRow, ResultStatus
from domain.decisions import DecisionKind, DecisionTerms
from services.demo import DEMO_STEWARD, register_demo_keys
from services.ledger import Ledger
from services.season_files import parse_season_text

CHAMPIONSHIP = "poles-2024"
CARS = {"A": ("1", "2", "3"), "B": ("7", "8")}
FLAGS = {n: datetime(2024, 3, n * 7, 18, tzinfo=UTC) for n in (1, 2, 3)}
ROUND_POLE_POINTS = {1: Decimal(1), 2: Decimal(3), 3: Decimal(1)}  # round 2 overrides the rules
FAR = datetime(2030, 1, 1, tzinfo=UTC)
ACT = {"actor": "test", "source": "test"}

SEASON = f"""
kind = "championship"
id = "{CHAMPIONSHIP}"
name = "Pole property"
series = "test"
season = "2024"
effective_at = 2024-01-01T00:00:00Z
[rules]
pole_points = 1
[rules.scales]
standard = [25, 18, 15, 12, 10]
[[classes]]
id = "A"
[[classes]]
id = "B"
""" + "".join(
    f'[[rounds]]\nnumber = {n}\nname = "R{n}"\nflag_at = {at.isoformat()}\n'
    + ("pole_points = 3\n" if n == 2 else "")
    for n, at in FLAGS.items()
) + "".join(
    f'[[entries]]\ncar = "{car}"\nteam = "Team {car}"\nclass = "{cls}"\n'
    for cls, cars in CARS.items() for car in cars
)


@dataclass(frozen=True)
class Pole:
    round: int
    class_id: str
    car: str
    at: datetime


@dataclass(frozen=True)
class Strip:
    round: int
    car: str
    at: datetime


@dataclass(frozen=True)
class RoundPlan:
    number: int
    poles: tuple[Pole, ...]
    published_at: datetime | None
    cars: tuple[str, ...]  # overall order of the classification
    strip_at: datetime | None  # strip the pole in force at that time, if its car raced


def _hours(flag: datetime, low: int, high: int) -> st.SearchStrategy[datetime]:
    return st.integers(low * 4, high * 4).map(lambda q: flag + timedelta(minutes=15 * q))


@st.composite
def round_plans(draw: st.DrawFn, number: int) -> RoundPlan:
    flag = FLAGS[number]
    poles = []
    for class_id, cars in CARS.items():
        # qualifying (a day before the flag to the flag) and corrections after it
        times = draw(st.lists(_hours(flag, -30, 8), max_size=3, unique=True))
        poles += [Pole(number, class_id, draw(st.sampled_from(cars)), t) for t in times]
    published = draw(st.none() | _hours(flag, 0, 6))
    everyone = [c for cars in CARS.values() for c in cars]
    cars = tuple(draw(st.permutations(everyone))[:draw(st.integers(1, len(everyone)))])
    strip = draw(st.none() | _hours(flag, -20, 10)) if published else None
    return RoundPlan(number, tuple(poles), published, cars, strip)


def _rows(cars: tuple[str, ...]) -> list[ClassificationRow]:
    class_of = {car: cls for cls, cs in CARS.items() for car in cs}
    return [ClassificationRow(position=i, car=car, team=f"Team {car}", class_name=class_of[car],
                              drivers=(f"{car}-A",), vehicle="", status=ResultStatus.CLASSIFIED,
                              laps=100, total_time=Decimal(14400 + i))
            for i, car in enumerate(cars, start=1)]


def _pole_at(plan: RoundPlan, class_id: str, at: datetime) -> Pole | None:
    held = [p for p in plan.poles if p.class_id == class_id and p.at <= at]
    return max(held, key=lambda p: p.at, default=None)


def record(plans: list[RoundPlan]) -> tuple[Ledger, list[Strip]]:
    clock = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(10_000))
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: next(clock))
    register_demo_keys(ledger)
    season = parse_season_text(SEASON, source="property")
    ledger.register_championship(season.to_record(), effective_at=datetime(2024, 1, 1, tzinfo=UTC),
                                 **ACT)
    strips = []
    for plan in plans:
        for pole in plan.poles:
            ledger.record_pole(CHAMPIONSHIP, plan.number, pole.class_id, pole.car,
                               effective_at=pole.at, **ACT)
        if plan.published_at is None:
            continue
        ledger.import_classification(CHAMPIONSHIP, plan.number, _rows(plan.cars),
                                     status="provisional", published_at=plan.published_at, **ACT)
        strips += _strip(ledger, plan)
    return ledger, strips


def _strip(ledger: Ledger, plan: RoundPlan) -> list[Strip]:
    if plan.strip_at is None:
        return []
    held = [p for c in CARS if (p := _pole_at(plan, c, plan.strip_at)) and p.car in plan.cars]
    if not held:
        return []
    car = held[0].car
    ledger.impose_penalty(CHAMPIONSHIP, plan.number, DecisionTerms(DecisionKind.POLE_STRIPPED, car),
                          reference=f"R{plan.number}-strip", reason="", effective_at=plan.strip_at,
                          signed_by=DEMO_STEWARD, **ACT)
    return [Strip(plan.number, car, plan.strip_at)]


def expected_poles(plans: list[RoundPlan], strips: list[Strip], as_of: datetime
                   ) -> dict[tuple[int, str, str], Decimal]:
    """(round, class, car) → pole points, from the rule alone."""
    out = {}
    for plan in plans:
        stripped = {s.car for s in strips if s.round == plan.number and s.at <= as_of}
        for class_id in CARS:
            pole = _pole_at(plan, class_id, as_of)
            if pole is not None and pole.car not in stripped:
                out[(plan.number, class_id, pole.car)] = ROUND_POLE_POINTS[plan.number]
    return out


def scored_poles(view: dict[str, Any]) -> dict[tuple[int, str, str], Decimal]:
    return {(r["round"], c["class"], row["car"]): r["pole_points"]
            for c in view["classes"] for row in c["rows"] for r in row["rounds"]
            if r["pole_points"]}


def _candidate_times(plans: list[RoundPlan], strips: list[Strip]) -> list[datetime]:
    moments = [p.at for plan in plans for p in plan.poles] + [s.at for s in strips]
    moments += [plan.published_at for plan in plans if plan.published_at is not None]
    moments += list(FLAGS.values())
    return sorted({m + d for m in moments for d in (timedelta(minutes=-1), timedelta(0))})


@settings(max_examples=60, deadline=None)
@given(plans=st.tuples(*(round_plans(n) for n in FLAGS)), data=st.data())
def test_a_pole_counts_from_its_effective_time(plans: tuple[RoundPlan, ...],
                                               data: st.DataObject) -> None:
    ledger, strips = record(list(plans))
    times = _candidate_times(list(plans), strips)
    for as_of in data.draw(st.lists(st.sampled_from(times), min_size=1, max_size=4, unique=True)):
        view = ledger.standings(CHAMPIONSHIP, as_of=as_of, known_at=FAR)
        expected = expected_poles(list(plans), strips, as_of)
        assert scored_poles(view) == expected, as_of
        if any(s.at <= as_of for s in strips):
            event("a pole stripped")
        published = {r["round"] for r in view["rounds"] if r["status"] != "not published"}
        for number, _, car in expected:
            event("pole before the classification" if number not in published
                  else "pole with the classification")
            explained = ledger.explain(CHAMPIONSHIP, car, as_of=as_of, known_at=FAR)
            for block in explained["classes"]:
                total = next(r["points"] for c in view["classes"] if c["class"] == block["class"]
                             for r in c["rows"] if r["car"] == car)
                assert block["points"] == block["sum_of_lines"] == total
