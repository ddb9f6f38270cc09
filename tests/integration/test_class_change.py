"""A car that changes class mid-season (issue 9 item 15), on SQLite and PostgreSQL.

ELMS 2023: #23 United Autosports ran LMP2 Pro/Am in rounds 1-2 and LMP2 from round 3. Here the
timing files never mark it Pro/Am (no GROUP), so only its declared entries, one per class with
its rounds, put it in the right class each round: standings, explain, the entry list and the
"contested every round" condition all follow the class in force for the round.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.classification import ClassificationRow, ResultStatus
from domain.errors import InvalidInputError, UnknownRoundError
from services.importing import register_season
from services.ledger import Ledger
from services.season_files import parse_season_text

from .support import ELMS_FILE, at, points, rows

ELMS = "elms-2023"
PRO_AM = "LMP2 Pro/Am"
SEASON = ELMS_FILE.format(name="European Le Mans Series 2023 (class change)",
                          effective_at="2023-03-01T00:00:00Z") + f"""[[classes]]
id = "{PRO_AM}"
parent = "LMP2"
scores_in_parent = false
match_group = "PRO/AM"
[[rounds]]
number = 2
name = "4 Hours of Le Castellet"
flag_at = 2023-07-16T16:00:00+02:00
[[rounds]]
number = 3
name = "4 Hours of Aragon"
flag_at = 2023-08-27T16:00:00+02:00
[[rounds]]
number = 4
name = "4 Hours of Spa"
flag_at = 2023-09-24T16:00:00+02:00

[[entries]]
car = "23"
team = "United Autosports"
class = "{PRO_AM}"
until_round = 2
[[entries]]
car = "23"
team = "United Autosports"
class = "LMP2"
from_round = 3
"""
EVENTS = f"""kind = "target-event"
id = "{{id}}"
name = "Test event"
effective_at = 2023-03-01T00:00:00Z
capacity = 10
[[classes]]
id = "LMP2"
capacity = 5
[[classes]]
id = "{PRO_AM}"
capacity = 5
"""
ROUTE = f"""[[invitation_routes]]
id = "elms-2023/lmp2-pro-am-champion"
target_class = "LMP2"
description = "ELMS LMP2 Pro/Am champion"
source = {{ type = "standings", championship = "{ELMS}", class = "{PRO_AM}", position = 1 }}
"""
AUTOMATIC = f"""[[automatic_entries]]
championship = "{ELMS}"
"""
# Overall order per round; every car's timing row says class LMP2 and no group, except #83's.
RACES = {1: ["22", "23", "37", "83"], 2: ["23", "22", "37"], 3: ["23", "22", "37"],
         4: ["22", "23", "37"]}
TEAMS = {"22": "United Autosports (22)", "23": "United Autosports", "37": "COOL Racing",
         "83": "AF Corse"}


def _rows(cars: list[str]) -> list[ClassificationRow]:
    return [ClassificationRow(position=i, car=car, team=TEAMS[car], class_name="LMP2",
                              drivers=(f"{car}-A",), vehicle="ORECA 07", laps=120,
                              status=ResultStatus.CLASSIFIED, total_time=Decimal(14400 + i),
                              group="PRO/AM" if car == "83" else "")
            for i, car in enumerate(cars, start=1)]


def _season(ledger: Ledger, tmp_path: Path) -> Ledger:
    for name, text in ((ELMS, SEASON), ("invite", EVENTS.format(id="invite") + ROUTE),
                       ("entries", EVENTS.format(id="entries") + AUTOMATIC)):
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        assert register_season(ledger, path, actor="test").accepted
    for number, cars in RACES.items():
        ledger.import_classification(ELMS, number, _rows(cars), status="official",
                                     published_at=None, actor="test", source="test")
    return ledger


LATER = at("2024-01-01T00:00:00+00:00")


def _rounds(view: dict[str, Any], class_id: str, car: str) -> list[tuple[int, Any]]:
    row = next(r for r in rows(view, class_id) if r["car"] == car)
    return [(r["round"], r["points"]) for r in row["rounds"]]


def test_standings_use_the_class_in_force_for_each_round(ledger: Ledger, tmp_path: Path) -> None:
    view = _season(ledger, tmp_path).standings(ELMS, as_of=LATER)
    # Pro/Am: #23 in R1 (2nd overall, 1st of Pro/Am) and R2; #83 in R1
    assert _rounds(view, PRO_AM, "23") == [(1, 25), (2, 25)]
    assert points(view, PRO_AM) == {"23": 50, "83": 18}
    # LMP2: #23 from R3; in R1-R2 it took no LMP2 place (#37 was 2nd of LMP2 in R1)
    assert _rounds(view, "LMP2", "23") == [(3, 25), (4, 18)]
    assert _rounds(view, "LMP2", "37") == [(1, 18), (2, 18), (3, 15), (4, 15)]
    assert points(view, "LMP2") == {"22": 25 + 25 + 18 + 25, "23": 43, "37": 66}
    explained = ledger.explain(ELMS, "23", as_of=LATER)
    assert [(c["class"], [x["round"] for x in c["lines"]], c["sum_of_lines"], c["points"])
            for c in explained["classes"]] == [("LMP2", [3, 4], 43, 43), (PRO_AM, [1, 2], 50, 50)]
    # in between, the same: after R2, #23 has no LMP2 row yet
    after_r2 = ledger.standings(ELMS, as_of=at("2023-08-01T00:00:00+02:00"))
    assert "23" not in points(after_r2, "LMP2") and points(after_r2, PRO_AM)["23"] == 50


def test_the_entry_list_uses_the_class_the_car_ends_the_season_in(ledger: Ledger,
                                                                 tmp_path: Path) -> None:
    _season(ledger, tmp_path)
    automatic = ledger.entry_list("entries", as_of=LATER)
    cars = {c["class"]: [x["car"] for x in c["entries"]] for c in automatic["classes"]}
    assert cars == {"LMP2": ["23"], PRO_AM: []}
    # the Pro/Am champion contested every round of the series, two of them in LMP2
    invited = ledger.entry_list("invite", as_of=LATER)
    lmp2 = next(c for c in invited["classes"] if c["class"] == "LMP2")
    assert [(x["car"], x["route"]) for x in lmp2["pending"] + lmp2["entries"]] == [
        ("23", "elms-2023/lmp2-pro-am-champion")]
    assert lmp2["refused"] == []


def test_a_declared_entry_for_rounds_replaces_the_file_s_for_those_rounds(
        ledger: Ledger, tmp_path: Path) -> None:
    _season(ledger, tmp_path)
    entry = {"car": "23", "team": "United Autosports", "class": PRO_AM, "drivers": [],
             "from_round": 4}
    assert ledger.declare_entry(ELMS, entry, effective_at=at("2023-10-01T00:00:00Z"),
                                actor="test", source="test").accepted
    view = ledger.standings(ELMS, as_of=LATER)
    assert _rounds(view, PRO_AM, "23") == [(1, 25), (2, 25), (4, 25)]
    assert _rounds(view, "LMP2", "23") == [(3, 25)]
    with pytest.raises(UnknownRoundError, match="has no round 7"):
        ledger.declare_entry(ELMS, {**entry, "from_round": 7}, effective_at=LATER, actor="test",
                             source="test")
    with pytest.raises(InvalidInputError, match="from round 4 is after until round 3"):
        ledger.declare_entry(ELMS, {**entry, "until_round": 3}, effective_at=LATER, actor="test",
                             source="test")


def test_without_rounds_the_second_entry_is_refused_naming_both() -> None:
    text = SEASON.replace("until_round = 2\n", "").replace("from_round = 3\n", "")
    with pytest.raises(InvalidInputError,
                       match=r"entries\[0\] \(every round\) and entries\[1\] \(every round\) "
                             r"both declare car #23 for round 1"):
        parse_season_text(text, source="elms-2023.toml")

