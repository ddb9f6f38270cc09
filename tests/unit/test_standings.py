"""Championship standings as a pure function of scored rounds (domain/standings.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.classification import ClassificationRow, ResultStatus
from domain.rules import ChampionshipDefinition
from domain.standings import (
    Competitor,
    Placed,
    RoundInput,
    TieDecision,
    class_standings,
    countback,
    driver_standings,
    rank,
    score_round,
)

C = ResultStatus.CLASSIFIED
NC = ResultStatus.NOT_CLASSIFIED
RET = ResultStatus.RETIRED
DSQ = ResultStatus.DISQUALIFIED

STANDARD = ["25", "18", "15", "12", "10", "8", "6", "4", "2", "1"]


def _class(cid: str, parent: str | None = None, scores_in_parent: bool = True) -> dict[str, Any]:
    return {"id": cid, "name": cid, "aliases": [], "parent": parent,
            "scores_in_parent": scores_in_parent, "match_group": None}


def _round(number: int, scale: str = "standard", multiplier: str = "1", half: bool = False,
           pole_points: str | None = None) -> dict[str, Any]:
    return {"number": number, "name": f"Round {number}",
            "flag_at": f"2024-02-{number:02d}T18:00:00+04:00", "scale": scale,
            "multiplier": multiplier, "half_points": half, "pole_points": pole_points}


def definition(*, classes: list[dict[str, Any]] | None = None,
               rounds: list[dict[str, Any]] | None = None,
               scales: dict[str, list[str]] | None = None, pole_points: str = "1",
               threshold: str | None = None, tie_break: list[str] | None = None,
               entries: list[dict[str, Any]] | None = None) -> ChampionshipDefinition:
    """A definition record shaped like services.season_files.ChampionshipFile.to_record()."""
    return ChampionshipDefinition.from_record({
        "id": "test-2024",
        "name": "Test Series 2024",
        "series": "test",
        "season": "2024",
        "classes": classes or [_class("LMP2"), _class("GT")],
        "rounds": rounds or [_round(1), _round(2), _round(3)],
        "rules": {
            "scales": scales or {"standard": STANDARD},
            "pole_points": pole_points,
            "classification_threshold": threshold,
            "tie_break": ["countback"] if tie_break is None else tie_break,
        },
        "entries": entries or [],
        "invitation_routes": [],
    })


def row(position: int, car: str, class_name: str = "LMP2", status: ResultStatus = C,
        laps: int = 100, drivers: tuple[str, ...] | None = None,
        team: str | None = None) -> ClassificationRow:
    return ClassificationRow(
        position=position, car=car, team=team or f"Team {car}", class_name=class_name,
        drivers=drivers if drivers is not None else (f"{car}-A", f"{car}-B"),
        vehicle="", status=status, laps=laps,
        total_time=Decimal(14400 + position) if status is C else None,
    )


def race(defn: ChampionshipDefinition, number: int, *cars: str | tuple[Any, ...],
         poles: dict[str, str] | None = None,
         deductions: dict[str, Decimal] | None = None) -> RoundInput:
    """Rows in overall order; a car is "12" (LMP2, classified) or a tuple of row() arguments."""
    rows = tuple(
        row(i, car) if isinstance(car, str) else row(i, *car)
        for i, car in enumerate(cars, start=1)
    )
    return RoundInput(defn.round(number), rows, poles or {}, deductions or {})


def table(placed: list[Placed]) -> list[tuple[int, str, Decimal]]:
    return [(p.position, p.competitor.key, p.competitor.points) for p in placed]


def points_of(placed: list[Placed]) -> dict[str, Decimal]:
    return {p.competitor.key: p.competitor.points for p in placed}


# -- the record shape ------------------------------------------------------------------------


def test_hand_built_record_matches_the_season_file_edge() -> None:
    from services.season_files import parse_season_text

    text = """
kind = "championship"
id = "test-2024"
name = "Test Series 2024"
series = "test"
season = "2024"
effective_at = 2024-01-01T00:00:00Z
[rules]
pole_points = 1
tie_break = ["countback"]
[rules.scales]
standard = [25, 18, 15, 12, 10, 8, 6, 4, 2, 1]
[[classes]]
id = "LMP2"
[[classes]]
id = "GT"
""" + "".join(
        f'[[rounds]]\nnumber = {n}\nname = "Round {n}"\nflag_at = 2024-02-0{n}T18:00:00+04:00\n'
        for n in (1, 2, 3)
    )
    record = parse_season_text(text, source="test.toml").to_record()
    assert ChampionshipDefinition.from_record(record) == definition()


# -- scoring one round -------------------------------------------------------------------------


def test_points_scale_per_class() -> None:
    defn = definition()
    rnd = race(defn, 1, "1", ("50", "GT"), "2", "3", ("51", "GT"), "4")
    lmp2 = score_round(defn, rnd, "LMP2")
    assert [(r.car, r.class_position, r.points) for r in lmp2] == [
        ("1", 1, 25), ("2", 2, 18), ("3", 3, 15), ("4", 4, 12),
    ]
    gt = score_round(defn, rnd, "GT")
    assert [(r.car, r.class_position, r.points) for r in gt] == [("50", 1, 25), ("51", 2, 18)]


def test_places_beyond_the_scale_score_nothing() -> None:
    defn = definition(scales={"short": ["10", "6", "4"]},
                      rounds=[_round(1, scale="short")])
    results = score_round(defn, race(defn, 1, "1", "2", "3", "4", "5"), "LMP2")
    assert [r.points for r in results] == [10, 6, 4, 0, 0]
    assert all(r.classified for r in results)


def test_not_classified_cars_score_nothing_and_do_not_take_a_place() -> None:
    defn = definition()
    rnd = race(defn, 1, "1", "3", ("4", "LMP2", RET, 50), ("5", "LMP2", NC, 10),
               ("2", "LMP2", DSQ))
    results = score_round(defn, rnd, "LMP2")
    assert [(r.car, r.class_position, r.classified, r.points) for r in results] == [
        ("1", 1, True, 25), ("3", 2, True, 18), ("4", 3, False, 0), ("5", 4, False, 0),
        ("2", 5, False, 0),
    ]
    assert [r.status for r in results] == [C, C, RET, NC, DSQ]


@pytest.mark.parametrize(
    ("round_record", "expected"),
    [
        (_round(1), [Decimal(25), Decimal(18), Decimal(15)]),
        (_round(1, multiplier="2"), [Decimal(50), Decimal(36), Decimal(30)]),
        (_round(1, half=True), [Decimal("12.5"), Decimal(9), Decimal("7.5")]),
        (_round(1, multiplier="2", half=True), [Decimal(25), Decimal(18), Decimal(15)]),
        (_round(1, multiplier="1.5"), [Decimal("37.5"), Decimal(27), Decimal("22.5")]),
    ],
)
def test_multiplier_and_half_points(round_record: dict[str, Any], expected: list[Decimal]) -> None:
    defn = definition(rounds=[round_record])
    results = score_round(defn, race(defn, 1, "1", "2", "3"), "LMP2")
    assert [r.points for r in results] == expected
    assert all(isinstance(r.points, Decimal) for r in results)


def test_half_points_in_standings_are_exact() -> None:
    defn = definition(rounds=[_round(1, half=True), _round(2)])
    standings = class_standings(defn, [race(defn, 1, "1", "2"), race(defn, 2, "2", "1")],
                                "LMP2", [])
    # #1: 12.5 + 18 = 30.5; #2: 9 + 25 = 34
    assert table(standings) == [(1, "2", Decimal(34)), (2, "1", Decimal("30.5"))]


@pytest.mark.parametrize(
    ("rules_pole", "round_pole", "expected"),
    [("1", None, Decimal(1)), ("1", "3", Decimal(3)), ("0", None, Decimal(0)),
     ("1", "0", Decimal(0)), ("0.5", None, Decimal("0.5"))],
)
def test_pole_points(rules_pole: str, round_pole: str | None, expected: Decimal) -> None:
    defn = definition(pole_points=rules_pole, rounds=[_round(1, pole_points=round_pole)])
    rnd = race(defn, 1, "1", "2", ("50", "GT"), poles={"LMP2": "2", "GT": "50"})
    lmp2 = {r.car: r for r in score_round(defn, rnd, "LMP2")}
    assert lmp2["2"].pole_points == expected
    assert lmp2["2"].total == Decimal(18) + expected
    assert lmp2["1"].pole_points == 0
    gt = {r.car: r for r in score_round(defn, rnd, "GT")}
    assert gt["50"].pole_points == expected
    assert gt["50"].total == Decimal(25) + expected


def test_the_pole_of_another_class_scores_nothing_here() -> None:
    defn = definition()
    rnd = race(defn, 1, "1", ("50", "GT"), poles={"GT": "1"})  # a wrong-class pole
    assert [r.pole_points for r in score_round(defn, rnd, "LMP2")] == [0]


@pytest.mark.parametrize(
    ("laps", "classified"),
    [(100, True), (71, True), (70, True), (69, False), (10, False)],
)
def test_classification_threshold(laps: int, classified: bool) -> None:
    defn = definition(threshold="70")
    rnd = race(defn, 1, ("1", "LMP2", C, 100), ("2", "LMP2", C, laps), ("3", "LMP2", C, 5))
    results = {r.car: r for r in score_round(defn, rnd, "LMP2")}
    assert results["2"].classified is classified
    assert results["2"].points == (Decimal(18) if classified else Decimal(0))
    assert results["3"].classified is False
    assert results["3"].points == 0


def test_threshold_is_relative_to_the_class_winner() -> None:
    defn = definition(threshold="70")
    # The GT winner covers 80 laps, 80% of the overall winner: its class still classifies it.
    rnd = race(defn, 1, ("1", "LMP2", C, 100), ("50", "GT", C, 80), ("51", "GT", C, 57))
    gt = {r.car: r for r in score_round(defn, rnd, "GT")}
    assert (gt["50"].classified, gt["50"].points) == (True, 25)
    assert (gt["51"].classified, gt["51"].points) == (True, 18)  # 57 >= 0.7 * 80 = 56


def test_points_deduction_keeps_the_result_and_removes_points() -> None:
    defn = definition()
    rounds = [
        race(defn, 1, "1", "2", "3", deductions={"1": Decimal(10)}),
        race(defn, 2, "1", "3", "2"),
    ]
    standings = class_standings(defn, rounds, "LMP2", [])
    # #1: 25 - 10 + 25 = 40; #3: 15 + 18 = 33; #2: 18 + 15 = 33.
    assert points_of(standings) == {"1": 40, "3": 33, "2": 33}
    first = standings[0].competitor.results[0]
    assert (first.class_position, first.points, first.deduction, first.total) == (1, 25, 10, 15)
    assert standings[0].competitor.countback[0] == 2  # the wins still count


def test_points_deduction_can_change_the_order() -> None:
    defn = definition()
    rounds = [race(defn, 1, "1", "2", deductions={"1": Decimal("7.5")})]
    assert table(class_standings(defn, rounds, "LMP2", [])) == [
        (1, "2", Decimal(18)), (2, "1", Decimal("17.5")),
    ]


# -- ranking and ties ---------------------------------------------------------------------------


def _scale_10() -> ChampionshipDefinition:
    return definition(scales={"simple": ["10", "6", "4", "2"]},
                      rounds=[_round(1, scale="simple"), _round(2, scale="simple"),
                              _round(3, scale="simple")],
                      pole_points="0")


def test_countback_separates_equal_points() -> None:
    defn = _scale_10()
    rounds = [
        race(defn, 1, "A", "B", "C"),
        race(defn, 2, "C", "D", "B", ("A", "LMP2", RET, 3)),
    ]
    standings = class_standings(defn, rounds, "LMP2", [])
    # C 4+10 = 14; A 10 (a win); B 6+4 = 10 (no win); D 6.
    assert table(standings) == [(1, "C", 14), (2, "A", 10), (3, "B", 10), (4, "D", 6)]
    by_car = {p.competitor.key: p for p in standings}
    assert by_car["A"].competitor.countback == (1, 0, 0, 0)
    assert by_car["B"].competitor.countback == (0, 1, 1, 0)
    assert (by_car["A"].tie, by_car["A"].decided_by) == (None, "countback")
    assert (by_car["B"].tie, by_car["B"].decided_by) == (None, "countback")
    assert (by_car["C"].tie, by_car["C"].decided_by) == (None, None)
    assert (by_car["D"].tie, by_car["D"].decided_by) == (None, None)


def _wins_equal_thirds_decide() -> list[RoundInput]:
    defn = _scale_10()
    return [
        race(defn, 1, "A", "C", "D", "B"),
        race(defn, 2, "B", "C", "A", "D"),
        race(defn, 3, "C", "D", "E", "B"),
    ]


def test_countback_goes_down_to_later_places() -> None:
    standings = class_standings(_scale_10(), _wins_equal_thirds_decide(), "LMP2", [])
    # A: 1st + 3rd = 14; B: 4th + 1st + 4th = 14. One win each, no second: A's third decides.
    assert table(standings) == [(1, "C", 22), (2, "A", 14), (3, "B", 14), (4, "D", 12),
                                (5, "E", 4)]
    by_car = {p.competitor.key: p for p in standings}
    assert by_car["A"].competitor.countback == (1, 0, 1, 0)
    assert by_car["B"].competitor.countback == (1, 0, 0, 2)
    assert [by_car[c].decided_by for c in "CABDE"] == [None, "countback", "countback", None, None]


def test_identical_countback_shares_the_position() -> None:
    defn = _scale_10()
    rounds = [race(defn, 1, "A", "B", "C"), race(defn, 2, "B", "A", "C")]
    standings = class_standings(defn, rounds, "LMP2", [])
    assert table(standings) == [(1, "A", 16), (1, "B", 16), (3, "C", 8)]
    assert [(p.tie, p.decided_by) for p in standings] == [
        ("unresolved", None), ("unresolved", None), (None, None),
    ]


def test_a_tie_decision_orders_the_tied_competitors() -> None:
    defn = _scale_10()
    rounds = [race(defn, 1, "A", "B", "C"), race(defn, 2, "B", "A", "C")]
    decisions = [TieDecision("LMP2", ("B", "A"), "SC-2024-07")]
    standings = class_standings(defn, rounds, "LMP2", decisions)
    assert table(standings) == [(1, "B", 16), (2, "A", 16), (3, "C", 8)]
    assert [(p.tie, p.decided_by) for p in standings[:2]] == [
        (None, "decision SC-2024-07"), (None, "decision SC-2024-07"),
    ]
    assert all(p.decided_by.startswith("decision") for p in standings[:2])  # type: ignore[union-attr]


def test_the_latest_tie_decision_wins() -> None:
    defn = _scale_10()
    rounds = [race(defn, 1, "A", "B"), race(defn, 2, "B", "A")]
    decisions = [TieDecision("LMP2", ("B", "A"), "first"), TieDecision("LMP2", ("A", "B"), "appeal")]
    standings = class_standings(defn, rounds, "LMP2", decisions)
    assert [(p.position, p.competitor.key, p.decided_by) for p in standings] == [
        (1, "A", "decision appeal"), (2, "B", "decision appeal"),
    ]


@pytest.mark.parametrize(
    "decision",
    [
        TieDecision("GT", ("B", "A"), "other-class"),  # for another class
        TieDecision("LMP2", ("B", "X"), "partial"),  # does not name every tied car
    ],
)
def test_tie_decisions_that_do_not_apply_leave_the_tie(decision: TieDecision) -> None:
    defn = _scale_10()
    rounds = [race(defn, 1, "A", "B"), race(defn, 2, "B", "A")]
    standings = class_standings(defn, rounds, "LMP2", [decision])
    assert [(p.position, p.tie, p.decided_by) for p in standings] == [
        (1, "unresolved", None), (1, "unresolved", None),
    ]


def test_a_decision_never_overrides_countback() -> None:
    decision = TieDecision("LMP2", ("B", "A"), "SC-1")
    standings = class_standings(_scale_10(), _wins_equal_thirds_decide(), "LMP2", [decision])
    assert [(p.position, p.competitor.key, p.decided_by) for p in standings[1:3]] == [
        (2, "A", "countback"), (3, "B", "countback"),
    ]


def test_equal_points_below_the_leaders_are_separated_by_wins() -> None:
    defn = _scale_10()
    rounds = [
        race(defn, 1, "A", "X", "B", "C"),
        race(defn, 2, "B", "C", "X", "A"),
        race(defn, 3, "C", "B", "X", "A"),
    ]
    # A 10+2+2 = 14 (a win); B 4+10+6 = 20; C 2+6+10 = 18; X 6+4+4 = 14 (no win).
    standings = class_standings(defn, rounds, "LMP2", [])
    assert points_of(standings) == {"A": 14, "B": 20, "C": 18, "X": 14}
    by_car = {p.competitor.key: p for p in standings}
    # A and X on 14: A has a win, X none.
    assert (by_car["A"].position, by_car["A"].decided_by) == (3, "countback")
    assert (by_car["X"].position, by_car["X"].decided_by) == (4, "countback")


def _competitor(key: str, points: str, cb: tuple[int, ...], car: str | None = None) -> Competitor:
    return Competitor(key=key, car=car or key, team="", drivers=(), points=Decimal(points),
                      countback=cb, results=())


def test_rank_three_level_one_separated_two_unresolved() -> None:
    placed = rank(
        [_competitor("9", "30", (1, 0)), _competitor("3", "30", (0, 2)),
         _competitor("7", "30", (0, 2)), _competitor("1", "40", (1, 1)),
         _competitor("2", "12.5", (0, 0))],
        ["countback"], [],
    )
    assert [(p.position, p.competitor.key, p.tie, p.decided_by) for p in placed] == [
        (1, "1", None, None),
        (2, "9", None, "countback"),
        (3, "3", "unresolved", None),  # within a tie: natural car-number order
        (3, "7", "unresolved", None),
        (5, "2", None, None),
    ]


def test_rank_without_countback_leaves_equal_points_tied() -> None:
    placed = rank([_competitor("10", "30", (1,)), _competitor("9", "30", (0,))], [], [])
    assert [(p.position, p.competitor.key, p.tie) for p in placed] == [
        (1, "9", "unresolved"), (1, "10", "unresolved"),
    ]


def test_rank_orders_car_numbers_naturally_within_a_tie() -> None:
    placed = rank([_competitor(k, "1", (0,)) for k in ("100", "20", "3", "007", "B")],
                  ["countback"], [])
    assert [p.competitor.key for p in placed] == ["3", "007", "20", "100", "B"]


@pytest.mark.parametrize(
    ("results", "depth", "expected"),
    [
        ([(1, True), (1, True), (2, True)], 3, (2, 1, 0)),
        ([(1, False), (2, True)], 2, (0, 1)),  # a not-classified result does not count
        ([(5, True)], 3, (0, 0, 0)),  # beyond the depth
        ([], 2, (0, 0)),
    ],
)
def test_countback(results: list[tuple[int, bool]], depth: int, expected: tuple[int, ...]) -> None:
    from domain.standings import RoundResult

    rs = [RoundResult(round=i, car="1", team="", drivers=(), status=C, class_position=pos,
                      classified=classified, points=Decimal(0), pole_points=Decimal(0),
                      deduction=Decimal(0))
          for i, (pos, classified) in enumerate(results, start=1)]
    assert countback(rs, depth) == expected


# -- sub-classes ---------------------------------------------------------------------------------


def _with_sub_classes() -> ChampionshipDefinition:
    return definition(classes=[
        _class("LMP2"), _class("LMP2-PA", parent="LMP2", scores_in_parent=True),
        _class("GT"), _class("GT-AM", parent="GT", scores_in_parent=False),
    ])


def test_sub_class_cars_score_in_their_parent_class() -> None:
    defn = _with_sub_classes()
    rnd = race(defn, 1, "1", ("2", "LMP2-PA"), "3", ("4", "LMP2-PA"),
               ("50", "GT"), ("60", "GT-AM"), ("51", "GT"), poles={"LMP2": "2", "LMP2-PA": "4"})
    assert defn.scoring_classes("LMP2") == frozenset({"LMP2", "LMP2-PA"})
    lmp2 = class_standings(defn, [rnd], "LMP2", [])
    assert table(lmp2) == [(1, "1", 25), (2, "2", 19), (3, "3", 15), (4, "4", 12)]
    pro_am = class_standings(defn, [rnd], "LMP2-PA", [])
    assert table(pro_am) == [(1, "2", 25), (2, "4", 19)]


def test_sub_class_not_scoring_in_parent_is_left_out_of_it() -> None:
    defn = _with_sub_classes()
    rnd = race(defn, 1, ("50", "GT"), ("60", "GT-AM"), ("51", "GT"))
    assert defn.scoring_classes("GT") == frozenset({"GT"})
    assert table(class_standings(defn, [rnd], "GT", [])) == [(1, "50", 25), (2, "51", 18)]
    assert table(class_standings(defn, [rnd], "GT-AM", [])) == [(1, "60", 25)]


# -- season standings and drivers ----------------------------------------------------------------


def test_class_standings_sum_rounds_and_keep_results_per_round() -> None:
    defn = definition()
    rounds = [
        race(defn, 1, "1", "2", "3", poles={"LMP2": "3"}),
        race(defn, 2, "2", "1"),  # #3 missed round 2
        race(defn, 3, "3", "2", ("1", "LMP2", RET, 10)),
    ]
    standings = class_standings(defn, rounds, "LMP2", [])
    assert table(standings) == [(1, "2", 18 + 25 + 18), (2, "1", 25 + 18), (3, "3", 15 + 1 + 25)]
    three = standings[2].competitor
    assert [(r.round, r.points, r.pole_points) for r in three.results] == [(1, 15, 1), (3, 25, 0)]
    assert three.countback == (1, 0, 1)


def test_car_standings_use_the_declared_team_name() -> None:
    defn = definition(entries=[{"car": "4", "team": "CrowdStrike Racing by APR", "class": "LMP2",
                                "drivers": []}])
    rounds = [race(defn, 1, ("4", "LMP2", C, 100, ("Colin BRAUN",), "Crowdstrike Racing by APR"))]
    assert class_standings(defn, rounds, "LMP2", [])[0].competitor.team == "CrowdStrike Racing by APR"
    drivers = driver_standings(defn, rounds, "LMP2", [])
    assert [(p.competitor.key, p.competitor.team) for p in drivers] == [
        ("Colin BRAUN", "CrowdStrike Racing by APR"),
    ]


def test_driver_standings_sum_the_car_points_of_the_rounds_a_driver_was_listed() -> None:
    defn = definition()
    rounds = [
        race(defn, 1, ("1", "LMP2", C, 100, ("Ann", "Bob")), ("2", "LMP2", C, 100, ("Cid", "Dee")),
             poles={"LMP2": "2"}, deductions={"1": Decimal(5)}),
        # Bob swaps to car 2 for round 2; Eve joins car 1.
        race(defn, 2, ("2", "LMP2", C, 100, ("Cid", "Bob")), ("1", "LMP2", C, 100, ("Ann", "Eve"))),
        race(defn, 3, ("1", "LMP2", C, 100, ("Ann",)), ("2", "LMP2", C, 100, ("Cid", "Dee"))),
    ]
    drivers = driver_standings(defn, rounds, "LMP2", [])
    assert points_of(drivers) == {
        "Ann": (25 - 5) + 18 + 25,  # every round in car 1
        "Cid": (18 + 1) + 25 + 18,  # every round in car 2 (pole in R1)
        "Bob": (25 - 5) + 25,  # car 1 in R1, car 2 in R2, absent in R3
        "Dee": (18 + 1) + 18,
        "Eve": 18,
    }
    by_driver = {p.competitor.key: p.competitor for p in drivers}
    assert by_driver["Bob"].car == "2"  # the car of the driver's latest round
    assert [r.round for r in by_driver["Bob"].results] == [1, 2]
    assert by_driver["Bob"].countback == (2, 0)
    assert [p.competitor.key for p in drivers] == ["Ann", "Cid", "Bob", "Dee", "Eve"]
    # The cars' own standings, for comparison.
    cars = class_standings(defn, rounds, "LMP2", [])
    assert table(cars) == [(1, "1", 63), (2, "2", 62)]


def test_co_drivers_of_one_car_tie_in_driver_standings() -> None:
    defn = definition()
    rounds = [race(defn, 1, ("1", "LMP2", C, 100, ("Ann", "Bob")), ("2", "LMP2", C, 100, ("Cid",)))]
    drivers = driver_standings(defn, rounds, "LMP2", [])
    assert [(p.position, p.competitor.key, p.tie) for p in drivers] == [
        (1, "Ann", "unresolved"), (1, "Bob", "unresolved"), (3, "Cid", None),
    ]


def test_empty_season_has_empty_standings() -> None:
    defn = definition()
    assert class_standings(defn, [], "LMP2", []) == []
    assert driver_standings(defn, [], "LMP2", []) == []
    assert class_standings(defn, [race(defn, 1, ("50", "GT"))], "LMP2", []) == []


# -- a pole counts from qualifying (issue 9 item 13) --------------------------------------------

ENTRIES = [{"car": "7", "team": "Team Seven (declared)", "class": "LMP2", "drivers": ["Ann", "Bob"]}]


@pytest.mark.parametrize(
    ("cars", "pole", "expected"),
    [
        # no classification yet: the pole car has a result of its pole points alone
        ((), "7", [("7", None, None, 0, 1)]),
        # the pole car in the classification: race points and the pole
        (("1", "7"), "7", [("1", 1, C, 25, 0), ("7", 2, C, 18, 1)]),
        # the pole car not in the classification (did not start, not listed): the pole still counts
        (("1", "2"), "7", [("1", 1, C, 25, 0), ("2", 2, C, 18, 0), ("7", None, None, 0, 1)]),
        # no pole: no extra result
        (("1",), None, [("1", 1, C, 25, 0)]),
        # a wrong-class pole on a car listed in another class is not a pole-only result
        ((("7", "GT"),), "7", []),
    ],
)
def test_a_pole_scores_with_or_without_the_classification(
        cars: tuple[Any, ...], pole: str | None, expected: list[tuple[Any, ...]]) -> None:
    defn = definition(entries=ENTRIES)
    rnd = race(defn, 1, *cars, poles={"LMP2": pole} if pole else {})
    results = score_round(defn, rnd, "LMP2")
    assert [(r.car, r.class_position, r.status, r.points, r.pole_points) for r in results] == expected


def test_a_pole_only_result_takes_the_declared_entry_and_ranks_the_car() -> None:
    defn = definition(entries=ENTRIES)
    rounds = [race(defn, 1, "1", "7"), race(defn, 2, poles={"LMP2": "7"}, deductions={"7": Decimal(1)})]
    standings = class_standings(defn, rounds, "LMP2", [])
    assert table(standings) == [(1, "1", 25), (2, "7", 18 + 1 - 1)]
    seven = standings[1].competitor
    assert seven.team == "Team Seven (declared)"
    only = seven.results[-1]
    assert (only.round, only.classified, only.status, only.total) == (2, False, None, 0)
    assert seven.countback == (0, 1)  # a pole-only result is no finish
    drivers = points_of(driver_standings(defn, rounds[1:], "LMP2", []))
    assert drivers == {"Ann": 0, "Bob": 0}  # the declared drivers share the pole round


def test_a_pole_only_result_of_an_undeclared_car_keeps_its_team_from_a_race() -> None:
    defn = definition()
    rounds = [race(defn, 1, ("5", "LMP2", C, 100, ("Cid",), "Team Five")),
              race(defn, 2, poles={"LMP2": "5"})]
    five = class_standings(defn, rounds, "LMP2", [])[0].competitor
    assert (five.team, five.points) == ("Team Five", 26)
