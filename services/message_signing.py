"""Signing and reading the signatures of decision messages: a producer signs the same
statement the ledger rebuilds from the message's values (domain/signing.py)."""

from __future__ import annotations

from typing import Any

from domain.decisions import DecisionKind, DecisionTerms
from domain.signing import award_statement, penalty_statement, tie_statement
from services import contracts as c
from services.ledger import default_reference
from services.signatures import PresentedSignature, SeedSigner

SIGNED = (c.PenaltyImposedV1, c.PenaltyRescindedV1, c.AwardDecidedV1, c.TieResolvedV1)


def terms_of(m: c.PenaltyImposedV1) -> DecisionTerms:
    return DecisionTerms(DecisionKind(m.decision), m.car, seconds=m.seconds, laps=m.laps,
                         points=m.points)


def recipient_of(r: c.RecipientV1 | None) -> dict[str, Any] | None:
    return None if r is None else r.model_dump(exclude_none=True)


def statement_of(m: c.Contract) -> bytes:
    """The bytes the deciding person signs for this message."""
    if isinstance(m, c.PenaltyImposedV1):  # and PenaltyAmendedV1
        terms = terms_of(m)
        ref = m.reference or default_reference(terms, m.effective_at)
        return penalty_statement(c.kind_of(type(m)), m.championship, m.round, ref,
                                 terms=terms.to_record(), reason=m.reason,
                                 effective_at=m.effective_at)
    if isinstance(m, c.PenaltyRescindedV1):
        return penalty_statement("penalty.rescinded", m.championship, m.round, m.reference,
                                 terms=None, reason=m.reason, effective_at=m.effective_at)
    if isinstance(m, c.AwardDecidedV1):
        return award_statement(m.award, name=m.name, series=m.series,
                               recipient=recipient_of(m.recipient) or {},
                               effective_at=m.effective_at)
    if isinstance(m, c.TieResolvedV1):
        return tie_statement(m.championship, m.class_, list(m.order), reference=m.reference,
                             reason=m.reason, effective_at=m.effective_at)
    raise TypeError(f"a {c.kind_of(type(m))} message is not a signed decision")


def signed(m: c.Contract, signer: SeedSigner) -> c.Contract:
    """The message with its `signature` field set by `signer`."""
    value = signer.sign_b64(statement_of(m))
    signature = c.SignatureV1(public_key=signer.public_key, value=value)
    return m.model_copy(update={"signature": signature})


def presented(m: Any) -> PresentedSignature | None:
    """The signature a message carries, for the ledger to verify (None: unsigned)."""
    s: c.SignatureV1 | None = m.signature
    return None if s is None else PresentedSignature(s.public_key, s.value)
