"""A car's class by round (issue 9 item 15): declared entries with round ranges, the one in force
for each round, later declarations over earlier ones, and the season file's checks."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInputError
from domain.rules import DeclaredEntry, merge_entries
from domain.standings import class_standings
from services.season_files import parse_season_text
from tests.unit.test_standings import _class, definition, race, table

PRO_AM = "LMP2 Pro/Am"


def entry(class_id: str, first: int | None = None, last: int | None = None,
          car: str = "23") -> dict[str, Any]:
    record: dict[str, Any] = {"car": car, "team": "United Autosports", "class": class_id,
                              "drivers": []}
    if first is not None:
        record["from_round"] = first
    if last is not None:
        record["until_round"] = last
    return record


def spans(entries: tuple[DeclaredEntry, ...]) -> list[tuple[str, int | None, int | None]]:
    return [(e.class_id, e.from_round, e.until_round) for e in entries]


@pytest.mark.parametrize(
    ("first", "last", "number", "covers"),
    [(None, None, 1, True), (None, 2, 2, True), (None, 2, 3, False), (3, None, 2, False),
     (3, None, 9, True), (2, 4, 4, True), (2, 4, 1, False), (2, 4, 5, False)],
)
def test_an_entry_covers_its_rounds(first: int | None, last: int | None, number: int,
                                    covers: bool) -> None:
    assert DeclaredEntry.from_record(entry("LMP2", first, last)).covers(number) is covers


@pytest.mark.parametrize(
    ("number", "class_id"), [(1, PRO_AM), (2, PRO_AM), (3, "LMP2"), (4, "LMP2"), (9, "LMP2")],
)
def test_the_entry_in_force_for_a_round(number: int, class_id: str) -> None:
    defn = definition(classes=[_class("LMP2"), _class(PRO_AM, parent="LMP2")],
                      entries=[entry(PRO_AM, last=2), entry("LMP2", first=3)])
    declared = defn.declared_entry("23", number)
    assert declared is not None and declared.class_id == class_id
    assert defn.declared_entry("7", number) is None


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        # a whole-season declaration replaces every range of the car
        (entry("GT"), [("GT", None, None)]),
        # from round 4 in GT: LMP2 keeps round 3
        (entry("GT", 4), [(PRO_AM, None, 2), ("LMP2", 3, 3), ("GT", 4, None)]),
        # round 3 alone in GT: the LMP2 range is cut around it
        (entry("GT", 3, 3), [(PRO_AM, None, 2), ("LMP2", 4, None), ("GT", 3, 3)]),
        # rounds 2-5: both ranges are cut
        (entry("GT", 2, 5), [(PRO_AM, None, 1), ("LMP2", 6, None), ("GT", 2, 5)]),
        # another car: nothing of #23 changes
        (entry("GT", car="7"), [(PRO_AM, None, 2), ("LMP2", 3, None), ("GT", None, None)]),
    ],
)
def test_a_later_declaration_replaces_the_rounds_it_covers(
        later: dict[str, Any], expected: list[tuple[str, int | None, int | None]]) -> None:
    base = (DeclaredEntry.from_record(entry(PRO_AM, last=2)),
            DeclaredEntry.from_record(entry("LMP2", first=3)))
    assert spans(merge_entries(base, DeclaredEntry.from_record(later))) == expected


def test_scoring_takes_the_team_of_the_round_s_entry() -> None:
    defn = definition(entries=[{**entry("LMP2", last=1), "team": "Old name"},
                               {**entry("LMP2", first=2), "team": "New name"}])
    rounds = [race(defn, 1, "23", "1"), race(defn, 2, "23", "1")]
    placed = class_standings(defn, rounds, "LMP2", [])
    assert table(placed) == [(1, "23", 50), (2, "1", 36)]
    assert {p.competitor.car: p.competitor.team for p in placed}["23"] == "New name"


SEASON = """kind = "championship"
id = "elms-2023"
name = "ELMS 2023"
series = "elms"
season = "2023"
effective_at = 2023-04-01T00:00:00Z
[rules]
[rules.scales]
standard = [25, 18, 15]
[[classes]]
id = "LMP2"
[[classes]]
id = "LMP2 Pro/Am"
parent = "LMP2"
""" + "".join(f'[[rounds]]\nnumber = {n}\nname = "R{n}"\nflag_at = 2023-0{n + 3}-16T16:00:00Z\n'
              for n in (1, 2, 3, 4))


def season_with(*entries: dict[str, Any]) -> str:
    out = SEASON
    for e in entries:
        out += "[[entries]]\n" + "".join(
            f"{k} = {v!r}\n".replace("'", '"') for k, v in e.items() if k != "drivers")
    return out


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ((entry(PRO_AM, last=2), entry("LMP2", 3)), None),
        ((entry(PRO_AM, 1, 1), entry("LMP2", 2, 3), entry(PRO_AM, 4)), None),
        ((entry("LMP2"), entry("LMP2", car="7")), None),
        ((entry("LMP2"), entry(PRO_AM)),
         (r"entries\[0\] \(every round\) and entries\[1\] \(every round\) both declare car #23 "
         r"for round 1")),
        ((entry(PRO_AM, last=2), entry("LMP2", 2)),
         (r"entries\[0\] \(until round 2\) and entries\[1\] \(from round 2\) both declare car #23 "
         r"for round 2")),
        ((entry(PRO_AM, 1, 3), entry("LMP2", car="7"), entry("LMP2", 3, 4)),
         r"entries\[0\] \(rounds 1-3\) and entries\[2\] \(rounds 3-4\) both declare car #23"),
        ((entry("LMP2", 3, 2),), r"entries\[0\]: from_round 3 is after until_round 2"),
        ((entry("LMP2", 9),), r"entries\[0\]\.from_round 9 is not a round of the calendar"),
        ((entry("LMP2", last=0),), r"entries\[0\]\.until_round: Input should be greater than or equal to 1"),
    ],
)
def test_season_file_entries_by_round(entries: tuple[dict[str, Any], ...], error: str | None) -> None:
    text = season_with(*entries)
    if error is None:
        record = parse_season_text(text, source="elms.toml").to_record()
        assert [e.get("from_round") for e in record["entries"]] == [e.get("from_round") for e in entries]
        return
    with pytest.raises(InvalidInputError, match=error):
        parse_season_text(text, source="elms.toml")


def test_an_entry_without_rounds_keeps_its_record() -> None:
    """Files written before round ranges give the same record: re-registering them is no revision."""
    record = parse_season_text(season_with(entry("LMP2")), source="elms.toml").to_record()
    assert record["entries"] == [{"car": "23", "team": "United Autosports", "class": "LMP2",
                                  "drivers": []}]
