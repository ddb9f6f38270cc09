"""The entry list computed from the desk's facts (domain/entry_list.py), table-driven."""

from __future__ import annotations

import pytest

from domain.entry_list import (
    ENTRY,
    OVERALL,
    PENDING,
    REFUSED,
    RELEASED,
    Desk,
    Invitation,
    Line,
    compose,
)


def auto(team: str, car: str, class_id: str = "LMP2") -> Line:
    return Line(class_id, team, car, "automatic", "full-season entry", (1,))


def inv(route: str, status: str, team: str | None = None, *, driver: str | None = None,
        car: str | None = None, class_id: str = "LMP2", problem: str | None = None) -> Invitation:
    return Invitation(route, class_id, status, team, car if car else (None if team is None else "9"),
                      driver, driver is not None, f"route {route}", (2,), problem)


def reserve(team: str) -> Line:
    return Line("LMP2", team, "R", "reserve", "ranked", (3,))


def listed(desk: Desk) -> list[tuple[str, str]]:
    (c,) = compose(desk)
    return [(x.team or x.driver or "", x.state) for part in (c.entries, c.pending, c.refused,
                                                               c.released) for x in part]


@pytest.mark.parametrize("invitations, expected", [
    ([inv("a", "accepted", "T")], [("T", ENTRY)]),
    ([inv("a", "confirmed", "T")], [("T", ENTRY)]),
    ([inv("a", "earned", "T")], [("T", PENDING)]),
    ([inv("a", "provisional", "T")], [("T", PENDING)]),
    ([inv("a", "pending")], [("", PENDING)]),
    ([inv("a", "declined", "T")], [("T", RELEASED)]),
    ([inv("a", "withdrawn", "T")], [("T", RELEASED)]),
    ([inv("a", "accepted", driver="D", car=None)], [("D", PENDING)]),  # personal, not placed
    ([inv("a", "accepted", "T", driver="D")], [("T", ENTRY)]),          # placed with a team
    ([inv("a", "earned", "T", problem="missed round 3")], [("T", REFUSED)]),
    # a competitor holds at most two: the third (in route order) is refused
    ([inv("a", "accepted", "T"), inv("b", "earned", "T"), inv("c", "accepted", "T")],
     [("T", ENTRY), ("T", PENDING), ("T", REFUSED)]),
    # released invitations do not count towards the two
    ([inv("a", "declined", "T"), inv("b", "accepted", "T"), inv("c", "accepted", "t ")],
     [("T", ENTRY), ("t ", ENTRY), ("T", RELEASED)]),
])
def test_invitation_states(invitations: list[Invitation], expected: list[tuple[str, str]]) -> None:
    assert listed(Desk(10, {"LMP2": 10}, invitations=invitations)) == expected


def test_the_refusal_names_the_invitations_held() -> None:
    (c,) = compose(Desk(10, {"LMP2": 10}, invitations=[
        inv("a", "accepted", "T"), inv("b", "accepted", "T"), inv("c", "accepted", "T")]))
    assert c.refused[0].note == ("refused: T already holds 2 invitations (a, b); "
                                 "a competitor holds at most 2")


@pytest.mark.parametrize("capacity, pending, promoted, waiting", [
    (3, 0, ["R1", "R2"], ["R3"]),   # one automatic entry, two free places
    (3, 1, ["R1"], ["R2", "R3"]),   # a pending invitation holds its place
    (1, 0, [], ["R1", "R2", "R3"]),
    (1, 1, [], ["R1", "R2", "R3"]),  # over capacity: nobody promoted
    (9, 0, ["R1", "R2", "R3"], []),
])
def test_free_places_promote_reserves_in_order(capacity: int, pending: int, promoted: list[str],
                                               waiting: list[str]) -> None:
    desk = Desk(capacity, {"LMP2": capacity}, automatic=[auto("A", "1")],
                invitations=[inv(f"p{i}", "earned", f"P{i}") for i in range(pending)],
                reserves={"LMP2": [reserve(r) for r in ("R1", "R2", "R3")]})
    (c,) = compose(desk)
    assert [x.team for x in c.entries if x.basis == "reserve"] == promoted
    assert [x.team for x in c.reserves] == waiting
    assert c.free == max(0, capacity - 1 - pending - len(promoted))
    assert c.over == max(0, 1 + pending - capacity)
    assert [x.why.split(",")[0] for x in c.entries if x.basis == "reserve"] == [
        f"reserve #{i} in LMP2" for i in range(1, len(promoted) + 1)]


def test_classes_keep_their_own_lines_and_order() -> None:
    desk = Desk(4, {"Hypercar": 1, "LMGT3": 2}, automatic=[auto("H", "1", "Hypercar"),
                                                           auto("G", "2", "LMGT3")],
                invitations=[inv("g", "accepted", "I", class_id="LMGT3")])
    assert [(c.class_id, [x.team for x in c.entries], c.free) for c in compose(desk)] == [
        ("Hypercar", ["H"], 0), ("LMGT3", ["G", "I"], 0)]


def test_an_overall_reserve_order_fills_the_events_free_places_whatever_the_class() -> None:
    """Rules may rank reserves across classes: a place freed in LMP2 goes to the first reserve
    overall, here a GT car, which then races in its own class."""
    gt, lmp2 = (Line("LMGT3", "GT Reserve", "G1", "reserve", "ranked", (5,)),
                Line("LMP2", "P2 Reserve", "P1", "reserve", "ranked", (5,)))
    desk = Desk(3, {"LMP2": 2, "LMGT3": 1}, automatic=[auto("A", "1"), auto("G", "2", "LMGT3")],
                invitations=[inv("x", "declined", "T")],
                reserves={OVERALL: [gt, lmp2]}, reserve_order=OVERALL)
    p2, gt3 = compose(desk)
    assert [x.team for x in p2.entries] == ["A"] and [x.team for x in p2.reserves] == ["P2 Reserve"]
    assert [x.team for x in gt3.entries] == ["G", "GT Reserve"]
    assert gt3.entries[1].why.startswith("reserve #1 overall, promoted to a free place")
    assert p2.reserves[0].why.startswith("reserve #2 overall")
