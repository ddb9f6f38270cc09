"""Aggregate rules that guard the log: official marks, invitation order, decision changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.stewards_decision import StewardsDecision
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import (
    ClassificationMissingError,
    ConflictingFactError,
    InvalidInputError,
    InvalidTransitionError,
    TimeOrderError,
)

T = datetime(2024, 2, 11, 14, 0, tzinfo=UTC)
REC = datetime(2026, 1, 1, tzinfo=UTC)


def _round() -> RaceClassification:
    return RaceClassification(championship="aslms-2023-24", round_number=5, effective_at=T,
                              recorded_at=REC, actor="test", source="test")


@pytest.mark.parametrize("order", [("official", "provisional"), ("provisional", "official")])
def test_an_official_version_outranks_a_provisional_one_at_the_same_time(
        order: tuple[str, str]) -> None:
    agg = _round()
    for i, status in enumerate(order):
        agg.publish(status, f"digest-{i}", [], T, REC, "test", "test")
    assert agg.is_official_at(T)
    assert agg.declare_official(T, REC, "test", "test") is False  # nothing to mark


def test_a_later_provisional_version_is_not_official_until_marked() -> None:
    agg = _round()
    agg.publish("official", "d1", [], T, REC, "test", "test")
    later = T + timedelta(hours=2)
    agg.publish("provisional", "d2", [], later, REC, "test", "test")
    assert agg.is_official_at(T + timedelta(hours=1))
    assert not agg.is_official_at(later)
    assert agg.declare_official(later + timedelta(hours=1), REC, "test", "test") is True
    assert agg.is_official_at(later + timedelta(hours=1))
    assert not agg.is_official_at(later)
    assert agg.declare_official(later + timedelta(hours=2), REC, "test", "test") is False


def test_declaring_official_needs_a_classification_published_before() -> None:
    agg = _round()
    with pytest.raises(ClassificationMissingError):
        agg.declare_official(T, REC, "test", "test")
    agg.publish("provisional", "d1", [], T, REC, "test", "test")
    with pytest.raises(TimeOrderError, match="before its first classification was published"):
        agg.declare_official(T - timedelta(minutes=1), REC, "test", "test")


def test_poles_by_time() -> None:
    agg = _round()
    assert agg.record_pole("LMP2", "99", T, REC, "test", "test") is True
    assert agg.record_pole("LMP2", "99", T, REC, "test", "test") is False
    assert agg.record_pole("LMP2", "4", T + timedelta(hours=1), REC, "test", "test") is True
    assert agg.pole_at("LMP2", T - timedelta(seconds=1)) is None
    assert agg.pole_at("LMP2", T) == "99"
    assert agg.pole_at("LMP2", T + timedelta(hours=2)) == "4"
    assert agg.pole_at("GT", T + timedelta(hours=2)) is None


def _invitation() -> Invitation:
    return Invitation(event_id="lemans-2024", route="aslms-2023-24/lmp2-champion",
                      effective_at=T, recorded_at=REC, actor="aco", source="test")


def test_invitation_lifecycle_and_its_guards() -> None:
    inv = _invitation()
    holder = {"car": "4", "team": "CrowdStrike Racing by APR"}
    with pytest.raises(InvalidTransitionError, match="cannot go from not yet confirmed to accepted"):
        inv.transition("accepted", None, "", T, REC, "aco", "test")
    inv.transition("confirmed", holder, "", T, REC, "aco", "test")
    with pytest.raises(TimeOrderError, match="is before the previous decision"):
        inv.transition("accepted", None, "", T - timedelta(days=1), REC, "aco", "test")
    inv.transition("declined", None, "", T + timedelta(days=1), REC, "aco", "test")
    assert (inv.status, inv.holder) == ("declined", holder)  # the holder is kept
    with pytest.raises(InvalidInputError, match="a reallocation names the new holder"):
        inv.transition("reallocated", None, "", T + timedelta(days=2), REC, "aco", "test")
    other = {"car": "22", "team": "Proton Competition"}
    inv.transition("reallocated", other, "", T + timedelta(days=2), REC, "aco", "test")
    assert (inv.status, inv.holder) == ("reallocated", other)
    assert inv.is_repeat("reallocated", T + timedelta(days=2))
    assert not inv.is_repeat("reallocated", T + timedelta(days=3))


SIG = {"algorithm": "ed25519", "public_key": "U" + "A" * 55, "person": "a steward",
       "role": "steward", "value": "c2lnbmF0dXJl"}  # the aggregate keeps it; the ledger checks it


def _decision() -> StewardsDecision:
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(65))
    return StewardsDecision(championship="aslms-2023-24", round_number=5, reference="R5-car3",
                            terms=terms.to_record(), reason="", signature=SIG, effective_at=T,
                            recorded_at=REC,
                            actor="stewards", source="test")


def test_decision_amend_and_rescind() -> None:
    agg = _decision()
    same = DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(65))
    assert agg.is_same(same.to_record(), T)
    assert agg.amend(same, "", SIG, T + timedelta(hours=1), REC, "stewards", "test") is False
    other_car = DecisionTerms(DecisionKind.TIME_PENALTY, "4", seconds=Decimal(65))
    with pytest.raises(ConflictingFactError, match="concerns car #3, not #4"):
        agg.amend(other_car, "", SIG, T + timedelta(hours=1), REC, "stewards", "test")
    reduced = DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(30))
    with pytest.raises(TimeOrderError):
        agg.amend(reduced, "", SIG, T - timedelta(hours=1), REC, "stewards", "test")
    assert agg.amend(reduced, "appeal", SIG, T + timedelta(hours=1), REC, "stewards", "test") is True
    assert agg.terms == reduced.to_record()
    assert not agg.is_same(reduced.to_record(), T)  # amended: no longer a plain resend
    assert agg.rescind("appeal", SIG, T + timedelta(hours=2), REC, "court", "test") is True
    assert agg.rescind("appeal", SIG, T + timedelta(hours=3), REC, "court", "test") is False
    with pytest.raises(ConflictingFactError, match="was rescinded"):
        agg.amend(same, "", SIG, T + timedelta(hours=4), REC, "stewards", "test")
