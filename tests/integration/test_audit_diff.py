"""`audit diff` for the real R5 decision: exactly the rows that changed, each tied to the
penalties that changed it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidInputError
from services.demo import ASLMS, R5_PENALTIES
from services.ledger import Ledger

BEFORE = datetime.fromisoformat("2024-02-11T19:00:00+04:00")  # provisional, before the stewards
AFTER = datetime.fromisoformat("2024-02-11T21:30:00+04:00")   # after the three decisions
LATER = datetime(2030, 1, 1, tzinfo=UTC)
GT_PENALTY = "R5-car19-max-drive-time"
LMP2_PENALTIES = {"R5-car24-min-drive-time", "R5-car3-time"}


def marks(ledger: Ledger, at: datetime) -> dict[tuple[str, str], tuple[int, object]]:
    view = ledger.standings(ASLMS, as_of=at, known_at=LATER)
    return {(c["class"], r["car"]): (r["position"], r["points"]) for c in view["classes"] for r in c["rows"]}


def test_the_r5_decisions_diff_lists_exactly_the_changed_rows_and_their_penalties(demo: Ledger) -> None:
    before, after = marks(demo, BEFORE), marks(demo, AFTER)
    expected = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    diff = demo.diff(ASLMS, BEFORE, AFTER, known_at=LATER)
    assert {(c["class"], c["car"]) for c in diff["changes"]} == expected
    assert ("GT", "91") in expected and ("GT", "88") in expected and ("LMP2", "24") in expected
    references = {p.reference for p in R5_PENALTIES}
    for change in diff["changes"]:
        assert (change["before"]["position"], change["before"]["points"]) == before[(change["class"], change["car"])]
        cited = {ref for ref in references for cause in change["causes"] if ref in cause["fact"]}
        assert cited, change
        assert cited == ({GT_PENALTY} if change["class"] == "GT" else cited & LMP2_PENALTIES)


def test_nothing_changes_between_two_dates_without_facts(demo: Ledger) -> None:
    quiet = demo.diff(ASLMS, datetime.fromisoformat("2024-01-01T00:00:00Z"),
                      datetime.fromisoformat("2024-01-31T00:00:00Z"), known_at=LATER)
    assert quiet["changes"] == []


def test_dates_in_the_wrong_order_are_refused(demo: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="before --from"):
        demo.diff(ASLMS, AFTER, BEFORE)
