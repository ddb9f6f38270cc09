"""Re-checks, from the log alone, every signature kept with a decision: the statement is rebuilt
from the recorded event and verified against the key it names, so a decision cannot be
disowned (nor a recorded one altered) without this failing."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.stewards_decision import StewardsDecision
from domain.errors import SignatureError
from domain.signing import award_statement, penalty_statement, tie_statement
from services.signatures import verify


@dataclass(frozen=True)
class SignatureFinding:
    position: int
    what: str
    problem: str


@dataclass(frozen=True)
class SignatureAudit:
    checked: int
    findings: tuple[SignatureFinding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def audit_signatures(events: Iterable[tuple[int, Any]]) -> SignatureAudit:
    """Every signed decision in `events` (log order), with the ones whose signature fails."""
    decisions: dict[Any, tuple[str, int, str]] = {}
    championships: dict[Any, str] = {}
    findings: list[SignatureFinding] = []
    checked = 0
    for position, event in events:
        if isinstance(event, StewardsDecision.PenaltyImposed):
            decisions[event.originator_id] = (event.championship, event.round_number, event.reference)
        elif isinstance(event, Championship.Registered):
            championships[event.originator_id] = event.championship
        statement = _statement(event, decisions, championships)
        if statement is None:
            continue
        checked += 1
        problem = _check(event.signature, statement)
        if problem:
            findings.append(SignatureFinding(position, type(event).__qualname__, problem))
    return SignatureAudit(checked, tuple(findings))


def _statement(event: Any, decisions: dict[Any, tuple[str, int, str]],
               championships: dict[Any, str]) -> bytes | None:
    if isinstance(event, (StewardsDecision.PenaltyImposed, StewardsDecision.PenaltyAmended,
                          StewardsDecision.PenaltyRescinded)):
        championship, number, reference = decisions[event.originator_id]
        kind = {StewardsDecision.PenaltyImposed: "penalty.imposed",
                StewardsDecision.PenaltyAmended: "penalty.amended",
                StewardsDecision.PenaltyRescinded: "penalty.rescinded"}[type(event)]
        return penalty_statement(kind, championship, number, reference,
                                 terms=getattr(event, "terms", None), reason=event.reason,
                                 effective_at=event.effective_at)
    if isinstance(event, Award.Granted):
        return award_statement(event.award, name=event.name, series=event.series,
                               recipient=dict(event.recipient), effective_at=event.effective_at)
    if isinstance(event, Championship.TieResolved):
        return tie_statement(championships[event.originator_id], event.class_id,
                             list(event.order), reference=event.reference, reason=event.reason,
                             effective_at=event.effective_at)
    return None


def _check(signature: dict[str, str], statement: bytes) -> str | None:
    try:
        value = base64.b64decode(signature["value"], validate=True)
        verify(signature["public_key"], statement, value)
    except SignatureError as error:
        return error.message
    except (KeyError, binascii.Error, ValueError) as error:
        return f"the kept signature is malformed ({type(error).__name__})"
    return None
