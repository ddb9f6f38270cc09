"""The demo season: the real Asian Le Mans Series 2023/24 and the Le Mans 2024 invitations.

R1–R4 are their official files. R5 is first published as the provisional at-the-flag
classification, then corrected by the stewards' three real penalties, then declared official.
Every step is idempotent: loading twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from domain.decisions import DecisionKind, DecisionTerms
from services.importing import import_alkamel_file, register_season
from services.ledger import Ledger
from services.outcome import Outcome
from services.signatures import SeedSigner

SEASONS = Path(__file__).parent / "seasons"
ASLMS = "aslms-2023-24"
LEMANS = "lemans-2024"
ACTOR = "paddock-demo"

# Demo-only signing keys, derived from public text so the demo is repeatable: they prove nothing
# and must never be registered in a real ledger. Real keys come from `paddock keys generate`.
DEMO_STEWARD = SeedSigner.from_raw(hashlib.sha256(b"paddock demo steward - not a secret").digest())
DEMO_OFFICIAL = SeedSigner.from_raw(hashlib.sha256(b"paddock demo official - not a secret").digest())
DEMO_KEYS_AT = datetime.fromisoformat("2023-10-01T00:00:00+00:00")
DEMO_KEYS = [(DEMO_STEWARD, "AsLMS stewards (demo key)", "steward"),
             (DEMO_OFFICIAL, "IMSA officials (demo key)", "official")]

OFFICIAL_FILES = {
    1: "R1_sepang_2023-12-02_race1_hour4.csv",
    2: "R2_sepang_2023-12-03_race2_hour4.csv",
    3: "R3_dubai_2024-02-04_race_hour4.csv",
    4: "R4_abudhabi_2024-02-10_race1_hour4.csv",
}
R5_AT_FLAG = "R5_abudhabi_2024-02-11_race2_at-flag_constructed.csv"
R5_OFFICIAL = "R5_abudhabi_2024-02-11_race2_hour4.csv"
R5_PUBLISHED = datetime.fromisoformat("2024-02-11T18:00:00+04:00")
R5_DECIDED = datetime.fromisoformat("2024-02-11T21:00:00+04:00")
R5_OFFICIAL_AT = datetime.fromisoformat("2024-02-11T22:00:00+04:00")

# Known poles (PROVENANCE.md), in force from their qualifying session: its start, the only time
# the shared qualifying files give (their names). R5's session is not in them: its flag.
POLES: list[tuple[int, str, str, datetime | None]] = [
    (1, "LMP2", "90", datetime.fromisoformat("2023-12-02T10:15:00+08:00")),
    (1, "LMP3", "20", datetime.fromisoformat("2023-12-02T10:15:00+08:00")),
    (1, "GT", "42", datetime.fromisoformat("2023-12-02T09:50:00+08:00")),
    (3, "LMP2", "55", datetime.fromisoformat("2024-02-03T14:55:00+04:00")),
    (4, "LMP2", "99", datetime.fromisoformat("2024-02-10T11:26:00+04:00")),
    (5, "LMP2", "99", None),
]


@dataclass(frozen=True)
class Penalty:
    reference: str
    terms: DecisionTerms
    reason: str


R5_PENALTIES = [
    Penalty("R5-car24-min-drive-time",
            DecisionTerms(DecisionKind.LAP_PENALTY, "24", seconds=Decimal(1), laps=1),
            "a driver short of the minimum drive time"),
    Penalty("R5-car3-time", DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(65)),
            "post-race time penalty of 1'05\""),
    Penalty("R5-car19-max-drive-time",
            DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(106)),
            "maximum drive time exceeded"),
]

AWARDS = [
    ("imsa-2023/jim-trueman-award", "Jim Trueman Award 2023", "George KURTZ", "2023-10-14T22:00:00-04:00"),
    ("imsa-2023/bob-akin-award", "Bob Akin Award 2023", "Brendan IRIBE", "2023-10-14T22:00:00-04:00"),
]

# Dates at which the demo shows the standings and invitations, with what each one shows.
TELLING_DATES = [
    ("2023-12-04T00:00:00+08:00", "after the two Sepang races"),
    ("2024-02-05T00:00:00+04:00", "after Dubai: 99 Racing leads LMP2"),
    ("2024-02-11T19:00:00+04:00", "R5 at the flag, before the stewards' decisions"),
    ("2024-02-12T00:00:00+04:00", "after the decisions: the final standings"),
]


def season_dir() -> Path:
    return SEASONS / ASLMS


def register_demo_keys(ledger: Ledger) -> list[Outcome]:
    """The demo's stewards' and officials' keys, so its signed decisions verify."""
    return [ledger.register_signing_key(signer.public_key, person=person, role=role,
                                        effective_at=DEMO_KEYS_AT, actor=ACTOR, source="demo:keys")
            for signer, person, role in DEMO_KEYS]


def load_demo(ledger: Ledger, progress: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
    """Record the whole demo season; returns what each step did."""
    outcomes: list[Outcome] = []

    def step(outcome: Outcome) -> None:
        outcomes.append(outcome)
        progress(outcome)

    for outcome in register_demo_keys(ledger):
        step(outcome)
    step(register_season(ledger, SEASONS / f"{ASLMS}.toml", actor=ACTOR))
    step(register_season(ledger, SEASONS / f"{LEMANS}.toml", actor=ACTOR))
    for award, name, driver, at in AWARDS:
        step(ledger.grant_award(award, name=name, series="imsa", recipient={"driver": driver},
                                effective_at=datetime.fromisoformat(at),
                                signed_by=DEMO_OFFICIAL, actor=ACTOR,
                                source="demo:imsa-press-release"))
    for number, file in OFFICIAL_FILES.items():
        step(import_alkamel_file(ledger, season_dir() / file, championship=ASLMS,
                                 round_number=number, status="official", published_at=None,
                                 actor=ACTOR))
    step(import_alkamel_file(ledger, season_dir() / R5_AT_FLAG, championship=ASLMS, round_number=5,
                             status="provisional", published_at=R5_PUBLISHED, actor=ACTOR))
    for number, class_id, car, qualified_at in POLES:
        step(ledger.record_pole(ASLMS, number, class_id, car, effective_at=qualified_at,
                                actor=ACTOR, source="demo:known-poles"))
    for p in R5_PENALTIES:
        step(ledger.impose_penalty(ASLMS, 5, p.terms, reference=p.reference, reason=p.reason,
                                   effective_at=R5_DECIDED, signed_by=DEMO_STEWARD,
                                   actor="stewards:aslms",
                                   source="demo:stewards-decisions"))
    step(ledger.declare_official(ASLMS, 5, effective_at=R5_OFFICIAL_AT, actor=ACTOR,
                                 source="demo:official-classification"))
    return outcomes
