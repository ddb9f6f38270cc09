"""Stewards' decisions on the real R5: appeal, amendment, deductions, poles, official files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import (
    ClassificationMissingError,
    InvalidInputError,
    TimeOrderError,
    UnknownCarError,
)
from projections.canonical import canonical_json
from services.demo import ASLMS, DEMO_STEWARD, LEMANS, R5_DECIDED
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
    write_copy,
)

CAR19 = "R5-car19-max-drive-time"
AT_THE_FLAG = at("2024-02-11T19:00:00+04:00")
AFTER_DECISIONS = at("2024-02-12T00:00:00+04:00")
APPEAL = at("2024-03-01T12:00:00+01:00")
AFTER_APPEAL = at("2024-03-02T00:00:00+01:00")
R5_OFFICIAL_PUBLISHED = at("2024-02-11T21:30:00+04:00")


def r5_positions(view: dict, class_id: str) -> dict[str, int]:  # type: ignore[type-arg]
    """car → class position at R5."""
    return {
        r["car"]: next(x["position"] for x in r["rounds"] if x["round"] == 5)
        for r in rows(view, class_id)
        if any(x["round"] == 5 for x in r["rounds"])
    }


def stewards(ledger: Ledger, method: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return getattr(ledger, method)(*args, signed_by=DEMO_STEWARD, actor="stewards:aslms",
                                   source="test", **kwargs)


def import_r5_official(ledger: Ledger, published_at=R5_OFFICIAL_PUBLISHED):  # type: ignore[no-untyped-def]
    return import_alkamel_file(ledger, R5_OFFICIAL_FILE, championship=ASLMS, round_number=5,
                               status="official", published_at=published_at, actor="test")


def test_rescinding_on_appeal_restores_the_at_the_flag_order(demo: Ledger) -> None:
    at_flag = demo.standings(ASLMS, as_of=AT_THE_FLAG, class_id="GT")
    assert r5_positions(at_flag, "GT")["19"] == 1

    out = stewards(demo, "rescind_penalty", ASLMS, 5, CAR19, reason="appeal upheld",
                   effective_at=APPEAL)
    assert out.accepted

    restored = demo.standings(ASLMS, as_of=AFTER_APPEAL, class_id="GT")
    assert (points(restored, "GT")["91"], points(restored, "GT")["88"]) == (73, 67)
    assert r5_positions(restored, "GT") == r5_positions(at_flag, "GT")
    assert canonical_json(rows(restored, "GT")) == canonical_json(rows(at_flag, "GT"))
    assert restored["rounds"][4]["decisions"] == []  # #19's was GT's only decision at R5
    assert [d["reference"] for d in demo.standings(ASLMS, as_of=AFTER_APPEAL)["rounds"][4]["decisions"]] == [
        "R5-car24-min-drive-time", "R5-car3-time",
    ]
    # before the appeal the decision still held
    between = demo.standings(ASLMS, as_of=AFTER_DECISIONS, class_id="GT")
    assert (points(between, "GT")["91"], points(between, "GT")["88"]) == (76, 74)
    # the LMP2 penalties are untouched by #19's appeal
    assert top(demo.standings(ASLMS, class_id="LMP2"), "LMP2", 1) == [(1, "4", Decimal(83))]

    gt = route(demo.invitations(LEMANS, as_of=AFTER_APPEAL), "aslms-2023-24/gt-champion")
    assert gt["holder"]["car"] == "91" and gt["holder"]["points"] == 73

    head = demo.head()
    again = stewards(demo, "rescind_penalty", ASLMS, 5, CAR19, reason="appeal upheld",
                     effective_at=APPEAL)
    assert again.status == DUPLICATE and demo.head() == head
    history = demo.history(ASLMS, car="19")["events"]
    assert history[-1]["kind"] == "decision_rescinded"
    assert history[-1]["effective_at"] == APPEAL


def test_amending_changes_the_seconds(demo: Ledger) -> None:
    # 14 s instead of 1'46": #19 finishes between #88 (13.4 s behind at the flag) and #91
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(14))
    out = stewards(demo, "amend_penalty", ASLMS, 5, CAR19, terms, reason="reduced on review",
                   effective_at=at("2024-02-20T10:00:00+04:00"))
    assert out.accepted and "+14s" in out.what

    view = demo.standings(ASLMS, class_id="GT")
    assert r5_positions(view, "GT")["88"] == 1
    assert r5_positions(view, "GT")["19"] == 2
    assert r5_positions(view, "GT")["91"] == 3
    assert top(view, "GT", 2) == [(1, "88", Decimal(74)), (2, "91", Decimal(73))]
    assert {d["reference"]: d["decision"] for d in view["rounds"][4]["decisions"]}[CAR19] \
        == "+14s time penalty"
    gt = route(demo.invitations(LEMANS), "aslms-2023-24/gt-champion")
    assert (gt["holder"]["car"], gt["holder"]["team"]) == ("88", "Triple Eight")
    # as of before the amendment the 1'46" applied
    before = demo.standings(ASLMS, as_of=AFTER_DECISIONS, class_id="GT")
    assert top(before, "GT", 2) == [(1, "91", Decimal(76)), (2, "88", Decimal(74))]

    head = demo.head()
    same = stewards(demo, "amend_penalty", ASLMS, 5, CAR19, terms, reason="again",
                    effective_at=at("2024-02-21T10:00:00+04:00"))
    assert same.status == DUPLICATE and demo.head() == head


def test_a_decision_before_the_classification_was_published_is_refused(demo: Ledger) -> None:
    head = demo.head()
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "88", seconds=Decimal(30))
    with pytest.raises(TimeOrderError, match="before the classification was first published"):
        stewards(demo, "impose_penalty", ASLMS, 5, terms, reference="too-early", reason="x",
                 effective_at=at("2024-02-11T17:59:00+04:00"))
    assert demo.head() == head


def test_a_penalty_on_a_round_without_classification(ledger: Ledger) -> None:
    register_demo_seasons(ledger)
    import_official(ledger, 1)
    head = ledger.head()
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "4", seconds=Decimal(5))
    with pytest.raises(ClassificationMissingError, match="round 3 has no classification"):
        stewards(ledger, "impose_penalty", ASLMS, 3, terms, reference=None, reason="x",
                 effective_at=at("2024-02-04T20:00:00+04:00"))
    assert ledger.head() == head


def test_a_penalty_on_an_unknown_car(demo: Ledger) -> None:
    head = demo.head()
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "999", seconds=Decimal(5))
    with pytest.raises(UnknownCarError, match="#999") as info:
        stewards(demo, "impose_penalty", ASLMS, 5, terms, reference=None, reason="x",
                 effective_at=R5_DECIDED)
    assert "round 5" in info.value.message and "19" in info.value.message
    assert demo.head() == head


def test_a_points_deduction_lowers_the_total_but_keeps_the_result(demo: Ledger) -> None:
    terms = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "91", points=Decimal(10))
    out = stewards(demo, "impose_penalty", ASLMS, 5, terms, reference="R5-car91-deduction",
                   reason="technical infringement", effective_at=at("2024-02-12T10:00:00+04:00"))
    assert out.accepted

    view = demo.standings(ASLMS, class_id="GT")
    assert top(view, "GT", 2) == [(1, "88", Decimal(74)), (2, "91", Decimal(66))]
    r5 = {r["car"]: r for r in rows(view, "GT")}["91"]["rounds"][-1]
    assert (r5["round"], r5["position"], r5["points"], r5["deduction"]) == (5, 2, 18, 10)
    assert r5_positions(view, "GT") == r5_positions(
        demo.standings(ASLMS, as_of=AFTER_DECISIONS, class_id="GT"), "GT")
    gt = route(demo.invitations(LEMANS), "aslms-2023-24/gt-champion")
    assert gt["holder"]["car"] == "88"


def test_pole_stripped_removes_the_pole_point(demo: Ledger) -> None:
    terms = DecisionTerms(DecisionKind.POLE_STRIPPED, "99")
    out = stewards(demo, "impose_penalty", ASLMS, 5, terms, reference="R5-car99-pole",
                   reason="qualifying infringement", effective_at=at("2024-02-11T20:00:00+04:00"))
    assert out.accepted

    view = demo.standings(ASLMS, class_id="LMP2")
    car99 = {r["car"]: r for r in rows(view, "LMP2")}["99"]
    assert car99["points"] == 69
    assert {r["round"]: r["pole_points"] for r in car99["rounds"]} == {
        1: 0, 2: 0, 3: 0, 4: 1, 5: 0,
    }
    assert view["rounds"][4]["poles"] == {}
    assert view["rounds"][3]["poles"] == {"LMP2": "99"}
    assert top(view, "LMP2") == [
        (1, "4", Decimal(83)), (2, "22", Decimal(71)), (3, "99", Decimal(69)),
    ]
    # as of before the decision the pole point counted
    assert points(demo.standings(ASLMS, as_of=AT_THE_FLAG), "LMP2")["99"] == 70


def test_a_later_official_file_does_not_apply_the_decisions_twice(demo: Ledger) -> None:
    before = demo.standings(ASLMS)
    out = import_r5_official(demo)
    assert out.accepted

    after = demo.standings(ASLMS)
    assert top(after, "GT", 2) == [(1, "91", Decimal(76)), (2, "88", Decimal(74))]
    assert top(after, "LMP2", 1) == [(1, "4", Decimal(83))]
    for c in ("LMP2", "LMP3", "GT"):
        assert canonical_json(rows(after, c)) == canonical_json(rows(before, c)), c
    assert after["rounds"][4]["status"] == "official"
    assert after["rounds"][4]["published_at"] == R5_OFFICIAL_PUBLISHED

    # re-sending the same official file is a duplicate
    head = demo.head()
    assert import_r5_official(demo).status == DUPLICATE
    assert demo.head() == head

    # an appeal after the official file reverses the penalty folded into it
    stewards(demo, "rescind_penalty", ASLMS, 5, CAR19, reason="appeal upheld",
             effective_at=APPEAL)
    gt = points(demo.standings(ASLMS, class_id="GT"), "GT")
    assert (gt["91"], gt["88"]) == (73, 67)


def test_official_file_without_published_at_after_decisions_is_refused(demo: Ledger) -> None:
    head = demo.head()
    with pytest.raises(InvalidInputError, match="--published-at") as info:
        import_r5_official(demo, published_at=None)
    assert "round 5" in info.value.message and "decisions after the flag" in info.value.message
    assert demo.head() == head


def test_an_official_mark_makes_the_round_official(ledger: Ledger) -> None:
    register_demo_seasons(ledger)
    for number in (1, 2, 3, 4):
        import_official(ledger, number)
    import_r5_at_flag(ledger)
    view = ledger.standings(ASLMS)
    assert view["rounds"][4]["status"] == "provisional" and view["complete"] is False
    lmp2 = route(ledger.invitations(LEMANS), "aslms-2023-24/lmp2-champion")
    assert lmp2["status"] == "provisional"
    assert any("not all official" in n for n in lmp2["notes"])

    mark = at("2024-02-11T22:00:00+04:00")
    out = ledger.declare_official(ASLMS, 5, effective_at=mark, actor="aslms", source="test")
    assert out.accepted
    view = ledger.standings(ASLMS)
    assert view["rounds"][4]["status"] == "official" and view["complete"] is True
    assert ledger.standings(ASLMS, as_of=at("2024-02-11T21:59:00+04:00"))["rounds"][4]["status"] \
        == "provisional"
    lmp2 = route(ledger.invitations(LEMANS), "aslms-2023-24/lmp2-champion")
    assert lmp2["status"] == "earned" and lmp2["holder"]["car"] == "4"

    head = ledger.head()
    again = ledger.declare_official(ASLMS, 5, effective_at=mark, actor="aslms", source="test")
    assert again.status == DUPLICATE and ledger.head() == head


def test_a_disqualification_removes_the_result(demo: Ledger) -> None:
    dsq = DecisionTerms(DecisionKind.DISQUALIFICATION, "88")
    out = stewards(demo, "impose_penalty", ASLMS, 5, dsq, reference="R5-car88-dsq",
                   reason="technical", effective_at=APPEAL)
    assert out.accepted
    view = demo.standings(ASLMS, class_id="GT")
    assert top(view, "GT", 2) == [(1, "91", Decimal(83)), (2, "42", Decimal(60))]
    assert points(view, "GT")["88"] == 74 - 25
    r5 = {r["car"]: r for r in rows(view, "GT")}["88"]["rounds"][-1]
    assert (r5["status"], r5["classified"], r5["points"]) == ("disqualified", False, 0)
    assert r5["position"] == len(r5_positions(view, "GT"))  # listed last


def test_rescinding_a_disqualification_restores_the_status_at_the_flag(
    demo: Ledger, tmp_path: Path
) -> None:
    """#58 (LMP3) was "Not classified" at the flag. Disqualified at 20:00, folded into the
    official file of 21:30, then rescinded on appeal: it is not classified again, and scores
    nothing (it used to come back "classified" with 8 points)."""
    def car58() -> tuple[Decimal, str, Decimal]:
        row = {r["car"]: r for r in rows(demo.standings(ASLMS, class_id="LMP3"), "LMP3")}["58"]
        r5 = row["rounds"][-1]
        return row["points"], r5["status"], r5["points"]

    assert car58() == (20, "not_classified", 0)
    stewards(demo, "impose_penalty", ASLMS, 5, DecisionTerms(DecisionKind.DISQUALIFICATION, "58"),
             reference="R5-car58-dsq", reason="x", effective_at=at("2024-02-11T20:00:00+04:00"))
    assert car58() == (20, "disqualified", 0)

    def disqualify_58(lines: list[str]) -> list[str]:
        out = [line.replace(",Not classified,", ",Disqualified,") if line.startswith("39,58,")
               else line for line in lines]
        assert out != lines
        return out

    official = write_copy(R5_OFFICIAL_FILE, tmp_path / "R5_official_dsq58.csv", disqualify_58)
    assert import_alkamel_file(demo, official, championship=ASLMS, round_number=5,
                               status="official", published_at=R5_OFFICIAL_PUBLISHED,
                               actor="test").accepted
    assert car58() == (20, "disqualified", 0)

    stewards(demo, "rescind_penalty", ASLMS, 5, "R5-car58-dsq", reason="appeal upheld",
             effective_at=APPEAL)
    assert car58() == (20, "not_classified", 0)
    assert points(demo.standings(ASLMS, as_of=AFTER_DECISIONS), "LMP3")["58"] == 20


def test_a_resent_decision_without_reference_is_recognised(demo: Ledger) -> None:
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "95", seconds=Decimal(5))
    first = stewards(demo, "impose_penalty", ASLMS, 5, terms, reference=None, reason="x",
                     effective_at=APPEAL)
    assert first.accepted and "time-penalty-car95-20240301T110000Z" in first.what
    head = demo.head()
    again = stewards(demo, "impose_penalty", ASLMS, 5, terms, reference=None, reason="x",
                     effective_at=APPEAL)
    assert again.status == DUPLICATE and demo.head() == head
