"""Signing keys of stewards and officials, and the check every signed decision passes before
it is appended; part of the Ledger (a mixin), kept apart so each module has one job."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from domain.aggregates.signing_key import SigningKey
from domain.authority import SIGNING_ROLES, Role
from domain.errors import ConflictingFactError, InvalidInputError, SignatureError
from domain.signing import SignatureRecord
from domain.timing import require_aware
from services.ledger_port import LedgerPort
from services.outcome import DUPLICATE, Outcome
from services.signatures import Signer, is_public_key, verify


@dataclass(frozen=True)
class _Verified:
    record: SignatureRecord
    actor: str


class SigningDesk(LedgerPort):
    """Mixed into the Ledger (see services/ledger_port.py for what it uses of it)."""

    def register_signing_key(self, public_key: str, *, person: str, role: str,
                             effective_at: datetime, actor: str, source: str) -> Outcome:
        """Whoever administers the ledger vouches that this key is this person's."""
        require_aware(effective_at, field="effective_at")
        if not is_public_key(public_key):
            raise InvalidInputError(f"'{public_key}' is not an nkeys user public key (56 characters "
                                    "starting with 'U', as printed by `paddock keys generate`)")
        if role not in {r.value for r in SIGNING_ROLES}:
            raise InvalidInputError(f"role '{role}' signs nothing; keys are registered for "
                                    f"{' or '.join(sorted(r.value for r in SIGNING_ROLES))}")
        if not person.strip():
            raise InvalidInputError("a signing key is registered for a named person")
        known = self.keys_state().signing_keys.get(public_key)
        if known is not None:
            if (known.person, known.role) == (person, role):
                return Outcome(DUPLICATE, f"key {public_key} is already registered for {person}")
            raise ConflictingFactError(f"key {public_key} is already registered for "
                                       f"{known.person} ({known.role})")
        key = SigningKey(public_key=public_key, person=person, role=role,
                         effective_at=effective_at, recorded_at=self.clock(), actor=actor,
                         source=source)
        return self._append(f"signing key of {person} ({role}) registered", key)

    def revoke_signing_key(self, public_key: str, *, reason: str, effective_at: datetime,
                           actor: str, source: str) -> Outcome:
        require_aware(effective_at, field="effective_at")
        key = self.find(SigningKey, public_key=public_key)
        if key is None:
            raise SignatureError(f"key {public_key} is not registered")
        if key.revoked:
            return Outcome(DUPLICATE, f"key {public_key} was already revoked")
        key.revoke(reason, effective_at, self.clock(), actor, source)
        return self._append(f"signing key of {key.person} revoked", key)

    def _verified(self, role: Role, signer: Signer | None, statement: bytes) -> _Verified:
        """The signature record to keep with the decision, once the key is known, holds the
        role, is not revoked and has signed exactly this statement; SignatureError otherwise."""
        if signer is None:
            raise SignatureError(f"a {role.value}'s decision must be signed with the deciding "
                                 "person's registered key (CLI: --sign-with SEEDFILE; NATS: the "
                                 "message's `signature` field)")
        key = self.keys_state().signing_keys.get(signer.public_key)
        if key is None:
            raise SignatureError(f"key {signer.public_key} is not registered: register it with "
                                 "`paddock keys register` before signing decisions with it")
        if key.revoked_at is not None:
            raise SignatureError(f"key {signer.public_key} of {key.person} was revoked "
                                 f"(log position {key.revoked_at}); it signs nothing new")
        if key.role != role.value:
            raise SignatureError(f"key {signer.public_key} belongs to {key.person}, a {key.role}: "
                                 f"only a {role.value} may sign this decision")
        value = signer.signature_for(statement)
        verify(signer.public_key, statement, value)
        record = SignatureRecord(signer.public_key, key.person, key.role,
                                 base64.b64encode(value).decode())
        return _Verified(record, f"{key.role}:{key.person}")
