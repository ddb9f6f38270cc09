"""The organiser's desk for Le Mans 2024 (services/lemans_scenario.py), on SQLite and PostgreSQL:
62 places split 23/16/23 with the WEC entries automatic, the AsLMS routes computed from the real
season, the IMSA awards placed with teams, a competitor's third invitation refused, a decline
after the first published list promoting the first reserve, and published versions reproduced."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import (
    ConflictingFactError,
    InvalidInputError,
    TimeOrderError,
    UnknownClassError,
)
from projections.canonical import canonical_json
from services.demo import LEMANS, SEASONS
from services.importing import register_season
from services.ledger import Ledger
from services.lemans_scenario import (
    DECLINED_AT,
    DECLINED_ROUTE,
    FIRST_LIST,
    JOINT_CORRECTED_AT,
    JOINT_ROUTE,
    SECOND_LIST,
    load_lemans_scenario,
)
from services.outcome import DUPLICATE
from tests.conftest import Clock

from .support import ELMS_ROUTE, elms_file


@pytest.fixture
def desk(ledger: Ledger) -> Ledger:
    load_lemans_scenario(ledger)
    return ledger


def cls(view: dict[str, Any], class_id: str) -> dict[str, Any]:
    return next(c for c in view["classes"] if c["class"] == class_id)


def teams(lines: list[dict[str, Any]]) -> list[str]:
    return [f"#{x['car']} {x['team']}" for x in lines]


def test_the_first_list_has_62_places_split_23_16_23(desk: Ledger) -> None:
    view = desk.entry_list(LEMANS, published=1)
    assert view["published"]["version"] == 1 and view["as_of"] == FIRST_LIST
    assert [(c["class"], c["capacity"], len(c["entries"]) + len(c["pending"]))
            for c in view["classes"]] == [("Hypercar", 23, 23), ("LMP2", 16, 16), ("LMGT3", 23, 23)]
    assert view["capacity"] == 62 and view["free"] == 0
    assert [x["route"] for c in view["classes"] for x in c["pending"]] == [JOINT_ROUTE]
    automatic = [x for c in view["classes"] for x in c["entries"] if x["basis"] == "automatic"]
    assert len(automatic) == 37  # the WEC 2024 full-season entries: 19 Hypercar, 18 LMGT3
    assert {x["why"] for x in automatic} == {"FIA WEC 2024 full-season entry"}


def test_the_asian_le_mans_routes_are_computed_from_the_real_season(desk: Ledger) -> None:
    view = desk.entry_list(LEMANS, published=1)
    routes = {x["route"]: x for c in view["classes"] for x in c["entries"] if x["route"]}
    assert (routes["aslms-2023-24/lmp2-champion"]["car"],
            routes["aslms-2023-24/lmp2-champion"]["team"]) == ("4", "CrowdStrike Racing by APR")
    assert (routes["aslms-2023-24/gt-champion"]["car"],
            routes["aslms-2023-24/gt-champion"]["team"]) == ("91", "Pure Rxcing")
    assert "aslms-2023-24 LMP2 standings, position 1" in routes["aslms-2023-24/lmp2-champion"]["why"]


def test_personal_invitations_count_once_placed_with_a_team(desk: Ledger) -> None:
    view = desk.entry_list(LEMANS, published=1)
    placed = {x["driver"]: x for c in view["classes"] for x in c["entries"] if x["driver"]}
    assert (placed["George KURTZ"]["team"], placed["George KURTZ"]["car"]) == (
        "CrowdStrike Racing by APR", "04")
    assert (placed["Brendan IRIBE"]["team"], placed["Brendan IRIBE"]["car"]) == (
        "Inception Racing", "70")
    before = desk.entry_list(LEMANS, as_of=FIRST_LIST - timedelta(days=5))  # awards not placed yet
    pending = {x["route"]: x for c in before["classes"] for x in c["pending"]}
    assert "not an entry until placed with a team" in pending["imsa-2023/jim-trueman-award"]["note"]


def test_a_competitor_holds_at_most_two_invitations(desk: Ledger) -> None:
    view = desk.entry_list(LEMANS)
    crowdstrike = sorted(x["route"] for c in view["classes"] for x in c["entries"]
                         if x["team"] == "CrowdStrike Racing by APR")
    assert crowdstrike == ["aslms-2023-24/lmp2-champion", "imsa-2023/jim-trueman-award"]
    head = desk.head()
    with pytest.raises(InvalidInputError, match=(
            r"refused: CrowdStrike Racing by APR already holds 2 invitations "
            r"\(aslms-2023-24/lmp2-champion, imsa-2023/jim-trueman-award\); "
            r"a competitor holds at most 2")):
        desk.transition_invitation(LEMANS, "elms-2023/lmp2-runner-up", "reallocated",
                                   holder={"team": "CrowdStrike Racing by APR", "car": "40"},
                                   reason="", effective_at=SECOND_LIST + timedelta(days=1),
                                   actor="aco", source="test")
    assert desk.head() == head


def test_a_decline_after_the_first_list_promotes_the_first_reserve(desk: Ledger) -> None:
    day_before = cls(desk.entry_list(LEMANS, as_of=DECLINED_AT - timedelta(days=1)), "LMP2")
    day_after = cls(desk.entry_list(LEMANS, as_of=DECLINED_AT + timedelta(days=1)), "LMP2")
    assert "#E4 ELMS LMP3 Champion (synthetic)" in teams(day_before["entries"])
    assert "#R1 LMP2 Reserve 1 (synthetic)" not in teams(day_before["entries"])
    assert teams(day_before["reserves"])[0] == "#R1 LMP2 Reserve 1 (synthetic)"
    assert "#R1 LMP2 Reserve 1 (synthetic)" in teams(day_after["entries"])
    assert [x["route"] for x in day_after["released"]] == [DECLINED_ROUTE]
    promoted = next(x for x in day_after["entries"] if x["car"] == "R1")
    assert promoted["basis"] == "reserve" and "promoted to a free place" in promoted["why"]
    assert teams(day_after["reserves"]) == ["#R2 LMP2 Reserve 2 (synthetic)",
                                            "#R3 LMP2 Reserve 3 (synthetic)"]
    assert len(day_before["entries"]) == len(day_after["entries"]) == 16


def test_published_versions_are_reproduced_whatever_was_recorded_later(
        desk: Ledger, clock: Clock) -> None:
    first = canonical_json(desk.entry_list(LEMANS, published=1))
    clock.advance(days=1)  # a retroactive grant, recorded after the list was published
    desk.change_capacity(LEMANS, "LMGT3", 24, reason="one more GT", actor="aco", source="test",
                         effective_at=FIRST_LIST - timedelta(days=1))
    desk.grant_place(LEMANS, "LMGT3", team="Late GT Entrant (synthetic)", car="L1",
                     reference="SC-late", reason="", actor="aco", source="test",
                     effective_at=FIRST_LIST - timedelta(days=1))
    assert canonical_json(desk.entry_list(LEMANS, published=1)) == first
    now = cls(desk.entry_list(LEMANS, as_of=FIRST_LIST), "LMGT3")
    assert "#L1 Late GT Entrant (synthetic)" in teams(now["entries"])
    assert cls(desk.entry_list(LEMANS, published=1), "LMGT3")["capacity"] == 23


def test_the_diff_between_versions_says_what_changed_and_why(desk: Ledger) -> None:
    diff = desk.entry_list_diff(LEMANS, 1, 2)
    lmp2, lmgt3 = diff["classes"]
    assert (lmp2["class"], lmgt3["class"]) == ("LMP2", "LMGT3")
    # the joint route moved on 1 Mar (a late disqualification in GT World Challenge Asia)
    assert teams(lmgt3["added"]) == ["#91 Pure Rxcing"] and lmgt3["added"][0]["state"] == "pending"
    assert teams(lmgt3["removed"]) == ["#88 Triple Eight"]
    assert lmgt3["removed"][0]["route_now_held_by"]["team"] == "Pure Rxcing"
    assert teams(lmp2["added"]) == ["#R1 LMP2 Reserve 1 (synthetic)"]
    assert "promoted to a free place" in lmp2["added"][0]["why"]
    assert teams(lmp2["removed"]) == ["#E4 ELMS LMP3 Champion (synthetic)"]
    assert lmp2["removed"][0]["now"]["note"] == "declined: its place is free"


def test_every_line_names_the_facts_behind_it(desk: Ledger) -> None:
    view = desk.entry_list(LEMANS)
    lines = [x for c in view["classes"] for part in ("entries", "reserves", "released")
             for x in c[part]]
    standings_routes = {"aslms-2023-24/lmp2-champion", "aslms-2023-24/gt-champion"}
    for line in lines:
        assert line["why"], line
        assert line["facts"] or line["route"] in standings_routes, line
        assert all(0 < p <= view["log_position"] for p in line["facts"]), line


def test_replay_from_zero_equals_the_live_view(desk: Ledger, store_url: str) -> None:
    from infra.bootstrap import open_ledger

    live = [canonical_json(desk.entry_list(LEMANS, as_of=at, known_at=desk.clock()))
            for at in (FIRST_LIST, DECLINED_AT, SECOND_LIST)]
    fresh = open_ledger(store_url, clock=desk.clock)
    assert [canonical_json(fresh.entry_list(LEMANS, as_of=at, known_at=desk.clock()))
            for at in (FIRST_LIST, DECLINED_AT, SECOND_LIST)] == live
    assert desk.replay().desk == desk.state().desk


def test_the_scenario_is_idempotent(desk: Ledger) -> None:
    head = desk.head()
    again = load_lemans_scenario(desk)
    assert {o.status for o in again} == {DUPLICATE} and desk.head() == head


@pytest.mark.parametrize("command, error, message", [
    (lambda d: d.change_capacity(LEMANS, "GT", 3, reason="", effective_at=FIRST_LIST,
                                 actor="a", source="t"), UnknownClassError, "no class 'GT'"),
    (lambda d: d.change_capacity(LEMANS, "LMP2", -1, reason="", effective_at=FIRST_LIST,
                                 actor="a", source="t"), InvalidInputError, "≥ 0"),
    (lambda d: d.grant_place(LEMANS, "LMP2", team=" ", car="1", reference="x", reason="",
                             effective_at=FIRST_LIST, actor="a", source="t"),
     InvalidInputError, "names a team and a car"),
    (lambda d: d.rank_reserves(LEMANS, "LMP2", [{"team": ""}], reason="",
                               effective_at=FIRST_LIST, actor="a", source="t"),
     InvalidInputError, "reserve #1: name its team"),
    (lambda d: d.publish_entry_list(LEMANS, note="", effective_at=FIRST_LIST, actor="a",
                                    source="t"), TimeOrderError, "not after version 2"),
    (lambda d: d.rank_reserves(LEMANS, "overall", [{"team": "X", "class": "LMP2"}], reason="",
                               effective_at=FIRST_LIST, actor="a", source="t"),
     InvalidInputError, "ranks its reserves per class"),
    (lambda d: d.entry_list(LEMANS, published=9), InvalidInputError,
     "no published entry list version 9 \\(published: 1, 2\\)"),
])
def test_bad_decisions_are_refused_and_change_nothing(desk: Ledger, command: Any,
                                                     error: type[Exception], message: str) -> None:
    head = desk.head()
    with pytest.raises(error, match=message):
        command(desk)
    assert desk.head() == head


def test_a_holder_that_missed_rounds_is_refused_with_them(demo: Ledger) -> None:
    """AsLMS LMP2 12th place (#34) raced 3 of the 5 rounds: a route to 12th is refused."""
    route = {"id": "test/lmp2-12th", "target_event": "test-event", "target_class": "LMP2",
             "kind": "invitation", "beneficiary": "team", "description": "12th in AsLMS LMP2",
             "source": {"type": "standings", "championship": "aslms-2023-24", "class": "LMP2",
                        "position": 12}}
    demo.register_target_event({"id": "test-event", "name": "Test", "starts_at": None,
                                "capacity": 5, "classes": [{"id": "LMP2", "name": "LMP2",
                                                            "capacity": 5}],
                                "invitation_routes": [route]},
                               effective_at=FIRST_LIST, actor="test", source="test")
    (c,) = demo.entry_list("test-event", as_of=SECOND_LIST)["classes"]
    (refused,) = c["refused"]
    assert refused["car"] == "34" and refused["state"] == "refused"
    assert refused["note"].startswith("refused: car #34 did not contest round(s) ")
    assert refused["note"].endswith("of aslms-2023-24: the route requires every round")
    assert c["free"] == 5


def test_the_joint_classification_adds_team_points_across_two_championships(desk: Ledger) -> None:
    def joint(at: Any) -> dict[str, Any]:
        view = desk.invitations(LEMANS, as_of=at)
        return next(r for r in view["routes"] if r["route"] == JOINT_ROUTE)

    before = joint(JOINT_CORRECTED_AT - timedelta(hours=1))
    assert before["status"] == "earned"
    holder = before["holder"]
    assert (holder["team"], holder["points"]) == ("Triple Eight", 117)
    assert [(p["championship"], p["car"], p["points"]) for p in holder["parts"]] == [
        ("aslms-2023-24", "88", 74), ("gtwc-asia-2023", "888", 43)]
    # a late disqualification in GT World Challenge Asia moves the route, as of its time
    after = joint(JOINT_CORRECTED_AT + timedelta(hours=1))["holder"]
    assert (after["team"], after["points"]) == ("Pure Rxcing", 106)
    lmgt3 = cls(desk.entry_list(LEMANS, as_of=JOINT_CORRECTED_AT + timedelta(hours=1)), "LMGT3")
    (pending,) = lmgt3["pending"]
    assert (pending["route"], pending["team"]) == (JOINT_ROUTE, "Pure Rxcing")
    assert "joint classification of aslms-2023-24 GT + gtwc-asia-2023 GT3" in pending["why"]


def test_a_correction_in_the_other_championship_moves_the_joint_route_too(desk: Ledger) -> None:
    """AsLMS side: 40 points off Pure Rxcing at R5 give the route back to Triple Eight."""
    from domain.decisions import DecisionKind, DecisionTerms
    from services.demo import ASLMS, DEMO_STEWARD

    at = JOINT_CORRECTED_AT + timedelta(days=10)
    desk.impose_penalty(ASLMS, 5, DecisionTerms(DecisionKind.POINTS_DEDUCTION, "91",
                                                points=Decimal(40)),
                        reference="late-deduction", reason="test", effective_at=at,
                        signed_by=DEMO_STEWARD, actor="test", source="test")
    view = desk.invitations(LEMANS, as_of=at + timedelta(hours=1))
    holder = next(r for r in view["routes"] if r["route"] == JOINT_ROUTE)["holder"]
    assert (holder["team"], holder["points"]) == ("Triple Eight", 74 + 25)  # R2 DSQ stands
    earlier = desk.invitations(LEMANS, as_of=at - timedelta(hours=1))
    assert next(r for r in earlier["routes"] if r["route"] == JOINT_ROUTE)["holder"]["team"] == (
        "Pure Rxcing")


def test_an_event_whose_rules_rank_reserves_overall(demo: Ledger) -> None:
    demo.register_target_event({"id": "overall-event", "name": "Overall", "starts_at": None,
                                "capacity": 1, "reserve_order": "overall",
                                "classes": [{"id": "LMP2", "name": "LMP2", "capacity": 1},
                                            {"id": "LMGT3", "name": "LMGT3", "capacity": 0}],
                                "invitation_routes": []},
                               effective_at=FIRST_LIST, actor="test", source="test")
    with pytest.raises(InvalidInputError, match="rank them with class 'overall'"):
        demo.rank_reserves("overall-event", "LMP2", [{"team": "X"}], reason="",
                           effective_at=FIRST_LIST, actor="a", source="t")
    with pytest.raises(UnknownClassError, match="no class 'GT'"):
        demo.rank_reserves("overall-event", "overall", [{"team": "X", "class": "GT"}], reason="",
                           effective_at=FIRST_LIST, actor="a", source="t")
    demo.rank_reserves("overall-event", "overall",
                       [{"team": "GT First", "car": "1", "class": "LMGT3"},
                        {"team": "P2 Second", "car": "2", "class": "LMP2"}],
                       reason="overall order", effective_at=FIRST_LIST, actor="a", source="t")
    view = demo.entry_list("overall-event", as_of=SECOND_LIST)
    assert view["reserve_order"] == "overall"
    assert teams(cls(view, "LMGT3")["entries"]) == ["#1 GT First"]
    assert teams(cls(view, "LMP2")["reserves"]) == ["#2 P2 Second"]


def test_known_at_reproduces_each_published_version(desk: Ledger, clock: Clock) -> None:
    versions = desk.entry_list(LEMANS)["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    clock.advance(days=30)  # later facts, some retroactive, must not change what was published
    desk.grant_place(LEMANS, "LMP2", team="Retroactive (synthetic)", car="X1", reference="SC-x",
                     reason="", effective_at=FIRST_LIST - timedelta(days=2), actor="aco",
                     source="test")
    for v in versions:
        published = desk.entry_list(LEMANS, published=v["version"])
        replayed = desk.entry_list(LEMANS, as_of=v["published_at"], known_at=v["recorded_at"])
        assert replayed["classes"] == published["classes"]
        assert "#X1 Retroactive (synthetic)" not in teams(cls(replayed, "LMP2")["entries"])
    assert "#X1 Retroactive (synthetic)" in teams(cls(desk.entry_list(LEMANS), "LMP2")["entries"])


def test_an_entry_declared_by_the_organiser_in_the_wec_is_automatic(desk: Ledger) -> None:
    desk.declare_entry("wec-2024", {"car": "33", "team": "Late WEC Entrant (synthetic)",
                                    "class": "LMGT3", "drivers": []},
                       effective_at=SECOND_LIST + timedelta(days=1), actor="aco", source="test")
    before = cls(desk.entry_list(LEMANS, as_of=SECOND_LIST), "LMGT3")
    after = cls(desk.entry_list(LEMANS, as_of=SECOND_LIST + timedelta(days=2)), "LMGT3")
    assert "#33 Late WEC Entrant (synthetic)" not in teams(before["entries"])
    line = next(x for x in after["entries"] if x["car"] == "33")
    assert (line["basis"], line["why"]) == ("automatic", "FIA WEC 2024 full-season entry")
    assert after["over"] == 1  # the organiser now has one car too many in LMGT3, and sees it


# -- one owner per invitation route (issue 9 item 14) -----------------------------------------

def views_of(ledger: Ledger) -> tuple[str, str]:
    return (canonical_json(ledger.invitations(LEMANS)), canonical_json(ledger.entry_list(LEMANS)))


def test_a_route_declared_again_in_another_file_is_refused_naming_both(
        desk: Ledger, tmp_path: Path) -> None:
    head, before = desk.head(), views_of(desk)
    with pytest.raises(ConflictingFactError) as refused:
        register_season(desk, elms_file(tmp_path), actor="test")
    message = refused.value.message
    assert f"'{ELMS_ROUTE}'" in message
    assert "file:lemans-2024.toml" in message and "file:elms-2023.toml" in message
    assert desk.head() == head and views_of(desk) == before
    routes = [r["route"] for r in desk.invitations(LEMANS)["routes"]]
    assert routes.count(ELMS_ROUTE) == 1
    # the same championship without the route is welcome, and so are its revisions
    assert register_season(desk, elms_file(tmp_path, with_route=False), actor="test").accepted
    revised = register_season(desk, elms_file(tmp_path, revised=True, with_route=False),
                              actor="test")
    assert revised.accepted and "revised" in revised.what


def test_the_event_file_declaring_a_championship_s_route_second_is_refused(
        ledger: Ledger, tmp_path: Path) -> None:
    assert register_season(ledger, elms_file(tmp_path), actor="test").accepted
    head = ledger.head()
    with pytest.raises(ConflictingFactError, match="file:elms-2023.toml.*file:lemans-2024.toml"):
        register_season(ledger, SEASONS / f"{LEMANS}.toml", actor="test")
    assert ledger.head() == head
    # re-registering the owner's own file, as a revision, still works
    revised = register_season(ledger, elms_file(tmp_path, revised=True), actor="test")
    assert revised.accepted and "revised" in revised.what
    assert register_season(ledger, elms_file(tmp_path, revised=True), actor="test").status \
        == DUPLICATE
