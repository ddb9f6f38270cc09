"""A round as it stood at (as_of, known_at): the demo's R5 before and after its decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.classification import apply_adjustments
from domain.decisions import DecisionKind, DecisionTerms
from domain.rules import ChampionshipDefinition
from projections.round_state import round_state
from services.alkamel import parse_alkamel
from services.demo import (
    ASLMS,
    DEMO_STEWARD,
    R5_AT_FLAG,
    R5_DECIDED,
    R5_OFFICIAL,
    R5_OFFICIAL_AT,
    R5_PUBLISHED,
    SEASONS,
    load_demo,
    register_demo_keys,
    season_dir,
)
from services.importing import register_season
from services.ledger import Ledger

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def _ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                  clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


def _cars(path: Path) -> list[str]:
    return [r.car for r in parse_alkamel(path.read_bytes(), source=path.name)]


@pytest.fixture(scope="module")
def demo() -> tuple[Ledger, ChampionshipDefinition]:
    ledger = _ledger()
    load_demo(ledger)
    return ledger, ledger.definition(ASLMS)


@pytest.mark.parametrize(
    ("as_of", "status", "file", "decisions"),
    [
        (R5_PUBLISHED, "provisional", R5_AT_FLAG, []),
        (R5_DECIDED, "provisional", R5_OFFICIAL,
         ["R5-car19-max-drive-time", "R5-car24-min-drive-time", "R5-car3-time"]),
        (R5_OFFICIAL_AT, "official", R5_OFFICIAL,
         ["R5-car19-max-drive-time", "R5-car24-min-drive-time", "R5-car3-time"]),
    ],
)
def test_r5_before_and_after_the_stewards(demo: tuple[Ledger, ChampionshipDefinition],
                                          as_of: datetime, status: str, file: str,
                                          decisions: list[str]) -> None:
    ledger, defn = demo
    rs = round_state(ledger.state(), defn, 5, as_of, LATER)
    assert rs is not None
    assert rs.status == status
    assert rs.published_at == R5_PUBLISHED
    assert [r.car for r in rs.rows] == _cars(season_dir() / file)
    assert [d.reference for d in rs.decisions] == decisions
    assert rs.poles == {"LMP2": "99"}


def test_r5_does_not_exist_before_its_publication(
        demo: tuple[Ledger, ChampionshipDefinition]) -> None:
    ledger, defn = demo
    assert round_state(ledger.state(), defn, 5, datetime(2024, 2, 11, 13, 59, tzinfo=UTC),
                       LATER) is None
    assert round_state(ledger.state(), defn, 5, LATER, datetime(2025, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize("reference", ["a-exclusion"])
def test_rescinding_one_decision_does_not_undo_another_on_the_same_car(reference: str) -> None:
    _assert_car_24_excluded(reference)


@pytest.mark.parametrize("reference", ["z-exclusion"])
def test_rescinding_one_decision_keeps_a_later_referenced_exclusion(reference: str) -> None:
    _assert_car_24_excluded(reference)


def _assert_car_24_excluded(exclusion_reference: str) -> None:
    """#24 disqualified (folded into the official file), then excluded by a second decision, then
    the disqualification is rescinded on appeal: the exclusion must still hold."""
    ledger = _ledger()
    register_demo_keys(ledger)
    register_season(ledger, SEASONS / f"{ASLMS}.toml", actor="test")
    rows = parse_alkamel((season_dir() / R5_AT_FLAG).read_bytes(), source=R5_AT_FLAG)

    def at(hour: int) -> datetime:
        return datetime(2024, 2, 11, hour, tzinfo=UTC)

    ledger.import_classification(ASLMS, 5, rows, status="provisional", published_at=at(14),
                                 actor="test", source="flag")
    dsq = DecisionTerms(DecisionKind.DISQUALIFICATION, "24")
    ledger.impose_penalty(ASLMS, 5, dsq, reference="m-dsq", reason="", effective_at=at(15),
                          signed_by=DEMO_STEWARD, actor="test", source="stewards")
    ledger.import_classification(ASLMS, 5, apply_adjustments(rows, {"24": dsq.adjustment()}),
                                 status="official", published_at=at(16), actor="test",
                                 source="official")
    ledger.impose_penalty(ASLMS, 5, DecisionTerms(DecisionKind.EXCLUSION, "24"),
                          reference=exclusion_reference, reason="", effective_at=at(17),
                          signed_by=DEMO_STEWARD, actor="test", source="stewards")
    ledger.rescind_penalty(ASLMS, 5, "m-dsq", reason="appeal upheld", effective_at=at(18),
                           signed_by=DEMO_STEWARD, actor="test", source="court of appeal")
    rs = round_state(ledger.state(), ledger.definition(ASLMS), 5, at(19), LATER)
    assert rs is not None
    assert [d.reference for d in rs.decisions] == [exclusion_reference]
    car_24 = next(r for r in rs.rows if r.car == "24")
    assert car_24.status.value == "excluded"
    assert rs.rows[-1].car == "24"
