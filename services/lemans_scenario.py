"""The organiser's desk for Le Mans 2024, built on the demo season (services/demo.py).

Public facts: 62 cars; the FIA WEC 2024 full-season entries (19 Hypercar, 18 LMGT3) are
automatic; the AsLMS 2023/24 LMP2 and GT champions (computed from the real season); IMSA's
Jim Trueman (George Kurtz, LMP2) and Bob Akin (Brendan Iribe, LMGT3) awards, placed with
CrowdStrike Racing by APR and Inception Racing; IMSA's Hypercar place (Whelen Cadillac Racing
#311); Cadillac Racing #3 and Porsche Penske Motorsport #4 as extra Hypercars; the provisional
list published on 19 February 2024. Where the facts are not public (or not in our sources) the
teams are synthetic and named so: ELMS 2023 and GT World Challenge Europe holders, the selection
committee's LMP2 places, the reserves, and the decline of 8 March 2024.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from domain.classification import ClassificationRow, ResultStatus
from domain.decisions import DecisionKind, DecisionTerms
from services.demo import DEMO_OFFICIAL, DEMO_STEWARD, LEMANS, SEASONS, load_demo
from services.importing import register_season
from services.ledger import Ledger
from services.outcome import Outcome

ACTOR = "aco-entry-office (scenario)"
SOURCE = "scenario:lemans-2024"
WEC = "wec-2024"
FIRST_LIST = datetime.fromisoformat("2024-02-19T12:00:00+01:00")
DECLINED_AT = datetime.fromisoformat("2024-03-08T10:00:00+01:00")
SECOND_LIST = datetime.fromisoformat("2024-03-12T12:00:00+01:00")
LMP2_RAISED = datetime.fromisoformat("2024-02-19T09:00:00+01:00")
DECLINED_ROUTE = "elms-2023/lmp3-champion"

# (route, holder, confirmed at): organiser's confirmations of routes whose holders the ledger
# cannot compute (ELMS 2023 and GTWC Europe 2023 standings are not in it).
CONFIRMED_ELSEWHERE = [
    ("elms-2023/lmp2-champion", {"team": "ELMS LMP2 Champion (synthetic)", "car": "E1"}),
    ("elms-2023/lmp2-runner-up", {"team": "ELMS LMP2 Runner-up (synthetic)", "car": "E2"}),
    ("elms-2023/lmp2-pro-am-champion", {"team": "ELMS Pro/Am Champion (synthetic)", "car": "E3"}),
    ("elms-2023/lmp3-champion", {"team": "ELMS LMP3 Champion (synthetic)", "car": "E4"}),
    ("elms-2023/lmgte-champion", {"team": "ELMS LMGTE Champion (synthetic)", "car": "E5"}),
    ("gtwc-europe-2023/bronze-cup-champion", {"team": "GTWCE Bronze Cup Champion (synthetic)",
                                              "car": "B1"}),
]
COMPUTED = ["aslms-2023-24/lmp2-champion", "aslms-2023-24/gt-champion"]
PLACED = [  # personal invitations, placed with a team and a car
    ("imsa-2023/jim-trueman-award", {"driver": "George KURTZ", "team": "CrowdStrike Racing by APR",
                                     "car": "04"}),
    ("imsa-2023/bob-akin-award", {"driver": "Brendan IRIBE", "team": "Inception Racing",
                                  "car": "70"}),
]
GRANTS = (
    [("Hypercar", "Cadillac Racing", "3"), ("Hypercar", "Porsche Penske Motorsport", "4"),
     ("Hypercar", "Hypercar Extra Entrant (synthetic)", "H1")]
    + [("LMP2", f"LMP2 Committee Entrant {c} (synthetic)", f"C{i}")
       for i, c in enumerate("ABCDEFGHIJ", start=1)]
)
GTWC_ASIA = "gtwc-asia-2023"
GTWC_ASIA_RESULTS = {  # synthetic: (car, team) in finishing order, all classified, 60 laps
    1: [("888", "Triple Eight"), ("6", "Absolute Racing"), ("911", "Pure Rxcing"),
        ("3", "Climax Racing")],
    2: [("6", "Absolute Racing"), ("888", "Triple Eight"), ("3", "Climax Racing"),
        ("911", "Pure Rxcing")],
}
JOINT_ROUTE = "sro-aco-2023/joint-gt-asia"
JOINT_CORRECTED_AT = datetime.fromisoformat("2024-03-01T12:00:00+08:00")  # synthetic appeal ruling

RESERVES = {
    "LMP2": [{"team": f"LMP2 Reserve {n} (synthetic)", "car": f"R{n}"} for n in (1, 2, 3)],
    "LMGT3": [{"team": f"LMGT3 Reserve {n} (synthetic)", "car": f"G{n}"} for n in (1, 2)],
}


def load_lemans_scenario(ledger: Ledger,
                         progress: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
    """Record the desk's facts (after the demo season); idempotent like the demo."""
    outcomes = load_demo(ledger, progress)

    def step(outcome: Outcome) -> None:
        outcomes.append(outcome)
        progress(outcome)

    step(register_season(ledger, SEASONS / f"{WEC}.toml", actor=ACTOR))
    _joint_classification(ledger, step)
    step(ledger.grant_award("imsa-2023/hypercar-invitation", name="IMSA Hypercar place 2024",
                            series="imsa", recipient={"team": "Whelen Cadillac Racing", "car": "311"},
                            effective_at=_at("2024-01-26T12:00:00-05:00"),
                            signed_by=DEMO_OFFICIAL, actor=ACTOR, source=SOURCE))
    _invitations(ledger, step)
    step(ledger.change_capacity(LEMANS, "LMP2", 16, reason="LMP2 grid raised to 16 cars",
                                effective_at=LMP2_RAISED, actor=ACTOR, source=SOURCE))
    for i, (class_id, team, car) in enumerate(GRANTS, start=1):
        step(ledger.grant_place(LEMANS, class_id, team=team, car=car, reference=f"SC-2024-{i:02d}",
                                reason="selection committee", effective_at=_at("2024-02-16T12:00:00+01:00"),
                                actor=ACTOR, source=SOURCE))
    for class_id, ranked in RESERVES.items():
        step(ledger.rank_reserves(LEMANS, class_id, ranked, reason="provisional reserve order",
                                  effective_at=FIRST_LIST, actor=ACTOR, source=SOURCE))
    if not _published(ledger, 1):
        step(ledger.publish_entry_list(LEMANS, note="provisional entry list",
                                       effective_at=FIRST_LIST, actor=ACTOR, source=SOURCE))
    step(ledger.transition_invitation(LEMANS, DECLINED_ROUTE, "declined", holder=None,
                                      reason="the team declined its invitation",
                                      effective_at=DECLINED_AT, actor=ACTOR, source=SOURCE))
    if not _published(ledger, 2):
        step(ledger.publish_entry_list(LEMANS, note="after the first decline",
                                       effective_at=SECOND_LIST, actor=ACTOR, source=SOURCE))
    return outcomes


def _joint_classification(ledger: Ledger, step: Callable[[Outcome], None]) -> None:
    """GT World Challenge Asia (synthetic), whose team points add to the AsLMS GT ones; Triple
    Eight leads the joint classification until a (synthetic) late disqualification."""
    step(register_season(ledger, SEASONS / f"{GTWC_ASIA}.toml", actor=ACTOR))
    for number, cars in GTWC_ASIA_RESULTS.items():
        rows = [ClassificationRow(position=i, car=car, team=team, class_name="GT3", drivers=(),
                                  vehicle="", status=ResultStatus.CLASSIFIED, laps=60,
                                  total_time=Decimal(10800 + i))
                for i, (car, team) in enumerate(cars, start=1)]
        flag = ledger.definition(GTWC_ASIA).round(number).flag_at  # explicit: reloads are resends
        step(ledger.import_classification(GTWC_ASIA, number, rows, status="official",
                                          published_at=flag, actor=ACTOR, source=SOURCE))
    step(ledger.impose_penalty(GTWC_ASIA, 2, DecisionTerms(DecisionKind.DISQUALIFICATION, "888"),
                               reference="GTWCA-R2-888-dsq", reason="appeal court ruling (synthetic)",
                               effective_at=JOINT_CORRECTED_AT, signed_by=DEMO_STEWARD,
                               actor=ACTOR, source=SOURCE))


def _invitations(ledger: Ledger, step: Callable[[Outcome], None]) -> None:
    confirmed_at, accepted_at = _at("2024-02-14T12:00:00+01:00"), _at("2024-02-15T12:00:00+01:00")
    for route, holder in CONFIRMED_ELSEWHERE:
        step(_transition(ledger, route, "confirmed", holder, confirmed_at))
        if route != DECLINED_ROUTE:  # still undecided when the first list is published
            step(_transition(ledger, route, "accepted", None, accepted_at))
    for route in COMPUTED:
        step(_transition(ledger, route, "confirmed", None, _at("2024-02-13T12:00:00+01:00")))
        step(_transition(ledger, route, "accepted", None, accepted_at))
    for route, holder in PLACED:
        step(_transition(ledger, route, "confirmed", None, confirmed_at))
        step(_transition(ledger, route, "accepted", holder, accepted_at))
    step(_transition(ledger, "imsa-2023/hypercar", "confirmed", None, confirmed_at))
    step(_transition(ledger, "imsa-2023/hypercar", "accepted", None, accepted_at))


def _transition(ledger: Ledger, route: str, status: str, holder: dict[str, str] | None,
                at: datetime) -> Outcome:
    return ledger.transition_invitation(LEMANS, route, status, holder=holder, reason="",
                                        effective_at=at, actor=ACTOR, source=SOURCE)


def _published(ledger: Ledger, version: int) -> bool:
    return any(d.value.kind == "published" and d.value.values["version"] == version
               for d in ledger.event_state(LEMANS).desk.get(LEMANS, []))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
