"""The audit report's data on the real AsLMS 2023/24 season: each car's chart series ends at its
standings total, and the three R5 stewards' decisions appear with exactly the rows they
changed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from infra.report.html import render_report
from projections.canonical import canonical_json
from services.audit_report import build_report
from services.demo import ASLMS, R5_DECIDED, R5_PENALTIES, TELLING_DATES
from services.ledger import Ledger
from tests.html_dom import parse
from tests.integration.support import at

LATER = datetime(2030, 1, 1, tzinfo=UTC)
DATES = [at(d) for d, _ in TELLING_DATES] + [LATER]
GT_PENALTY = "R5-car19-max-drive-time"
LMP2_PENALTIES = {"R5-car24-min-drive-time", "R5-car3-time"}


def block(data: dict[str, Any], class_id: str) -> dict[str, Any]:
    return next(b for b in data["classes"] if b["class"] == class_id)


def reference(fact: dict[str, Any]) -> str:
    return next(p.reference for p in R5_PENALTIES if p.reference in fact["summary"])


@pytest.mark.parametrize("as_of", DATES, ids=[d.date().isoformat() for d in DATES])
def test_every_series_ends_at_the_cars_standings_total(demo: Ledger, as_of: datetime) -> None:
    data = build_report(demo, ASLMS, as_of=as_of, known_at=LATER)
    standings = demo.standings(ASLMS, as_of=as_of, known_at=LATER)
    published = [r["round"] for r in data["rounds"] if r["published"]]
    for expected in standings["classes"]:
        rows = block(data, expected["class"])["rows"]
        assert [(r["car"], r["points"]) for r in rows] == [(r["car"], r["points"]) for r in expected["rows"]]
        for row in rows:
            series = row["progression"]
            assert [p["round"] for p in series] == published
            assert series[-1]["cumulative"] == row["points"], (expected["class"], row["car"])
            assert sum((p["points"] for p in series), Decimal(0)) == row["points"]


@pytest.mark.parametrize(("car", "class_id"), [("4", "LMP2"), ("99", "LMP2"), ("91", "GT"),
                                               ("19", "GT"), ("17", "LMP3")])
def test_series_agree_round_by_round_with_explain(demo: Ledger, car: str, class_id: str) -> None:
    for as_of in DATES[1:]:
        row = next(r for r in block(build_report(demo, ASLMS, as_of=as_of, known_at=LATER),
                                    class_id)["rows"] if r["car"] == car)
        explained = next(c for c in demo.explain(ASLMS, car, as_of=as_of, known_at=LATER)["classes"]
                         if c["class"] == class_id)
        gained = {p["round"]: p["points"] for p in row["progression"] if p["entered"]}
        assert gained == {line["round"]: line["total"] for line in explained["lines"]}
        assert row["progression"][-1]["cumulative"] == explained["sum_of_lines"]


def test_the_r5_decisions_appear_with_the_rows_they_changed(demo: Ledger) -> None:
    data = build_report(demo, ASLMS, known_at=LATER, as_of=LATER)
    [moment] = data["decisions"]
    assert moment["effective_at"] == R5_DECIDED and moment["rounds"] == [5]
    assert {reference(d) for d in moment["decisions"]} == {p.reference for p in R5_PENALTIES}
    diff = demo.diff(ASLMS, at("2024-02-11T19:00:00+04:00"), at("2024-02-11T21:30:00+04:00"),
                     known_at=LATER)
    assert {(c["class"], c["car"]) for c in moment["changes"]} == {
        (c["class"], c["car"]) for c in diff["changes"]}
    changed = {reference(d): {(c["class"], c["car"]) for c in d["changed"]} for d in moment["decisions"]}
    assert changed[GT_PENALTY] == {(c["class"], c["car"]) for c in moment["changes"] if c["class"] == "GT"}
    assert all(cls == "LMP2" for ref in LMP2_PENALTIES for cls, _ in changed[ref])
    assert ("LMP2", "24") in changed["R5-car24-min-drive-time"]


@pytest.mark.parametrize(("class_id", "car", "before", "after", "places"), [
    ("GT", "19", (4, 53), (6, 34), -2),
    ("GT", "88", (2, 67), (2, 74), 0),
    ("GT", "91", (1, 73), (1, 76), 0),
    ("LMP2", "22", (3, 68), (2, 71), 1),
    ("LMP2", "99", (2, 70), (3, 70), -1),
])
def test_each_changed_row_says_before_after_and_which_decision(
        demo: Ledger, class_id: str, car: str, before: tuple[int, int], after: tuple[int, int],
        places: int) -> None:
    data = build_report(demo, ASLMS, known_at=LATER, as_of=LATER)
    [moment] = data["decisions"]
    row = next(c for c in moment["changes"] if (c["class"], c["car"]) == (class_id, car))
    assert (row["before"]["position"], row["before"]["points"]) == before
    assert (row["after"]["position"], row["after"]["points"]) == after
    assert row["places_gained"] == places and row["points_change"] == after[1] - before[1]
    by_position = {d["position"]: reference(d) for d in moment["decisions"]}
    cited = {by_position[p] for p in row["decisions"]}
    assert cited == ({GT_PENALTY} if class_id == "GT" else cited & LMP2_PENALTIES) and cited
    standing = next(r for r in block(data, class_id)["rows"] if r["car"] == car)
    assert standing["changed_by"] == row["decisions"]


def test_before_the_decisions_there_is_nothing_to_highlight(demo: Ledger) -> None:
    data = build_report(demo, ASLMS, as_of=at("2024-02-11T19:00:00+04:00"), known_at=LATER)
    assert data["decisions"] == []
    assert not any(r["changed_by"] for b in data["classes"] for r in b["rows"])
    assert [r["round"] for r in data["rounds"] if r["published"]] == [1, 2, 3, 4, 5]
    assert [r["status"] for r in data["rounds"]][-1] == "provisional"


def test_the_same_times_give_the_same_report(demo: Ledger) -> None:
    first = build_report(demo, ASLMS, as_of=LATER, known_at=LATER)
    second = build_report(demo, ASLMS, as_of=LATER, known_at=LATER)
    assert canonical_json(first) == canonical_json(second)
    assert render_report(first) == render_report(second)


def test_the_rendered_season_shows_every_car_and_decision(demo: Ledger) -> None:
    data = build_report(demo, ASLMS, as_of=LATER, known_at=LATER)
    dom = parse(render_report(data), strict=True)
    for b in data["classes"]:
        table = dom.find("table", "standings", {"data-class": b["class"]})
        assert len(table.find("tbody").find_all("tr")) == len(b["rows"])
        svg = dom.find("svg", "progression", {"data-class": b["class"]})
        assert {g.attrs["data-car"] for g in svg.find_all("g", "series")} == {r["car"] for r in b["rows"]}
    assert len(dom.find_all("li", "decision")) == 3
    assert len(dom.find("table", "changes").find_all("tr", "changed")) == 15
