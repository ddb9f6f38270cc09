"""Signed decisions: the statement is canonical, keys are nkeys user keys, and the ledger
refuses a decision whose signature is missing, wrong, by an unknown, revoked or other-role key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.authority import KIND_ROLES, ForbiddenError, Role, check_role, kinds_of
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import ConflictingFactError, InvalidInputError, SignatureError
from domain.signing import penalty_statement, statement
from infra.store import store_settings
from services.demo import ASLMS, DEMO_OFFICIAL, DEMO_STEWARD, R5_DECIDED, load_demo
from services.ledger import Ledger
from services.outcome import DUPLICATE
from services.signature_audit import audit_signatures
from services.signatures import PresentedSignature, SeedSigner, is_public_key, verify

AT = datetime(2024, 2, 20, 10, tzinfo=UTC)
TERMS = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "3", points=Decimal(5))


@pytest.fixture(scope="module")
def demo_ledger() -> Ledger:
    ledger = Ledger(env=store_settings("memory://"))
    load_demo(ledger)
    return ledger


def impose(ledger: Ledger, signer: SeedSigner | PresentedSignature | None, ref: str = "R5-x"):  # type: ignore[no-untyped-def]
    return ledger.impose_penalty(ASLMS, 5, TERMS, reference=ref, reason="test", effective_at=AT,
                                 signed_by=signer, actor="cli:someone", source="test")


def test_the_statement_is_canonical_whatever_the_timezone_and_key_order() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    a = statement("penalty.imposed", b=1, a={"y": Decimal("2.5"), "x": None}, at=AT)
    b = statement("penalty.imposed", at=paris, a={"x": None, "y": "2.5"}, b=1)
    assert a == b == (b'{"a":{"x":null,"y":"2.5"},"at":"2024-02-20T10:00:00+00:00","b":1,'
                      b'"kind":"penalty.imposed"}')


@pytest.mark.parametrize("value, expected", [
    (DEMO_STEWARD.public_key, True),
    (DEMO_STEWARD.public_key[:-1] + ("A" if DEMO_STEWARD.public_key[-1] != "A" else "B"), False),
    ("U" + "A" * 55, False),  # checksum wrong
    (DEMO_STEWARD.seed.decode(), False),  # a seed is not a public key
    ("", False),
])
def test_public_keys_are_checked_with_their_checksum(value: str, expected: bool) -> None:
    assert is_public_key(value) is expected


def test_a_signature_verifies_only_for_its_statement_and_key() -> None:
    signature = DEMO_STEWARD.signature_for(b"decision")
    verify(DEMO_STEWARD.public_key, b"decision", signature)
    with pytest.raises(SignatureError, match="does not match"):
        verify(DEMO_STEWARD.public_key, b"decision!", signature)
    with pytest.raises(SignatureError, match="does not match"):
        verify(DEMO_OFFICIAL.public_key, b"decision", signature)


def test_every_kind_has_one_role_and_roles_are_checked() -> None:
    assert {r for r in KIND_ROLES.values()} == set(Role) - {Role.SUBSCRIBER}
    assert kinds_of(Role.STEWARD) == ["penalty.amended", "penalty.imposed", "penalty.rescinded"]
    assert check_role("pole.recorded", "timing") is Role.TIMING
    with pytest.raises(ForbiddenError, match="a timing may not record 'penalty.imposed': only a steward"):
        check_role("penalty.imposed", "timing")
    with pytest.raises(ForbiddenError, match="a subscriber may not record"):
        check_role("classification.published", "subscriber")


@pytest.mark.parametrize("signer, message", [
    (None, "must be signed with the deciding person's registered key"),
    (SeedSigner.from_raw(b"\x01" * 32), "is not registered: register it"),
    (DEMO_OFFICIAL, "belongs to IMSA officials .demo key., a official: only a steward may sign"),
    (PresentedSignature(DEMO_STEWARD.public_key, "not base64!"), "not valid base64"),
    (PresentedSignature(DEMO_STEWARD.public_key,
                        DEMO_STEWARD.sign_b64(b"another decision")), "does not match this decision"),
])
def test_a_badly_signed_decision_is_refused_and_nothing_is_appended(
        demo_ledger: Ledger, signer: SeedSigner | PresentedSignature | None, message: str) -> None:
    head = demo_ledger.head()
    with pytest.raises(SignatureError, match=message):
        impose(demo_ledger, signer)
    assert demo_ledger.head() == head


def test_the_signature_is_kept_with_the_event_and_names_the_signer() -> None:
    ledger = Ledger(env=store_settings("memory://"))
    load_demo(ledger)
    out = impose(ledger, DEMO_STEWARD)
    assert out.accepted
    event = ledger.read_events(out.positions[0] - 1)[0][1]
    assert event.actor == "steward:AsLMS stewards (demo key)"
    assert event.signature["public_key"] == DEMO_STEWARD.public_key
    assert event.signature["algorithm"] == "ed25519"
    expected = penalty_statement("penalty.imposed", ASLMS, 5, "R5-x", terms=TERMS.to_record(),
                                 reason="test", effective_at=AT)
    assert event.signature["value"] == DEMO_STEWARD.sign_b64(expected)
    assert impose(ledger, DEMO_STEWARD).status == DUPLICATE
    audit = audit_signatures(ledger.read_events(0))
    assert audit.ok and audit.checked == 6  # 3 R5 penalties, 2 awards, this one


def test_a_revoked_key_signs_nothing_new_but_its_past_decisions_stand() -> None:
    ledger = Ledger(env=store_settings("memory://"))
    load_demo(ledger)
    before = ledger.standings(ASLMS, as_of=R5_DECIDED + timedelta(hours=1))["classes"]
    out = ledger.revoke_signing_key(DEMO_STEWARD.public_key, reason="laptop stolen", effective_at=AT,
                                    actor="admin", source="test")
    assert out.accepted
    head = ledger.head()
    with pytest.raises(SignatureError, match="was revoked"):
        impose(ledger, DEMO_STEWARD)
    assert ledger.head() == head
    assert ledger.standings(ASLMS, as_of=R5_DECIDED + timedelta(hours=1))["classes"] == before
    assert ledger.revoke_signing_key(DEMO_STEWARD.public_key, reason="again", effective_at=AT,
                                     actor="admin", source="test").status == DUPLICATE


@pytest.mark.parametrize("key, person, role, error, message", [
    ("UNOTAKEY", "Jane", "steward", InvalidInputError, "not an nkeys user public key"),
    (None, "Jane", "timing", InvalidInputError, "role 'timing' signs nothing"),
    (None, " ", "steward", InvalidInputError, "a named person"),
    (DEMO_STEWARD.public_key, "Someone Else", "steward", ConflictingFactError,
     "already registered for AsLMS stewards"),
])
def test_key_registration_is_checked(demo_ledger: Ledger, key: str | None, person: str, role: str,
                                     error: type[Exception], message: str) -> None:
    head = demo_ledger.head()
    with pytest.raises(error, match=message):
        demo_ledger.register_signing_key(key or SeedSigner.generate().public_key, person=person,
                                         role=role, effective_at=AT, actor="admin", source="test")
    assert demo_ledger.head() == head


def test_seed_files_that_are_not_seeds_are_named(tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "seed.nk"
    bad.write_text(DEMO_STEWARD.public_key)
    with pytest.raises(SignatureError, match="seed.nk: not an nkeys user seed"):
        SeedSigner.from_file(bad)
    good = tmp_path / "good.nk"
    good.write_text(DEMO_STEWARD.seed.decode() + "\n")
    assert SeedSigner.from_file(good).public_key == DEMO_STEWARD.public_key


def test_the_documented_statement_is_the_one_signed() -> None:
    """docs/SIGNING.md shows the statement of the R5 penalty on #19 for other-language producers."""
    from pathlib import Path

    from services.demo import R5_PENALTIES

    p = next(p for p in R5_PENALTIES if p.terms.car == "19")
    built = penalty_statement("penalty.imposed", ASLMS, 5, p.reference, terms=p.terms.to_record(),
                              reason=p.reason, effective_at=R5_DECIDED)
    doc = (Path(__file__).parents[2] / "docs" / "SIGNING.md").read_text(encoding="utf-8")
    assert built.decode() in doc
