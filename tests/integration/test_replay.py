"""Replaying the log from zero gives the live views byte for byte; a second process sees them
too; and a championship registered by a user (an ELMS-2023-like season) scores and feeds the
Le Mans 2024 invitations."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.decisions import DecisionKind, DecisionTerms
from infra.store import store_settings
from projections.canonical import canonical_json
from projections.history_view import history_view
from projections.invitations_view import invitations_view
from projections.standings_view import standings_view
from services.demo import ASLMS, DEMO_OFFICIAL, DEMO_STEWARD, LEMANS, load_demo
from services.importing import import_alkamel_file, register_season
from services.ledger import Ledger
from services.outcome import DUPLICATE
from tests.conftest import Clock

from .support import at, points, route, rows

CLASSES = ("LMP2", "LMP3", "GT")
AS_OF_DATES = [
    "2023-12-02T20:00:00+08:00",  # after R1
    "2023-12-04T00:00:00+08:00",  # after Sepang
    "2024-02-05T00:00:00+04:00",  # after Dubai
    "2024-02-11T19:00:00+04:00",  # R5 at the flag
    "2024-02-11T21:30:00+04:00",  # after the decisions, before the official mark
    "2024-02-20T00:00:00+04:00",  # after the tie decision and the confirmations
    "2024-03-05T00:00:00+01:00",  # after the appeal
]


def stewards(ledger: Ledger, method: str, *args: Any, **kwargs: Any) -> Any:
    signers = {"resolve_tie": DEMO_OFFICIAL, "impose_penalty": DEMO_STEWARD,
               "amend_penalty": DEMO_STEWARD, "rescind_penalty": DEMO_STEWARD}
    if method in signers:
        kwargs["signed_by"] = signers[method]
    out = getattr(ledger, method)(*args, actor="stewards:aslms", source="test", **kwargs)
    assert out.accepted, out
    return out


def more_facts(ledger: Ledger, clock: Clock) -> None:
    """Facts after the demo, recorded at later clock times, with live queries in between so the
    live fold is built incrementally (the replay folds everything at once)."""
    def touch() -> None:
        ledger.standings(ASLMS)
        ledger.invitations(LEMANS)
        clock.advance(hours=6)

    touch()
    stewards(ledger, "resolve_tie", ASLMS, "LMP3", ["17", "2"], reference="aslms-lmp3-tie",
             reason="pole points decide", effective_at=at("2024-02-15T12:00:00+04:00"))
    touch()
    stewards(ledger, "rescind_penalty", ASLMS, 5, "R5-car3-time", reason="appeal upheld",
             effective_at=at("2024-03-01T12:00:00+01:00"))
    touch()
    stewards(ledger, "amend_penalty", ASLMS, 5, "R5-car24-min-drive-time",
             DecisionTerms(DecisionKind.LAP_PENALTY, "24", seconds=Decimal(30), laps=1),
             reason="recalculated", effective_at=at("2024-02-12T09:00:00+04:00"))
    touch()
    stewards(ledger, "impose_penalty", ASLMS, 4,
             DecisionTerms(DecisionKind.POINTS_DEDUCTION, "42", points=Decimal(3)),
             reference="R4-car42-deduction", reason="sporting code",
             effective_at=at("2024-02-11T10:00:00+04:00"))
    touch()
    stewards(ledger, "record_pole", ASLMS, 2, "GT", "91", effective_at=None)  # a backfill
    touch()
    stewards(ledger, "declare_entry", ASLMS, {"car": "88", "team": "Triple Eight Race Engineering",
                                              "class": "GT", "drivers": []},
             effective_at=at("2024-01-01T00:00:00+04:00"))
    touch()
    for route_id in ("aslms-2023-24/lmp2-champion", "aslms-2023-24/gt-champion"):
        out = ledger.transition_invitation(LEMANS, route_id, "confirmed", holder=None,
                                           reason="selection committee",
                                           effective_at=at("2024-02-19T12:00:00+01:00"),
                                           actor="aco", source="test")
        assert out.accepted
        touch()
    out = ledger.transition_invitation(LEMANS, "aslms-2023-24/lmp2-champion", "accepted",
                                       holder=None, reason="", actor="aco", source="test",
                                       effective_at=at("2024-03-01T12:00:00+01:00"))
    assert out.accepted
    touch()
    out = ledger.grant_award("imsa-2023/hypercar-invitation", name="IMSA Hypercar place",
                             series="imsa", recipient={"team": "Cadillac Whelen"},
                             effective_at=at("2024-01-10T12:00:00-05:00"),
                             signed_by=DEMO_OFFICIAL, actor="imsa", source="test")
    assert out.accepted
    touch()


def views(ledger: Ledger, known_at: datetime, state: Any = None) -> dict[str, str]:
    """Every view we compare, as canonical JSON, from `state` (a replay) or from the live ledger."""
    out: dict[str, str] = {}
    for text in [*AS_OF_DATES, None]:
        as_of = at(text) if text else known_at
        for class_id in CLASSES:
            key = f"standings {class_id} {as_of.isoformat()}"
            out[key] = canonical_json(
                standings_view(state, ASLMS, as_of, known_at, class_id) if state is not None
                else ledger.standings(ASLMS, as_of=as_of, known_at=known_at, class_id=class_id)
            )
        out[f"invitations {as_of.isoformat()}"] = canonical_json(
            invitations_view(state, LEMANS, as_of, known_at) if state is not None
            else ledger.invitations(LEMANS, as_of=as_of, known_at=known_at)
        )
        out[f"history {as_of.isoformat()}"] = canonical_json(
            history_view(state, ASLMS, as_of, known_at) if state is not None
            else ledger.history(ASLMS, as_of=as_of, known_at=known_at)
        )
    return out


def test_replay_equals_live(ledger: Ledger, clock: Clock) -> None:
    loaded = clock()
    load_demo(ledger)
    more_facts(ledger, clock)
    now = clock()

    # the extra facts did change the views
    final = ledger.standings(ASLMS)
    lmp3 = rows(final, "LMP3")
    assert [(r["position"], r["car"], r["decided_by"]) for r in lmp3[:2]] == [
        (1, "17", "decision aslms-lmp3-tie"), (2, "2", "decision aslms-lmp3-tie"),
    ]
    assert points(final, "GT")["91"] == 77 and points(final, "GT")["42"] == 57 - 3
    assert {r["car"]: r["team"] for r in rows(final, "GT")}["88"] == "Triple Eight Race Engineering"
    inv = ledger.invitations(LEMANS)
    assert route(inv, "aslms-2023-24/lmp2-champion")["status"] == "accepted"
    assert route(inv, "aslms-2023-24/gt-champion")["status"] == "confirmed"
    assert route(inv, "imsa-2023/hypercar")["holder"]["team"] == "Cadillac Whelen"

    replayed = ledger.replay()
    for known_at in (now, loaded):
        live = views(ledger, known_at)
        again = views(ledger, known_at, replayed)
        assert live.keys() == again.keys()
        for key in live:
            assert again[key] == live[key], key
    # default axes (now, now) equal the explicit ones
    assert canonical_json(ledger.standings(ASLMS)) == canonical_json(
        standings_view(replayed, ASLMS, now, now))
    assert canonical_json(ledger.invitations(LEMANS)) == canonical_json(
        invitations_view(replayed, LEMANS, now, now))


@pytest.mark.slow(9)
def test_a_second_ledger_on_the_same_store_sees_the_same_views(
    ledger: Ledger, clock: Clock, store_url: str
) -> None:
    load_demo(ledger)
    first_views = views(ledger, clock())
    more_facts(ledger, clock)
    now = clock()

    other = Ledger(env=store_settings(store_url), clock=clock)
    assert other.head() == ledger.head()
    assert views(other, now) == views(ledger, now)
    assert views(other, at("2026-01-01T00:00:00+00:00")) == first_views

    # and each sees what the other appends
    clock.advance(hours=1)
    out = other.declare_official(ASLMS, 5, effective_at=at("2024-02-11T22:30:00+04:00"),
                                 actor="aslms", source="test")
    assert out.status == DUPLICATE  # already official from 22:00
    out = other.record_pole(ASLMS, 3, "LMP3", "17", effective_at=None, actor="t", source="t")
    assert out.accepted
    assert ledger.head() == other.head() == out.positions[-1]
    assert points(ledger.standings(ASLMS), "LMP3")["17"] == 102
    assert views(ledger, clock()) == views(other, clock())
    assert views(ledger, clock(), ledger.replay()) == views(other, clock())


# -- a championship registered by a user -----------------------------------------------------------

ELMS = "elms-2023"
ELMS_TOML = """\
# An ELMS-2023-like season written for this test: the classes and calendar are modelled on the
# European Le Mans Series 2023, the scales and the results below are invented.
kind = "championship"
id = "elms-2023"
name = "European Le Mans Series 2023 (test)"
series = "elms"
season = "2023"
effective_at = 2023-03-01T00:00:00Z

[rules]
pole_points = 1
tie_break = ["countback"]
[rules.scales]
standard = [15, 10, 8, 6, 4, 3, 2, 1]
finale = [30, 20, 16, 12, 8, 6, 4, 2]

[[classes]]
id = "LMP2"
[[classes]]
id = "LMP2 Pro/Am"
parent = "LMP2"
match_group = "PRO/AM"
scores_in_parent = false
[[classes]]
id = "LMP3"
[[classes]]
id = "LMGTE"
aliases = ["GTE"]

[[rounds]]
number = 1
name = "4 Hours of Barcelona"
flag_at = 2023-04-16T16:00:00+02:00
scale = "standard"
[[rounds]]
number = 2
name = "4 Hours of Le Castellet"
flag_at = 2023-05-07T16:00:00+02:00
scale = "standard"
multiplier = 1.5
[[rounds]]
number = 3
name = "4 Hours of Aragón (stopped)"
flag_at = 2023-07-16T16:00:00+02:00
scale = "standard"
half_points = true
[[rounds]]
number = 4
name = "4 Hours of Portimão"
flag_at = 2023-10-22T16:00:00+00:00
scale = "finale"
"""

HEADER = ("POSITION,NUMBER,TEAM,DRIVER_1,DRIVER_2,DRIVER_3,DRIVER_4,VEHICLE,TYRES,CLASS,GROUP,"
          "DIVISION,STATUS,LAPS,TOTAL_TIME,GAP_FIRST,GAP_PREVIOUS,FL_LAPNUM,FL_TIME,FL_KPH,DRIVER_5")
TEAMS = {
    "22": ("Alpha Racing", "LMP2", "PRO", "Oreca 07 - Gibson", "Jörg MÜLLER"),
    "37": ("Bravo Motorsport", "LMP2", "PRO", "Oreca 07 - Gibson", "Ana PÉREZ"),
    "65": ("Delta Racing", "LMP2", "PRO", "Oreca 07 - Gibson", "Tom DELTA"),
    "83": ("Charlie Team", "LMP2", "PRO/AM", "Oreca 07 - Gibson", "François CHARLIE"),
    "24": ("India Racing", "LMP2", "PRO/AM", "Oreca 07 - Gibson", "Ian INDIA"),
    "17": ("Echo Racing", "LMP3", "", "Ligier JS P320 - Nissan", "Eve ECHO"),
    "8": ("Foxtrot Sport", "LMP3", "", "Ligier JS P320 - Nissan", "Fox TROT"),
    "9": ("Juliet Team", "LMP3", "", "Ligier JS P320 - Nissan", "Jules JULIET"),
    "77": ("Golf GT", "LMGTE", "", "Porsche 911 RSR-19", "Gus GOLF"),
    "60": ("Hotel GT", "GTE", "", "Ferrari 488 GTE Evo", "Hugo HOTEL"),  # the class alias
}
# (car, status, laps, total time) in overall order
ELMS_RESULTS = {
    1: [("22", "Classified", 118, "4:00'10.100"), ("37", "Classified", 118, "4:00'20.200"),
        ("83", "Classified", 118, "4:01'00.000"), ("65", "Classified", 117, "4:00'30.000"),
        ("24", "Classified", 117, "4:01'30.000"), ("17", "Classified", 110, "4:01'00.000"),
        ("8", "Classified", 109, "4:00'50.000"), ("77", "Classified", 105, "4:00'40.000"),
        ("60", "Classified", 105, "4:00'45.500"), ("9", "Retired", 40, "1:20'00.000")],
    2: [("37", "Classified", 120, "4:00'05.000"), ("22", "Classified", 120, "4:00'06.000"),
        ("24", "Classified", 120, "4:01'00.000"), ("65", "Classified", 119, "4:00'10.000"),
        ("83", "Classified", 119, "4:00'20.000"), ("8", "Classified", 111, "4:00'30.000"),
        ("17", "Classified", 111, "4:00'31.000"), ("9", "Classified", 110, "4:01'00.000"),
        ("60", "Classified", 106, "4:00'50.000"), ("77", "Classified", 106, "4:00'55.000")],
    3: [("22", "Classified", 60, "2:00'00.000"), ("65", "Classified", 60, "2:00'02.000"),
        ("37", "Classified", 60, "2:00'03.000"), ("83", "Classified", 59, "2:00'10.000"),
        ("24", "Classified", 59, "2:00'20.000"), ("17", "Classified", 56, "2:00'15.000"),
        ("8", "Classified", 56, "2:00'16.000"), ("60", "Classified", 54, "2:00'30.000"),
        ("77", "Classified", 54, "2:00'40.000"), ("9", "Not classified", 20, "")],
}


def alkamel_csv(number: int, *, semicolons: bool) -> bytes:
    """A round of ELMS_RESULTS as an Al Kamel file: `,` + LF, or the portal's `;` + BOM + CRLF
    with a trailing separator on every line."""
    sep = ";" if semicolons else ","
    lines = [HEADER.replace(",", sep) + sep]
    for position, (car, status, laps, total) in enumerate(ELMS_RESULTS[number], start=1):
        team, cls, group, vehicle, driver = TEAMS[car]
        fields = [str(position), car, team, driver, f"{team.split()[0]} DRIVER", "", "", vehicle,
                  "M", cls, group, "", status, str(laps), total, "", "", "", "", "", ""]
        lines.append(sep.join(fields) + sep)
    if semicolons:
        return b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"
    return "\n".join(lines).encode() + b"\n"


def import_elms(ledger: Ledger, folder: Path, number: int, *, semicolons: bool) -> Any:
    suffix = "semicolon" if semicolons else "comma"
    path = folder / f"ELMS_R{number}_{suffix}.csv"
    path.write_bytes(alkamel_csv(number, semicolons=semicolons))
    return import_alkamel_file(ledger, path, championship=ELMS, round_number=number,
                               status="official", published_at=None, actor="elms-timing")


@pytest.fixture
def elms(ledger: Ledger, clock: Clock, tmp_path: Path) -> Ledger:
    """The demo plus the user's ELMS season with rounds 1 (`,`), 2 (`;`) and 3 (`,`) of 4,
    recorded a day after the demo."""
    load_demo(ledger)
    clock.advance(days=1)
    season = tmp_path / "elms-2023.toml"
    season.write_text(ELMS_TOML, encoding="utf-8")
    assert register_season(ledger, season, actor="user").accepted
    assert import_elms(ledger, tmp_path, 1, semicolons=False).accepted
    assert import_elms(ledger, tmp_path, 2, semicolons=True).accepted
    assert import_elms(ledger, tmp_path, 3, semicolons=False).accepted
    assert ledger.record_pole(ELMS, 1, "LMP2", "22", effective_at=None, actor="elms",
                              source="test").accepted
    return ledger


def table(view: dict[str, Any], class_id: str) -> list[tuple[int, str, Any, str | None]]:
    return [(r["position"], r["car"], r["points"], r["tie"] or r["decided_by"])
            for r in rows(view, class_id)]


def test_user_championship_standings(elms: Ledger) -> None:
    view = elms.standings(ELMS)
    assert [c["class"] for c in view["classes"]] == ["LMP2", "LMP2 Pro/Am", "LMP3", "LMGTE"]
    assert [r["status"] for r in view["rounds"]] == ["official"] * 3 + ["not published"]
    assert view["complete"] is False
    # R1 ×1 (+1 pole for #22), R2 ×1.5, R3 half points; Pro/Am cars do not score in LMP2
    assert table(view, "LMP2") == [
        (1, "22", Decimal("38.5"), None), (2, "37", Decimal("36.5"), None),
        (3, "65", Decimal(25), None),
    ]
    assert table(view, "LMP2 Pro/Am") == [
        (1, "83", Decimal("37.5"), "countback"), (2, "24", Decimal("37.5"), "countback"),
    ]
    assert table(view, "LMP3") == [
        (1, "17", Decimal("37.5"), "countback"), (2, "8", Decimal("37.5"), "countback"),
        (3, "9", Decimal(12), None),
    ]
    assert table(view, "LMGTE") == [(1, "60", Decimal(40), None), (2, "77", Decimal(35), None)]
    r22 = {r["round"]: (r["position"], r["points"], r["pole_points"])
           for r in rows(view, "LMP2")[0]["rounds"]}
    assert r22 == {1: (1, 15, 1), 2: (2, 15, 0), 3: (1, Decimal("7.5"), 0)}
    assert rows(view, "LMP2")[0]["drivers"][0] == "Jörg MÜLLER"
    assert rows(view, "LMGTE")[0]["team"] == "Hotel GT"  # CLASS "GTE" resolved by alias
    # half points stay exact numbers in canonical JSON
    assert '"points":38.5' in canonical_json(view)


def test_both_dialects_carry_the_same_classification(elms: Ledger, tmp_path: Path) -> None:
    head = elms.head()
    assert import_elms(elms, tmp_path, 1, semicolons=True).status == DUPLICATE
    assert import_elms(elms, tmp_path, 2, semicolons=False).status == DUPLICATE
    assert elms.head() == head


def test_user_championship_feeds_the_le_mans_invitations(elms: Ledger, clock: Clock) -> None:
    view = elms.invitations(LEMANS)
    lmp2 = route(view, "elms-2023/lmp2-champion")
    assert lmp2["status"] == "provisional"
    assert lmp2["holder"] == {"championship": ELMS, "class": "LMP2", "car": "22",
                              "team": "Alpha Racing", "points": Decimal("38.5")}
    assert any("round(s) 1, 2, 3 of 4" in n for n in lmp2["notes"])
    assert route(view, "elms-2023/lmp2-runner-up")["holder"]["car"] == "37"
    assert route(view, "elms-2023/lmp2-pro-am-champion")["holder"]["car"] == "83"
    lmp3 = route(view, "elms-2023/lmp3-champion")
    assert (lmp3["holder"]["car"], lmp3["target_class"]) == ("17", "LMP2")
    assert route(view, "elms-2023/lmgte-champion")["holder"]["car"] == "60"
    # before the user registered the season (known_at), the routes were pending
    before = elms.invitations(LEMANS, known_at=clock.now - timedelta(hours=1))
    pending = route(before, "elms-2023/lmp2-champion")
    assert pending["status"] == "pending" and pending["holder"] is None
    assert pending["notes"][0].startswith(
        "no standings: championship 'elms-2023' was not yet registered at")
    # as of June 2023 (Le Mans 2024 is defined from 1 June) only R1 and R2 count: #37 led
    early = elms.invitations(LEMANS, as_of=at("2023-06-02T00:00:00+02:00"))
    e = route(early, "elms-2023/lmp2-champion")
    assert e["status"] == "provisional"
    assert (e["holder"]["car"], e["holder"]["points"]) == ("37", Decimal("32.5"))
    assert any("round(s) 1, 2 of 4" in n for n in e["notes"])
    # the AsLMS routes are untouched
    assert route(view, "aslms-2023-24/lmp2-champion")["holder"]["car"] == "4"

    replayed = elms.replay()
    now = elms.clock()
    assert canonical_json(invitations_view(replayed, LEMANS, now, now)) == canonical_json(view)
    assert canonical_json(standings_view(replayed, ELMS, now, now)) == canonical_json(
        elms.standings(ELMS))
