"""Stewards' decisions as values: which amounts each kind takes, and what it does to a line."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.classification import Adjustment, ResultStatus
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import InvalidInputError

TP = DecisionKind.TIME_PENALTY
LP = DecisionKind.LAP_PENALTY
DSQ = DecisionKind.DISQUALIFICATION
EXC = DecisionKind.EXCLUSION
PD = DecisionKind.POINTS_DEDUCTION
POLE = DecisionKind.POLE_STRIPPED


@pytest.mark.parametrize(
    ("kind", "amounts"),
    [
        (TP, {"seconds": Decimal(65)}),
        (TP, {"seconds": Decimal("0.001")}),
        (LP, {"laps": 1}),
        (LP, {"laps": 1, "seconds": Decimal(1)}),  # R5 #24: a lap and a second
        (LP, {"laps": 3, "seconds": Decimal(0)}),
        (DSQ, {}),
        (EXC, {}),
        (PD, {"points": Decimal(5)}),
        (PD, {"points": Decimal("0.5")}),
        (POLE, {}),
    ],
)
def test_valid_terms(kind: DecisionKind, amounts: dict[str, Any]) -> None:
    terms = DecisionTerms(kind, "24", **amounts)
    assert terms.kind is kind
    for name in ("seconds", "laps", "points"):
        assert getattr(terms, name) == amounts.get(name)


@pytest.mark.parametrize(
    ("kind", "amounts", "message"),
    [
        (TP, {}, "a time_penalty needs a positive seconds"),
        (TP, {"seconds": Decimal(0)}, "a time_penalty needs a positive seconds"),
        (TP, {"seconds": Decimal(-5)}, "a time_penalty needs a positive seconds"),
        (TP, {"seconds": Decimal(5), "laps": 1}, "a time_penalty takes no laps (got 1)"),
        (TP, {"seconds": Decimal(5), "laps": 0}, "a time_penalty takes no laps (got 0)"),
        (TP, {"seconds": Decimal(5), "points": Decimal(1)}, "a time_penalty takes no points"),
        (LP, {}, "a lap_penalty needs a positive laps"),
        (LP, {"laps": 0}, "a lap_penalty needs a positive laps"),
        (LP, {"laps": -1}, "a lap_penalty needs a positive laps"),
        (LP, {"laps": 1, "seconds": Decimal(-1)},
         "seconds added with a lap penalty cannot be negative"),
        (LP, {"laps": 1, "points": Decimal(2)}, "a lap_penalty takes no points (got 2)"),
        (PD, {}, "a points_deduction needs a positive points"),
        (PD, {"points": Decimal(0)}, "a points_deduction needs a positive points"),
        (PD, {"points": Decimal(-3)}, "a points_deduction needs a positive points"),
        (PD, {"points": Decimal(3), "seconds": Decimal(10)},
         "a points_deduction takes no seconds (got 10)"),
        (POLE, {"points": Decimal(1)}, "a pole_stripped takes no points (got 1)"),
        (POLE, {"seconds": Decimal(1)}, "a pole_stripped takes no seconds (got 1)"),
        (POLE, {"laps": 1}, "a pole_stripped takes no laps (got 1)"),
        (DSQ, {"seconds": Decimal(10)}, "a disqualification takes no seconds (got 10)"),
        (DSQ, {"laps": 2}, "a disqualification takes no laps (got 2)"),
        (EXC, {"points": Decimal(25)}, "exclusion takes no points (got 25)"),
        # Non-finite amounts would poison every later view (an infinite deduction cannot be
        # written as canonical JSON), so they are refused like any other malformed amount.
        (TP, {"seconds": Decimal("Infinity")}, "a time_penalty needs a finite seconds"),
        (TP, {"seconds": Decimal("NaN")}, "a time_penalty needs a finite seconds"),
        (LP, {"laps": 1, "seconds": Decimal("Infinity")}, "a lap_penalty needs a finite seconds"),
        (PD, {"points": Decimal("Infinity")}, "a points_deduction needs a finite points"),
        (PD, {"points": Decimal("sNaN")}, "a points_deduction needs a finite points"),
        (DSQ, {"points": Decimal("-Infinity")}, "a disqualification needs a finite points"),
    ],
)
def test_invalid_terms_are_refused(kind: DecisionKind, amounts: dict[str, Any],
                                   message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        DecisionTerms(kind, "24", **amounts)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("terms", "adjustment"),
    [
        (DecisionTerms(TP, "3", seconds=Decimal(65)), Adjustment(seconds=Decimal(65))),
        (DecisionTerms(LP, "24", seconds=Decimal(1), laps=1),
         Adjustment(seconds=Decimal(1), laps=1)),
        (DecisionTerms(LP, "24", laps=2), Adjustment(laps=2)),
        (DecisionTerms(DSQ, "7"), Adjustment(status=ResultStatus.DISQUALIFIED)),
        (DecisionTerms(EXC, "7"), Adjustment(status=ResultStatus.EXCLUDED)),
        (DecisionTerms(PD, "7", points=Decimal(10)), Adjustment()),
        (DecisionTerms(POLE, "7"), Adjustment()),
    ],
)
def test_adjustment(terms: DecisionTerms, adjustment: Adjustment) -> None:
    assert terms.adjustment() == adjustment


@pytest.mark.parametrize(
    ("kind", "changes"),
    [(TP, True), (LP, True), (DSQ, True), (EXC, True), (PD, False), (POLE, False)],
)
def test_which_kinds_change_the_classification(kind: DecisionKind, changes: bool) -> None:
    assert kind.changes_classification is changes


@pytest.mark.parametrize(
    ("terms", "reversal"),
    [
        (DecisionTerms(TP, "3", seconds=Decimal(65)), Adjustment(seconds=Decimal(-65))),
        (DecisionTerms(LP, "24", seconds=Decimal(1), laps=1),
         Adjustment(seconds=Decimal(-1), laps=-1)),
        (DecisionTerms(DSQ, "7"), Adjustment(status=ResultStatus.CLASSIFIED)),
        (DecisionTerms(EXC, "7"), Adjustment(status=ResultStatus.CLASSIFIED)),
        (DecisionTerms(PD, "7", points=Decimal(10)), Adjustment()),
    ],
)
def test_reversal(terms: DecisionTerms, reversal: Adjustment) -> None:
    assert terms.reversal() == reversal


@settings(max_examples=50, deadline=None)
@given(
    seconds=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3),
    laps=st.integers(min_value=1, max_value=500),
    extra=st.sampled_from([None, Decimal(0), Decimal(1), Decimal("2.5")]),
)
def test_adjustment_plus_reversal_sums_to_nothing(seconds: Decimal, laps: int,
                                                  extra: Decimal | None) -> None:
    for terms in (DecisionTerms(TP, "1", seconds=seconds),
                  DecisionTerms(LP, "1", laps=laps, seconds=extra)):
        total = terms.adjustment() + terms.reversal()
        assert total.seconds == 0
        assert total.laps == 0
        assert total.status is None
        assert terms.reversal() + terms.adjustment() == Adjustment(Decimal(0), 0, None)


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        (DecisionTerms(TP, "3", seconds=Decimal(65)), "+65s time penalty"),
        (DecisionTerms(LP, "24", seconds=Decimal(1), laps=1), "1 lap(s) + 1s penalty"),
        (DecisionTerms(LP, "24", laps=2), "2 lap(s) penalty"),
        (DecisionTerms(PD, "7", points=Decimal("2.5")), "2.5 point(s) deducted"),
        (DecisionTerms(POLE, "7"), "pole stripped"),
        (DecisionTerms(DSQ, "7"), "disqualification"),
    ],
)
def test_describe(terms: DecisionTerms, text: str) -> None:
    assert terms.describe() == text


@pytest.mark.parametrize(
    "terms",
    [
        DecisionTerms(TP, "3", seconds=Decimal("65.500")),
        DecisionTerms(LP, "24", seconds=Decimal(1), laps=1),
        DecisionTerms(LP, "007", laps=2),
        DecisionTerms(DSQ, "7"),
        DecisionTerms(EXC, "7"),
        DecisionTerms(PD, "7", points=Decimal("12.5")),
        DecisionTerms(POLE, "99"),
    ],
)
def test_record_round_trip(terms: DecisionTerms) -> None:
    record = terms.to_record()
    assert set(record) == {"kind", "car", "seconds", "laps", "points"}
    assert record["kind"] == terms.kind.value
    back = DecisionTerms.from_record(record)
    assert back == terms
    assert back.to_record() == record
    assert str(back.seconds) == str(terms.seconds)  # precision kept: "65.500" stays "65.500"


def test_record_shape() -> None:
    assert DecisionTerms(LP, "24", seconds=Decimal(1), laps=1).to_record() == {
        "kind": "lap_penalty", "car": "24", "seconds": "1", "laps": 1, "points": None,
    }


@pytest.mark.parametrize(
    ("record", "terms"),
    [
        ({"kind": "time_penalty", "car": 3, "seconds": 65}, DecisionTerms(TP, "3", seconds=Decimal(65))),
        ({"kind": "lap_penalty", "car": "24", "laps": "1", "seconds": ""},
         DecisionTerms(LP, "24", laps=1)),
        ({"kind": "points_deduction", "car": "7", "points": 2.5},
         DecisionTerms(PD, "7", points=Decimal("2.5"))),
        ({"kind": "pole_stripped", "car": "99", "seconds": None, "laps": None, "points": None},
         DecisionTerms(POLE, "99")),
    ],
)
def test_from_record_normalises_loose_records(record: dict[str, Any], terms: DecisionTerms) -> None:
    assert DecisionTerms.from_record(record) == terms


def test_from_record_validates_like_the_constructor() -> None:
    with pytest.raises(InvalidInputError, match="a time_penalty needs a positive seconds"):
        DecisionTerms.from_record({"kind": "time_penalty", "car": "3"})
    with pytest.raises(ValueError):
        DecisionTerms.from_record({"kind": "drive_through", "car": "3"})
