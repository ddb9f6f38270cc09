"""What a decision-maker signs: a canonical statement of the decision, built from the same
values the ledger records, so a signature binds exactly one decision and can be re-checked
from the log at any time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ALGORITHM = "ed25519"


def statement(kind: str, **fields: Any) -> bytes:
    """Canonical UTF-8 JSON: sorted keys, no spaces, datetimes in UTC ISO 8601, the rest as
    JSON or its string form. Producers in other languages reproduce it from docs/SIGNING.md."""
    body = {"kind": kind, **{k: _plain(v) for k, v in fields.items()}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


@dataclass(frozen=True)
class SignatureRecord:
    """Kept with the event: who signed (key and registered person) and the signature itself."""

    public_key: str
    person: str
    role: str
    value: str  # base64 of the 64-byte ed25519 signature over the statement

    def to_record(self) -> dict[str, str]:
        return {"algorithm": ALGORITHM, "public_key": self.public_key, "person": self.person,
                "role": self.role, "value": self.value}


def penalty_statement(kind: str, championship: str, round_number: int, reference: str, *,
                      terms: dict[str, Any] | None, reason: str, effective_at: datetime) -> bytes:
    """penalty.imposed / penalty.amended (with terms) and penalty.rescinded (terms None)."""
    fields: dict[str, Any] = {"championship": championship, "round": round_number,
                              "reference": reference, "reason": reason,
                              "effective_at": effective_at}
    if terms is not None:
        fields["terms"] = terms
    return statement(kind, **fields)


def award_statement(award: str, *, name: str, series: str, recipient: dict[str, Any],
                    effective_at: datetime) -> bytes:
    return statement("award.decided", award=award, name=name, series=series,
                     recipient=recipient, effective_at=effective_at)


def tie_statement(championship: str, class_id: str, order: list[str], *, reference: str,
                  reason: str, effective_at: datetime) -> bytes:
    return statement("tie.resolved", championship=championship, class_id=class_id, order=order,
                     reference=reference, reason=reason, effective_at=effective_at)
