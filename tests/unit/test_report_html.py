"""The HTML audit report on small hand-made data: self-contained, escaped, and saying the same
totals in its tables and charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.report.chart import nice_scale, spread
from infra.report.html import render_report
from services.audit_report import progression
from tests.html_dom import Node, parse

AT = datetime(2024, 2, 11, 17, tzinfo=UTC)
RECORDED = AT + timedelta(minutes=5)
HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def result(number: int, points: str, *, pole: str = "0", deduction: str = "0",
           status: str = "classified") -> dict[str, Any]:
    classified = status == "classified"
    return {"round": number, "position": 1 if classified else None, "status": status,
            "classified": classified, "points": Decimal(points), "pole_points": Decimal(pole),
            "deduction": Decimal(deduction)}


def car(position: int, number: str, team: str, results: list[dict[str, Any]],
        changed_by: tuple[int, ...] = (), tie: str | None = None) -> dict[str, Any]:
    total = sum((r["points"] + r["pole_points"] - r["deduction"] for r in results), Decimal(0))
    row = {"position": position, "car": number, "team": team, "points": total, "tie": tie,
           "decided_by": None, "countback": [], "drivers": [], "rounds": results,
           "changed_by": list(changed_by)}
    return {**row, "progression": progression(row, [1, 2])}


def decision(position: int, summary: str, actor: str = "stewards") -> dict[str, Any]:
    return {"position": position, "effective_at": AT, "recorded_at": RECORDED,
            "recorded_after": RECORDED - AT, "retroactive": False, "kind": "decision_imposed",
            "round": 2, "summary": summary, "actor": actor, "source": "test", "decision": True}


def change(class_id: str, number: str, team: str, before: tuple[int, str], after: tuple[int, str],
           cause: str = "decision D1: +10s on #7") -> dict[str, Any]:
    return {"class": class_id, "car": number, "team": team,
            "before": {"position": before[0], "points": Decimal(before[1]), "tie": None},
            "after": {"position": after[0], "points": Decimal(after[1]), "tie": None},
            "causes": [{"position": 9, "fact": cause}], "caused_by_others": False,
            "decisions": [9], "places_gained": before[0] - after[0],
            "points_change": Decimal(after[1]) - Decimal(before[1])}


def report(**over: Any) -> dict[str, Any]:
    """A two-round, two-class report; `over` replaces top-level keys or, with the names below,
    one hostile-able text."""
    team = over.pop("team", "Red Team")
    gt_rows = [
        car(1, "7", team, [result(1, "25"), result(2, "12.5", pole="1")], changed_by=(9,)),
        car(2, "8", "Blue Team", [result(1, "18"), result(2, "18")], changed_by=(9,)),
        car(3, "9", "Grey Team", [result(1, "0", status="retired")]),
    ]
    d = decision(9, over.pop("summary", "R2 decision D1: #7 +10s time penalty"),
                 over.pop("actor", "stewards"))
    d["changed"] = [{"class": "GT", "car": "7"}, {"class": "GT", "car": "8"}]
    changes = [change("GT", "8", "Blue Team", (2, "30"), (1, "36"), over.pop("cause", "decision D1")),
               change("GT", "7", team, (1, "42.5"), (2, "38.5"))]
    data = {
        "championship": "test-cup", "name": over.pop("name", "Test Cup"), "as_of": AT,
        "known_at": AT + timedelta(days=1), "generated_at": AT + timedelta(days=2),
        "log_position": 12, "rules_version": 1, "complete": False,
        "rounds": [{"round": 1, "name": over.pop("round_name", "Race 1"), "flag_at": AT,
                    "status": "official", "published": True, "decisions": 0},
                   {"round": 2, "name": "Race 2", "flag_at": AT, "status": "provisional",
                    "published": True, "decisions": 1}],
        "classes": [
            {"class": over.pop("class_id", "GT"), "name": "GT3", "parent": None, "rows": gt_rows},
            {"class": "LMP3", "name": "LMP3", "parent": None, "rows": []},
        ],
        "decisions": [{"effective_at": AT, "rounds": [2], "decisions": [d], "changes": changes}],
        "timeline": [d],
        "retroactive_after": timedelta(days=1),
    }
    return {**data, **over}


@pytest.fixture
def dom() -> Node:
    return parse(render_report(report()), strict=True)


@pytest.mark.parametrize("field", ["team", "summary", "actor", "cause", "name", "round_name",
                                   "class_id"])
def test_every_text_is_escaped(field: str) -> None:
    html = render_report(report(**{field: HOSTILE}))
    assert "<script" not in html and "<img" not in html and 'onerror=alert(1)>' not in html
    assert "&lt;script&gt;" in html
    body = parse(html, strict=True).find("body")
    shown = [body.text(), *(v for n in body.descendants() for v in n.attrs.values())]
    assert any(HOSTILE in s for s in shown)  # shown to the reader as written


@pytest.mark.parametrize("pattern", [r"https?://", r"\bsrc\s*=", r"url\(", r"@import", r"<link\b",
                                     r"<script\b", r"<iframe\b", r"//[a-z0-9.-]+\.[a-z]{2,}/"])
def test_the_document_references_nothing_outside_itself(pattern: str) -> None:
    assert not re.search(pattern, render_report(report()), re.IGNORECASE)


def test_it_is_one_well_formed_html_document_with_inline_style(dom: Node) -> None:
    assert dom.find("html").attrs["lang"] == "en"
    assert "font-family" not in dom.find("body").text()
    assert len(dom.find_all("style")) == 1 and "@media print" in dom.find("style").text()
    assert dom.find("title").text() == "Test Cup — audit report"


@pytest.mark.parametrize(("label", "shown"), [
    ("As of", "2024-02-11 17:00 UTC"), ("Known at", "2024-02-12 17:00 UTC"),
    ("Log position", "12"), ("Generated", "2024-02-13 17:00 UTC"), ("Championship", "test-cup"),
])
def test_the_header_says_when_and_what(dom: Node, label: str, shown: str) -> None:
    pairs = {dt.text(): dt.parent.find("dd").text() for dt in dom.find_all("dt") if dt.parent}
    assert pairs[label] == shown


def test_standings_tables_are_semantic_and_carry_the_totals(dom: Node) -> None:
    table = dom.find("table", "standings", {"data-class": "GT"})
    assert [th.attrs.get("scope") for th in table.find("thead").find_all("th")] == ["col"] * 7
    rows = table.find("tbody").find_all("tr")
    assert [(r.attrs["data-car"], r.attrs["data-points"]) for r in rows] == [
        ("7", "38.5"), ("8", "36"), ("9", "0")]
    assert rows[0].find("th").attrs["scope"] == "row"
    assert rows[0].find("td", "pts").text() == "38.5"
    assert "RET" in rows[2].text()


def test_rows_changed_by_a_decision_are_highlighted_and_link_to_it(dom: Node) -> None:
    changed = dom.find_all("tr", "changed", {"data-class": "GT"})
    assert {r.attrs["data-car"] for r in changed if "data-changed-by" in r.attrs} == {"7", "8"}
    link = dom.find("table", "standings").find("a", "decision")
    assert link.attrs["href"] == "#moment-1"
    assert dom.find("article", "moment").attrs["id"] == "moment-1"


def test_each_class_has_a_chart_whose_series_end_at_the_totals(dom: Node) -> None:
    svg = dom.find("svg", "progression", {"data-class": "GT"})
    series = {g.attrs["data-car"]: g for g in svg.find_all("g", "series")}
    assert set(series) == {"7", "8", "9"}
    for number, total in (("7", "38.5"), ("8", "36"), ("9", "0")):
        assert series[number].attrs["data-total"] == total
        assert series[number].find("polyline").attrs["points"]
    ends = [c.attrs["data-cumulative"] for c in series["7"].find_all("circle")]
    assert ends == ["25", "38.5"]
    assert {t.text() for t in svg.find_all("text", "tick")} >= {"Start", "R1", "R2"}
    legend = dom.find("figure", "chart", {"data-class": "GT"}).find("ul", "legend")
    assert [li.attrs["data-car"] for li in legend.find_all("li")] == ["7", "8", "9"]


def test_a_class_without_results_says_so_instead_of_an_empty_chart(dom: Node) -> None:
    assert "No car has a result yet" in dom.find("table", "standings", {"data-class": "LMP3"}).text()
    assert not dom.find_all("svg", "progression", {"data-class": "LMP3"})


@pytest.mark.parametrize(("number", "trend", "delta"), [
    ("8", "gained", "▲1 place+6 pts"), ("7", "lost", "▼1 place−4 pts"),
])
def test_decisions_list_the_rows_they_changed(dom: Node, number: str, trend: str, delta: str) -> None:
    moment = dom.find("article", "moment")
    assert moment.find("li", "decision").attrs["data-position"] == "9"
    row = moment.find("table", "changes").find("tr", "changed", {"data-car": number})
    assert trend in row.classes and row.attrs["data-decisions"] == "9"
    assert row.find("td", "delta").text() == delta


def test_decisions_are_highlighted_in_the_timeline(dom: Node) -> None:
    row = dom.find("table", "timeline").find("tr", attrs={"data-position": "9"})
    assert "decision" in row.classes and row.find("a").attrs["href"] == "#moment-1"


@pytest.mark.parametrize(("maximum", "expected"), [
    (0, (5.0, 1.0)), (1, (1.0, 1.0)), (4.5, (5.0, 1.0)), (7, (8.0, 2.0)), (83, (100.0, 20.0)), (101, (120.0, 20.0)),
    (250, (250.0, 50.0)), (251, (300.0, 50.0)),
])
def test_axis_scale_is_round(maximum: float, expected: tuple[float, float]) -> None:
    assert nice_scale(maximum) == expected


@pytest.mark.parametrize(("ys", "expected"), [
    ([10.0, 50.0], [10.0, 50.0]),                 # far apart: unchanged
    ([10.0, 12.0, 13.0], [10.0, 22.0, 34.0]),     # pushed down to the gap
    ([95.0, 96.0], [88.0, 100.0]),                # kept above the bottom
])
def test_end_labels_are_spread_apart(ys: list[float], expected: list[float]) -> None:
    assert spread(ys, 12.0, 0.0, 100.0) == expected
