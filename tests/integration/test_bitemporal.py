"""Both time axes: effective_at (`as_of`) and recorded_at (`known_at`), alone and combined."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import UnknownChampionshipError, UnknownTargetEventError
from services.demo import ASLMS, DEMO_STEWARD, LEMANS, R5_DECIDED, R5_PENALTIES
from services.ledger import Ledger
from tests.conftest import Clock

from .support import (
    at,
    import_official,
    import_r5_at_flag,
    points,
    record_known_poles,
    register_demo_seasons,
    route,
    rows,
)

AFTER_R5_DECISIONS = at("2024-02-11T21:30:00+04:00")
BEFORE_R5_DECISIONS = at("2024-02-11T20:00:00+04:00")


def impose_r5_penalties(ledger: Ledger) -> None:
    for p in R5_PENALTIES:
        ledger.impose_penalty(ASLMS, 5, p.terms, reference=p.reference, reason=p.reason,
                              effective_at=R5_DECIDED, signed_by=DEMO_STEWARD, actor="stewards:aslms", source="test")


def test_known_at_shows_only_what_was_recorded_by_then(ledger: Ledger, clock: Clock) -> None:
    t0 = clock()
    register_demo_seasons(ledger)
    t1 = clock.advance(hours=1)
    import_official(ledger, 1)
    head_t1 = ledger.head()
    t2 = clock.advance(hours=1)
    import_official(ledger, 2)
    assert ledger.head() > head_t1

    between = ledger.standings(ASLMS, known_at=t1 + timedelta(minutes=30))
    assert [r["status"] for r in between["rounds"]] == ["official"] + ["not published"] * 4
    assert between["log_position"] == head_t1
    assert between["known_at"] == t1 + timedelta(minutes=30)
    assert between["as_of"] == t2  # both default to the clock's now
    lmp2 = points(between, "LMP2")
    assert lmp2["99"] == 25 and lmp2["83"] == 18 and lmp2["3"] == 15
    assert "4" in lmp2  # #4 was in R1 too
    assert {r["round"] for c in between["classes"] for row in c["rows"] for r in row["rounds"]} \
        == {1}

    now = ledger.standings(ASLMS)
    assert [r["status"] for r in now["rounds"]][:2] == ["official", "official"]
    assert now["log_position"] == ledger.head()
    lmp2_now = points(now, "LMP2")
    assert lmp2_now["99"] == 25 + 18 and lmp2_now["83"] == 18 + 12

    # recorded exactly at t2 is known at t2
    assert ledger.standings(ASLMS, known_at=t2) == now | {"known_at": t2}
    # before anything was recorded, the championship did not exist yet
    with pytest.raises(UnknownChampionshipError, match="not yet registered"):
        ledger.standings(ASLMS, known_at=t0 - timedelta(seconds=1))
    with pytest.raises(UnknownTargetEventError, match="'lemans-2024' was not yet registered"):
        ledger.invitations(LEMANS, known_at=t0 - timedelta(seconds=1))
    with pytest.raises(UnknownTargetEventError, match=r"unknown target event 'lemans-2025' \(known: lemans-2024\)"):
        ledger.invitations("lemans-2025")


def test_stewards_question_combines_both_axes(ledger: Ledger, clock: Clock) -> None:
    """"On K, what did we believe the standings were on D?" for the R5 decisions."""
    register_demo_seasons(ledger)
    for number in (1, 2, 3, 4):
        import_official(ledger, number)
    import_r5_at_flag(ledger)
    record_known_poles(ledger)
    t3 = clock.advance(days=2)
    impose_r5_penalties(ledger)

    def gt(as_of, known_at):  # type: ignore[no-untyped-def]
        view = ledger.standings(ASLMS, as_of=as_of, known_at=known_at, class_id="GT")
        p = points(view, "GT")
        return p["91"], p["88"]

    just_before = t3 - timedelta(seconds=1)
    assert gt(AFTER_R5_DECISIONS, just_before) == (73, 67)  # the at-the-flag figures
    assert gt(AFTER_R5_DECISIONS, t3) == (76, 74)
    assert gt(AFTER_R5_DECISIONS, None) == (76, 74)
    # known now, but not yet in force before 21:00 on the day
    assert gt(BEFORE_R5_DECISIONS, t3) == (73, 67)
    assert gt(BEFORE_R5_DECISIONS, just_before) == (73, 67)

    before = ledger.standings(ASLMS, as_of=AFTER_R5_DECISIONS, known_at=just_before)
    assert before["rounds"][4]["decisions"] == []
    after = ledger.standings(ASLMS, as_of=AFTER_R5_DECISIONS, known_at=t3)
    assert [d["car"] for d in after["rounds"][4]["decisions"]] == ["19", "24", "3"]
    assert after["log_position"] == ledger.head() > before["log_position"]

    # the invitations follow the same two axes
    inv = ledger.invitations(LEMANS, as_of=AFTER_R5_DECISIONS, known_at=just_before)
    assert route(inv, "aslms-2023-24/gt-champion")["holder"]["points"] == 73
    inv = ledger.invitations(LEMANS, as_of=AFTER_R5_DECISIONS, known_at=t3)
    assert route(inv, "aslms-2023-24/gt-champion")["holder"]["points"] == 76


def test_backfill_old_effective_time_new_recorded_time(demo: Ledger, clock: Clock) -> None:
    """A pole found years later: it counts as of 2023 for what we know now, not for before."""
    loaded = clock()
    after_sepang = at("2023-12-04T00:00:00+08:00")
    before_backfill = demo.standings(ASLMS, as_of=after_sepang)
    q = points(before_backfill, "LMP3")
    assert (q["17"], q["2"]) == (40, 43)

    backfilled = clock.advance(days=60)
    out = demo.record_pole(ASLMS, 2, "LMP3", "17", effective_at=None, actor="archivist",
                           source="test:backfill")
    assert out.accepted

    # as of December 2023, by what we know now: the pole point is there
    p = points(demo.standings(ASLMS, as_of=after_sepang), "LMP3")
    assert (p["17"], p["2"]) == (41, 43)
    # as of December 2023, by what we knew before the backfill: unchanged
    old = demo.standings(ASLMS, as_of=after_sepang, known_at=loaded)
    assert old == before_backfill | {"known_at": loaded}

    final = rows(demo.standings(ASLMS, class_id="LMP3"), "LMP3")
    assert [(r["position"], r["car"], r["points"], r["tie"]) for r in final[:2]] == [
        (1, "17", Decimal(102), None), (2, "2", Decimal(101), None),
    ]
    lmp3 = route(demo.invitations(LEMANS), "aslms-2023-24/lmp3-champion")
    assert lmp3["kind"] == "priority" and lmp3["holder"]["car"] == "17"
    assert lmp3["holder"]["team"] == "COOL Racing"

    history = demo.history(ASLMS, car="17")["events"]
    last = history[-1]
    assert last["kind"] == "pole" and last["round"] == 2
    assert last["effective_at"] == at("2023-12-03T16:00:00+08:00")  # R2's flag
    assert last["recorded_at"] == backfilled
    assert last["actor"] == "archivist" and last["source"] == "test:backfill"
    # log order, not effective order: the backfill is last though it holds since 2023
    assert [e["position"] for e in history] == sorted(e["position"] for e in history)
    assert last["effective_at"] < history[-2]["effective_at"]
    assert all(e["kind"] != "pole" for e in demo.history(ASLMS, car="17", known_at=loaded)["events"])


def test_history_of_car_19_lists_the_r5_penalty_with_both_times(
    ledger: Ledger, clock: Clock
) -> None:
    register_demo_seasons(ledger)
    for number in (1, 2, 3, 4):
        import_official(ledger, number)
    t_flag = clock.advance(hours=1)
    import_r5_at_flag(ledger)
    t3 = clock.advance(days=1)
    impose_r5_penalties(ledger)

    view = ledger.history(ASLMS, car="19")
    events = view["events"]
    assert view["car"] == "19"
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert len({e["position"] for e in events}) == len(events)
    assert [(e["kind"], e["round"]) for e in events] == [
        ("classification", 1), ("classification", 2), ("classification", 3),
        ("classification", 4), ("classification", 5), ("decision_imposed", 5),
    ]
    penalty = events[-1]
    assert penalty["effective_at"] == R5_DECIDED
    assert penalty["recorded_at"] == t3
    assert "R5-car19-max-drive-time" in penalty["summary"]
    assert "+106s" in penalty["summary"] and "maximum drive time" in penalty["summary"]
    assert penalty["actor"] == "steward:AsLMS stewards (demo key)"  # the verified signer
    assert events[-2]["recorded_at"] == t_flag
    assert events[-2]["effective_at"] == at("2024-02-11T18:00:00+04:00")
    # the other cars' penalties are not in #19's history
    assert all("#24" not in e["summary"] and "#3 " not in e["summary"] for e in events)

    # history answers on both axes too
    assert len(ledger.history(ASLMS, car="19", known_at=t3 - timedelta(seconds=1))["events"]) == 5
    assert len(ledger.history(ASLMS, car="19", as_of=BEFORE_R5_DECISIONS)["events"]) == 5
    everything = ledger.history(ASLMS)["events"]
    assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)


@pytest.mark.parametrize(
    ("before", "between", "number", "class_id", "car"),
    [
        # Sepang: LMP2 qualifying at 10:15, the flag of race 1 at 17:00 (R1 is not classified yet)
        ("2023-12-02T10:00:00+08:00", "2023-12-02T12:00:00+08:00", 1, "LMP2", "90"),
        ("2023-12-02T09:45:00+08:00", "2023-12-02T09:55:00+08:00", 1, "GT", "42"),
        # Dubai: qualifying on 3 Feb, the flag on 4 Feb; R1 and R2 are in the standings
        ("2024-02-03T14:50:00+04:00", "2024-02-04T12:00:00+04:00", 3, "LMP2", "55"),
    ],
)
def test_a_pole_counts_from_qualifying_before_the_flag(
        demo: Ledger, before: str, between: str, number: int, class_id: str, car: str) -> None:
    """Issue 9 item 13: the pole point is earned in qualifying, not when the race is classified."""
    ahead, after = demo.standings(ASLMS, as_of=at(before)), demo.standings(ASLMS, as_of=at(between))
    assert after["rounds"][number - 1]["status"] == "not published"
    assert after["rounds"][number - 1]["poles"][class_id] == car
    assert class_id not in ahead["rounds"][number - 1]["poles"]
    assert points(after, class_id)[car] == points(ahead, class_id).get(car, 0) + 1
    row = next(r for r in rows(after, class_id) if r["car"] == car)
    assert row["rounds"][-1] == {"round": number, "position": None, "status": "no_result",
                                 "classified": False, "points": 0, "pole_points": 1,
                                 "deduction": 0}
    explained = demo.explain(ASLMS, car, as_of=at(between))
    block = next(c for c in explained["classes"] if c["class"] == class_id)
    assert block["points"] == block["sum_of_lines"] == row["points"]
    line = block["lines"][-1]
    assert (line["round"], line["status"], line["total"]) == (number, "no_result", 1)
    assert [b["fact"].split(" (")[0] for b in line["because"]] == [f"R{number} {class_id} pole #{car}"]


def test_a_stripped_pole_stops_counting_from_the_decision(demo: Ledger) -> None:
    """Stripped after qualifying, before the flag: the point goes from the decision's time."""
    demo.impose_penalty(ASLMS, 3, DecisionTerms(DecisionKind.POLE_STRIPPED, "55"),
                        reference="R3-car55-pole", reason="qualifying infringement",
                        effective_at=at("2024-02-03T18:00:00+04:00"), signed_by=DEMO_STEWARD,
                        actor="stewards:aslms", source="test")
    held = points(demo.standings(ASLMS, as_of=at("2024-02-03T17:00:00+04:00")), "LMP2")["55"]
    stripped = demo.standings(ASLMS, as_of=at("2024-02-03T19:00:00+04:00"))
    assert points(stripped, "LMP2")["55"] == held - 1
    assert stripped["rounds"][2]["poles"] == {}
