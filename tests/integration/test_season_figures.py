"""The real AsLMS 2023/24 season: published figures, as-of views and Le Mans 2024 invitations."""

from __future__ import annotations

from decimal import Decimal

from services.demo import ASLMS, LEMANS, load_demo
from services.importing import import_alkamel_file
from services.ledger import Ledger
from services.outcome import DUPLICATE

from .support import (
    R5_OFFICIAL_FILE,
    at,
    import_official,
    import_r5_at_flag,
    points,
    register_demo_seasons,
    route,
    rows,
    top,
)

BEFORE_DECISIONS = at("2024-02-11T19:30:00+04:00")  # after the R5 flag (18:00), before 21:00
AFTER_DECISIONS = at("2024-02-11T21:30:00+04:00")
AFTER_DUBAI = at("2024-02-05T00:00:00+04:00")


def test_final_standings_with_pole_points(demo: Ledger) -> None:
    view = demo.standings(ASLMS)
    assert view["complete"] is True
    assert [r["status"] for r in view["rounds"]] == ["official"] * 5

    assert top(demo.standings(ASLMS), "LMP2") == [
        (1, "4", Decimal(83)), (2, "22", Decimal(71)), (3, "99", Decimal(70)),
    ]
    lmp2 = rows(view, "LMP2")
    assert lmp2[0]["team"] == "CrowdStrike Racing by APR"  # declared entry beats "Crowdstrike"
    assert lmp2[1]["team"] == "Proton Competition"
    assert lmp2[2]["team"] == "99 Racing"
    # 99 Racing's two pole points (R4, R5) are on its rounds
    by_round = {r["round"]: r["pole_points"] for r in lmp2[2]["rounds"]}
    assert by_round[4] == 1 and by_round[5] == 1 and sum(by_round.values()) == 2

    gt = top(view, "GT", 2)
    assert gt == [(1, "91", Decimal(76)), (2, "88", Decimal(74))]
    assert rows(view, "GT")[0]["team"] == "Pure Rxcing"
    assert rows(view, "GT")[1]["team"] == "Triple Eight"


def test_lmp3_race_point_tie_is_left_unresolved(demo: Ledger) -> None:
    lmp3 = rows(demo.standings(ASLMS, class_id="LMP3"), "LMP3")
    first_two = {r["car"]: r for r in lmp3[:2]}
    assert set(first_two) == {"17", "2"}
    cool, cd = first_two["17"], first_two["2"]
    assert cool["points"] == cd["points"] == 101
    assert cool["position"] == cd["position"] == 1
    assert cool["tie"] == cd["tie"] == "unresolved"
    assert cool["decided_by"] is None and cd["decided_by"] is None
    assert cool["countback"] == cd["countback"]
    assert cool["countback"][:3] == [2, 2, 1]  # 2 wins, 2 seconds, 1 third each
    assert cool["team"] == "COOL Racing" and cd["team"] == "CD Sport"
    # the next car is third, not second: the tie shares a position and uses two places
    assert (lmp3[2]["position"], lmp3[2]["car"], lmp3[2]["points"]) == (3, "26", 82)


def test_race_points_only_match_the_published_sums(ledger: Ledger) -> None:
    """The same files imported without any pole: the README's race-points table."""
    register_demo_seasons(ledger)
    for number in (1, 2, 3, 4):
        import_official(ledger, number)
    import_alkamel_file(ledger, R5_OFFICIAL_FILE,
                        championship=ASLMS, round_number=5, status="official",
                        published_at=None, actor="test")
    view = ledger.standings(ASLMS)
    assert top(view, "LMP2") == [
        (1, "4", Decimal(83)), (2, "22", Decimal(71)), (3, "99", Decimal(68)),
    ]
    lmp3 = points(view, "LMP3")
    assert lmp3["17"] == lmp3["2"] == 101 and lmp3["26"] == 82
    assert top(view, "GT") == [
        (1, "91", Decimal(76)), (2, "88", Decimal(74)), (3, "42", Decimal(56)),
    ]
    assert all(r["pole_points"] == 0 for c in view["classes"] for row in c["rows"]
               for r in row["rounds"])


def test_gt_title_fight_before_and_after_the_r5_decisions(demo: Ledger) -> None:
    before = demo.standings(ASLMS, as_of=BEFORE_DECISIONS, class_id="GT")
    assert points(before, "GT")["91"] == 73 and points(before, "GT")["88"] == 67
    assert [r["status"] for r in before["rounds"]][4] == "provisional"
    assert before["rounds"][4]["decisions"] == []
    r5_before = {r["car"]: r for r in rows(before, "GT")}["19"]["rounds"][-1]
    assert (r5_before["round"], r5_before["position"], r5_before["points"]) == (5, 1, 25)

    after = demo.standings(ASLMS, as_of=AFTER_DECISIONS, class_id="GT")
    assert points(after, "GT")["91"] == 76 and points(after, "GT")["88"] == 74
    # a class's view lists the decisions on its own cars (the LMP2 ones are in LMP2's)
    assert {d["reference"] for d in after["rounds"][4]["decisions"]} == {"R5-car19-max-drive-time"}
    everything = demo.standings(ASLMS, as_of=AFTER_DECISIONS)
    assert {d["reference"] for d in everything["rounds"][4]["decisions"]} == {
        "R5-car24-min-drive-time", "R5-car3-time", "R5-car19-max-drive-time",
    }
    r5_88 = {r["car"]: r for r in rows(after, "GT")}["88"]["rounds"][-1]
    assert (r5_88["position"], r5_88["points"]) == (1, 25)  # #88 inherits the GT win
    # still provisional until the official mark at 22:00
    assert after["rounds"][4]["status"] == "provisional"
    assert demo.standings(ASLMS, as_of=at("2024-02-11T22:00:00+04:00"))["rounds"][4]["status"] \
        == "official"


def test_le_mans_invitations_at_season_end(demo: Ledger) -> None:
    view = demo.invitations(LEMANS)
    lmp2 = route(view, "aslms-2023-24/lmp2-champion")
    assert lmp2["status"] == "earned" and lmp2["kind"] == "invitation"
    assert lmp2["target_class"] == "LMP2"
    assert lmp2["holder"]["car"] == "4"
    assert lmp2["holder"]["team"] == "CrowdStrike Racing by APR"
    assert lmp2["holder"]["points"] == 83

    gt = route(view, "aslms-2023-24/gt-champion")
    assert gt["status"] == "earned"
    assert gt["target_class"] == "LMGT3"
    assert (gt["holder"]["car"], gt["holder"]["team"]) == ("91", "Pure Rxcing")

    lmp3 = route(view, "aslms-2023-24/lmp3-champion")
    assert lmp3["kind"] == "priority"
    assert lmp3["holder"] is None
    assert any("unresolved tie" in n and "#17" in n and "#2" in n for n in lmp3["notes"]), lmp3

    elms = [r for r in view["routes"] if r["route"].startswith("elms-2023/")]
    assert len(elms) == 5
    assert {r["status"] for r in elms} == {"pending"}
    assert all(r["holder"] is None for r in elms)
    assert all("elms-2023" in r["notes"][0] for r in elms)

    trueman = route(view, "imsa-2023/jim-trueman-award")
    assert trueman["status"] == "earned" and trueman["holder"]["driver"] == "George KURTZ"
    # priority routes are not counted as invitations
    assert view["summary"]["invitation_routes"] == len(view["routes"]) - 1
    assert view["log_position"] == demo.head()


def test_le_mans_invitations_after_dubai_are_provisional(demo: Ledger) -> None:
    view = demo.invitations(LEMANS, as_of=AFTER_DUBAI)
    lmp2 = route(view, "aslms-2023-24/lmp2-champion")
    assert lmp2["status"] == "provisional"
    assert (lmp2["holder"]["car"], lmp2["holder"]["team"]) == ("99", "99 Racing")
    assert any("round(s) 1, 2, 3 of 5" in n for n in lmp2["notes"]), lmp2["notes"]
    # the award facts of October 2023 already hold in February 2024
    assert route(view, "imsa-2023/bob-akin-award")["status"] == "earned"


def test_invitations_before_r5_decisions_name_the_at_the_flag_gt_leader(demo: Ledger) -> None:
    gt = route(demo.invitations(LEMANS, as_of=BEFORE_DECISIONS), "aslms-2023-24/gt-champion")
    assert gt["status"] == "provisional"
    assert gt["holder"]["car"] == "91" and gt["holder"]["points"] == 73


def test_loading_the_demo_twice_appends_nothing(demo: Ledger) -> None:
    head = demo.head()
    before = demo.standings(ASLMS)
    again = load_demo(demo)
    assert len(again) == 21
    assert {o.status for o in again} == {DUPLICATE}
    assert all(o.positions == () for o in again)
    assert demo.head() == head
    assert demo.standings(ASLMS) == before


def test_r5_at_flag_alone_then_official_file(ledger: Ledger) -> None:
    """Without the decisions, the constructed at-flag file gives the at-the-flag GT figures."""
    register_demo_seasons(ledger)
    for number in (1, 2, 3, 4):
        import_official(ledger, number)
    import_r5_at_flag(ledger)
    gt = points(ledger.standings(ASLMS, class_id="GT"), "GT")
    assert (gt["91"], gt["88"]) == (73, 67)
