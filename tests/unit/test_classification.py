"""Classifications: checking rows, and re-sorting them after the stewards' adjustments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.classification import (
    Adjustment,
    ClassificationRow,
    ResultStatus,
    _name_first_fault,
    apply_adjustments,
    check_records,
    check_rows,
    class_order,
)
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import InvalidInputError
from services.alkamel import parse_alkamel

SEASON = Path(__file__).resolve().parents[2] / "services" / "seasons" / "aslms-2023-24"
R5_AT_FLAG = "R5_abudhabi_2024-02-11_race2_at-flag_constructed.csv"
R5_OFFICIAL = "R5_abudhabi_2024-02-11_race2_hour4.csv"

C = ResultStatus.CLASSIFIED
NC = ResultStatus.NOT_CLASSIFIED
RET = ResultStatus.RETIRED
DNS = ResultStatus.DID_NOT_START
DSQ = ResultStatus.DISQUALIFIED
EXC = ResultStatus.EXCLUDED


def row(position: int, car: str, laps: int, time: str | None, status: ResultStatus = C,
        class_name: str = "LMP2") -> ClassificationRow:
    return ClassificationRow(
        position=position, car=car, team=f"Team {car}", class_name=class_name,
        drivers=(f"Driver {car}",), vehicle="Oreca 07", status=status, laps=laps,
        total_time=None if time is None else Decimal(time),
    )


def rows(*specs: tuple[str, int, str | None] | tuple[str, int, str | None, ResultStatus]
         ) -> tuple[ClassificationRow, ...]:
    return tuple(row(i, *spec) for i, spec in enumerate(specs, start=1))


def cars(result: tuple[ClassificationRow, ...]) -> list[str]:
    return [r.car for r in result]


# A small race: three cars on the lead lap, one a lap down, one not classified, one retired.
RACE = rows(
    ("1", 100, "14400.000"),
    ("2", 100, "14410.000"),
    ("3", 100, "14430.000"),
    ("4", 99, "14405.000"),
    ("5", 60, "14500.000", NC),
    ("6", 30, "7000.000", RET),
)


def test_no_adjustments_returns_the_rows_unchanged() -> None:
    assert apply_adjustments(RACE, {}) == RACE
    assert apply_adjustments(list(RACE), {}) == RACE


@pytest.mark.parametrize(
    ("adjustments", "order"),
    [
        # +5 s: #1 (14405) is still ahead of #2 (14410).
        ({"1": Adjustment(seconds=Decimal(5))}, ["1", "2", "3", "4", "5", "6"]),
        # +15 s: #1 (14415) falls behind #2 (14410) but stays ahead of #3 (14430).
        ({"1": Adjustment(seconds=Decimal(15))}, ["2", "1", "3", "4", "5", "6"]),
        # +65 s: #1 (14465) behind #3, still ahead of #4 which is a lap down (laps first).
        ({"1": Adjustment(seconds=Decimal(65))}, ["2", "3", "1", "4", "5", "6"]),
        # equal time after the penalty: the published position decides (#1 stays ahead of #2).
        ({"1": Adjustment(seconds=Decimal(10))}, ["1", "2", "3", "4", "5", "6"]),
        ({"2": Adjustment(seconds=Decimal(20))}, ["1", "2", "3", "4", "5", "6"]),
        ({"2": Adjustment(seconds=Decimal(21))}, ["1", "3", "2", "4", "5", "6"]),
        # Negative seconds (a reversed penalty) move a car up.
        ({"3": Adjustment(seconds=Decimal(-31))}, ["3", "1", "2", "4", "5", "6"]),
        # A time penalty never moves a car behind one with fewer laps.
        ({"3": Adjustment(seconds=Decimal(3600))}, ["1", "2", "3", "4", "5", "6"]),
        # Two penalties at once.
        ({"1": Adjustment(seconds=Decimal(45)), "2": Adjustment(seconds=Decimal(30))},
         ["3", "2", "1", "4", "5", "6"]),
        ({"1": Adjustment(seconds=Decimal(40)), "2": Adjustment(seconds=Decimal(30))},
         ["3", "1", "2", "4", "5", "6"]),  # equal times: published order
    ],
)
def test_time_penalty_resorts_by_laps_then_time(adjustments: dict[str, Adjustment],
                                                order: list[str]) -> None:
    assert cars(apply_adjustments(RACE, adjustments)) == order


@pytest.mark.parametrize(
    ("adjustments", "order"),
    [
        # #1 loses a lap: behind every car still on 100 laps; on 99 laps it beats #4 on time.
        ({"1": Adjustment(laps=1)}, ["2", "3", "1", "4", "5", "6"]),
        # ... unless its time is then worse than #4's.
        ({"1": Adjustment(laps=1, seconds=Decimal(10))}, ["2", "3", "4", "1", "5", "6"]),
        # Two laps: behind #4 whatever its time.
        ({"1": Adjustment(laps=2)}, ["2", "3", "4", "1", "5", "6"]),
        # Losing laps never drops a classified car behind a not-classified one.
        ({"2": Adjustment(laps=90)}, ["1", "3", "4", "2", "5", "6"]),
    ],
)
def test_lap_penalty_drops_a_car_behind_same_lap_cars(adjustments: dict[str, Adjustment],
                                                      order: list[str]) -> None:
    assert cars(apply_adjustments(RACE, adjustments)) == order


def test_adjusted_values_are_exact() -> None:
    result = {r.car: r for r in apply_adjustments(
        RACE, {"1": Adjustment(seconds=Decimal("65.5"), laps=1)})}
    assert result["1"].laps == 99
    assert result["1"].total_time == Decimal("14465.500")
    assert result["2"] == replace(RACE[1], position=1)  # untouched apart from its position


def test_laps_never_go_below_zero() -> None:
    result = apply_adjustments(RACE, {"6": Adjustment(laps=50)})
    assert {r.car: r.laps for r in result}["6"] == 0


def test_a_car_without_time_is_sorted_after_same_lap_cars_with_time() -> None:
    race = rows(("1", 10, None), ("2", 10, "600.000"), ("3", 9, "500.000"))
    result = apply_adjustments(race, {"3": Adjustment(seconds=Decimal(1))})
    assert cars(result) == ["2", "1", "3"]
    assert result[1].total_time is None


@pytest.mark.parametrize("status", [DSQ, EXC])
def test_disqualified_and_excluded_cars_go_last(status: ResultStatus) -> None:
    result = apply_adjustments(RACE, {"1": Adjustment(status=status)})
    assert cars(result) == ["2", "3", "4", "5", "6", "1"]
    assert result[-1].status is status
    assert result[-1].laps == 100  # the line is kept, only its status changes


def test_removed_cars_keep_their_published_order_among_themselves() -> None:
    result = apply_adjustments(
        RACE, {"3": Adjustment(status=EXC), "1": Adjustment(status=DSQ), "5": Adjustment(status=DSQ)}
    )
    assert cars(result) == ["2", "4", "6", "1", "3", "5"]
    assert [r.status for r in result[-3:]] == [DSQ, EXC, DSQ]


def test_already_removed_rows_stay_last_when_another_car_is_adjusted() -> None:
    race = rows(("1", 100, "100.000"), ("2", 100, "110.000"), ("3", 100, "90.000", DSQ),
                ("4", 50, "50.000", DNS))
    result = apply_adjustments(race, {"1": Adjustment(seconds=Decimal(20))})
    assert cars(result) == ["2", "1", "4", "3"]


def test_not_classified_rows_keep_their_published_order_after_the_classified() -> None:
    # A not-classified car with more laps than a classified one still comes after it, and the
    # non-running statuses are not re-sorted by laps or time among themselves.
    race = rows(
        ("1", 100, "100.000"),
        ("2", 80, "200.000"),
        ("3", 90, "150.000", NC),
        ("4", 95, "140.000", RET),
        ("5", 0, None, DNS),
        ("6", 99, "120.000", NC),
    )
    result = apply_adjustments(race, {"1": Adjustment(laps=30)})
    assert cars(result) == ["2", "1", "3", "4", "5", "6"]


def test_reinstating_a_car_puts_it_back_in_running_order() -> None:
    race = rows(("1", 100, "100.000"), ("2", 99, "90.000"), ("3", 100, "95.000", DSQ))
    result = apply_adjustments(race, {"3": Adjustment(status=C)})
    assert cars(result) == ["3", "1", "2"]


@pytest.mark.parametrize(
    "adjustments",
    [
        {"1": Adjustment(seconds=Decimal(15))},
        {"2": Adjustment(laps=3)},
        {"1": Adjustment(status=DSQ), "4": Adjustment(seconds=Decimal(-10))},
        {"6": Adjustment(status=EXC)},
        {"99": Adjustment(seconds=Decimal(1))},  # a car not in the race changes nothing
    ],
)
def test_positions_are_renumbered_one_to_n(adjustments: dict[str, Adjustment]) -> None:
    result = apply_adjustments(RACE, adjustments)
    assert [r.position for r in result] == list(range(1, len(RACE) + 1))
    assert sorted(cars(result)) == sorted(cars(RACE))
    check_rows(result, where="adjusted")


def test_adjustments_add_up() -> None:
    total = Adjustment(seconds=Decimal(1), laps=1) + Adjustment(seconds=Decimal(65))
    assert total == Adjustment(seconds=Decimal(66), laps=1, status=None)
    assert (Adjustment(status=DSQ) + Adjustment()).status is DSQ
    assert (Adjustment(status=DSQ) + Adjustment(status=C)).status is C


def test_class_order_keeps_overall_order() -> None:
    race = (row(1, "1", 10, "1"), row(2, "2", 10, "2", class_name="GT"),
            row(3, "3", 10, "3"), row(4, "4", 9, "4", class_name="LMP3"))
    assert cars(tuple(class_order(race, frozenset({"LMP2"})))) == ["1", "3"]
    assert cars(tuple(class_order(race, frozenset({"GT", "LMP3"})))) == ["2", "4"]


# -- check_rows -------------------------------------------------------------------------------


def test_check_rows_accepts_a_well_formed_classification() -> None:
    check_rows(RACE, where="race.csv")
    check_rows((), where="empty")


@pytest.mark.parametrize(
    ("positions_cars", "fragment"),
    [
        ([(1, "1"), (3, "2")], "position 3 of car #2 out of sequence (expected 2"),  # a gap
        ([(1, "1"), (1, "2")], "position 1 of car #2 out of sequence (expected 2"),  # a repeat
        ([(2, "1"), (3, "2")], "position 2 of car #1 out of sequence (expected 1"),  # no 1st
        ([(1, "1"), (2, "2"), (2, "3")], "positions must run 1..3 without gaps or repeats"),
        ([(1, "7"), (2, "8"), (3, "7")], "car #7 appears twice (positions 1 and 3)"),
        ([(1, "007"), (2, "007")], "car #007 appears twice (positions 1 and 2)"),
    ],
)
def test_check_rows_names_the_car_and_position(positions_cars: list[tuple[int, str]],
                                               fragment: str) -> None:
    bad = tuple(row(p, car, 10, "100.000") for p, car in positions_cars)
    with pytest.raises(InvalidInputError) as caught:
        check_rows(bad, where="R9.csv")
    assert fragment in caught.value.message
    assert caught.value.where == "R9.csv"


def test_check_rows_rejects_negative_laps() -> None:
    with pytest.raises(InvalidInputError, match=r"car #2: negative laps -1"):
        check_rows((row(1, "1", 10, "1"), row(2, "2", -1, "1")), where="x")


def _fault(rows: Any, check: Callable[..., None]) -> str | None:
    try:
        check(rows, where="x")
    except InvalidInputError as error:
        return str(error)
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("1234"), st.integers(-1, 2)),
                max_size=5))
def test_check_rows_in_bulk_names_the_fault_the_row_by_row_check_names(
        lines: list[tuple[int, str, int]]) -> None:
    rows = tuple(row(p, car, laps, "1") for p, car, laps in lines)
    one_by_one = _fault(lines, _name_first_fault)
    assert _fault(rows, check_rows) == one_by_one
    assert _fault([r.to_record() for r in rows], check_records) == one_by_one


def test_car_numbers_are_strings_not_numbers() -> None:
    check_rows((row(1, "7", 10, "1"), row(2, "007", 10, "2")), where="x")


# -- record round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("source", [RACE[0], RACE[4], row(1, "9", 0, None, DNS)])
def test_row_record_round_trip(source: ClassificationRow) -> None:
    record = source.to_record()
    assert ClassificationRow.from_record(record) == source
    assert record["class"] == source.class_name
    assert record["total_time"] == (None if source.total_time is None else str(source.total_time))


# -- the real case: AsLMS 2023/24 R5, Abu Dhabi race 2 ------------------------------------------


def _parse(name: str) -> tuple[ClassificationRow, ...]:
    return parse_alkamel((SEASON / name).read_bytes(), source=name)


R5_TERMS = [
    DecisionTerms(DecisionKind.LAP_PENALTY, "24", seconds=Decimal(1), laps=1),
    DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(65)),
    DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(106)),
]


def test_r5_penalties_turn_the_at_flag_file_into_the_official_one() -> None:
    at_flag = _parse(R5_AT_FLAG)
    official = _parse(R5_OFFICIAL)
    adjustments = {t.car: t.adjustment() for t in R5_TERMS}
    assert adjustments["24"] == Adjustment(seconds=Decimal(1), laps=1)
    assert adjustments["3"] == Adjustment(seconds=Decimal(65))
    assert adjustments["19"] == Adjustment(seconds=Decimal(106))

    assert cars(at_flag) != cars(official)
    result = apply_adjustments(at_flag, adjustments)
    assert cars(result) == cars(official)
    by_car = {r.car: r for r in result}
    official_by_car = {r.car: r for r in official}
    for car in ("24", "3", "19"):
        assert (by_car[car].position, by_car[car].laps, by_car[car].total_time) == (
            official_by_car[car].position, official_by_car[car].laps,
            official_by_car[car].total_time,
        )
    assert result == official  # every line, not only the penalised ones


@pytest.mark.parametrize(
    ("car", "at_flag", "official"),
    [
        ("24", (2, 90, Decimal("14506.291")), (7, 89, Decimal("14507.291"))),
        ("3", (4, 90, Decimal("14514.918")), (4, 90, Decimal("14579.918"))),
        ("19", (17, 84, Decimal("14506.683")), (23, 84, Decimal("14612.683"))),
    ],
)
def test_r5_penalised_cars(car: str, at_flag: tuple[int, int, Decimal],
                           official: tuple[int, int, Decimal]) -> None:
    before = {r.car: r for r in _parse(R5_AT_FLAG)}[car]
    after = {r.car: r for r in apply_adjustments(
        _parse(R5_AT_FLAG), {t.car: t.adjustment() for t in R5_TERMS})}[car]
    assert (before.position, before.laps, before.total_time) == at_flag
    assert (after.position, after.laps, after.total_time) == official


def test_r5_reversing_the_penalties_gives_back_the_at_flag_file() -> None:
    reversals = {t.car: t.reversal() for t in R5_TERMS}
    assert apply_adjustments(_parse(R5_OFFICIAL), reversals) == _parse(R5_AT_FLAG)
