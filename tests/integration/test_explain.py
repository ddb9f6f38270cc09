"""`audit explain`: every point of a car, round by round, sums to its standings total."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import UnknownCarError
from services.demo import ASLMS
from services.ledger import Ledger

DATES = ["2023-12-04T00:00:00+08:00", "2024-02-05T00:00:00+04:00", "2024-02-11T19:00:00+04:00",
         "2024-02-12T00:00:00+04:00"]
LATER = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("car", ["4", "91", "17"])
def test_lines_sum_to_the_standings_total_at_several_dates(demo: Ledger, car: str) -> None:
    for date in DATES:
        as_of = datetime.fromisoformat(date)
        standings = demo.standings(ASLMS, as_of=as_of, known_at=LATER)
        totals = {c["class"]: {r["car"]: r["points"] for r in c["rows"]} for c in standings["classes"]}
        explained = demo.explain(ASLMS, car, as_of=as_of, known_at=LATER)
        for block in explained["classes"]:
            lines = sum((Decimal(line["total"]) for line in block["lines"]), Decimal(0))
            assert lines == block["points"] == totals[block["class"]][car], (car, date)
            for line in block["lines"]:
                assert line["total"] == line["race_points"] + line["pole_points"] - line["deduction"]
                assert line["because"], "every line names the facts behind it"


def test_a_line_names_the_pole_and_the_decisions_that_moved_the_car(demo: Ledger) -> None:
    explained = demo.explain(ASLMS, "99", known_at=LATER, as_of=LATER)
    r4 = explained["classes"][0]["lines"][3]
    assert (r4["race_points"], r4["pole_points"], r4["total"]) == (0, 1, 1)
    assert any("pole #99" in b["fact"] for b in r4["because"])
    r5_91 = demo.explain(ASLMS, "91", known_at=LATER, as_of=LATER)["classes"][0]["lines"][4]
    assert (r5_91["class_position"], r5_91["race_points"]) == (2, 18)
    assert any("R5-car19-max-drive-time" in b["fact"] for b in r5_91["because"])


def test_an_unknown_car_is_a_specific_error(demo: Ledger) -> None:
    with pytest.raises(UnknownCarError, match="#777"):
        demo.explain(ASLMS, "777")
