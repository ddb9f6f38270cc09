"""A person's public signing key, registered for one role, so their decisions can be verified
(and not disowned) later; revoked keys sign nothing new."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact
from domain.ids import natural_id, signing_key_path


class SigningKey(Aggregate):
    class Registered(Aggregate.Created, Fact):
        public_key: str
        person: str
        role: str

    class Revoked(Aggregate.Event, Fact):
        reason: str

    @staticmethod
    def create_id(public_key: str, **_: Any) -> UUID:
        return natural_id(signing_key_path(public_key))

    @event(Registered)
    def __init__(self, public_key: str, person: str, role: str, effective_at: datetime,
                 recorded_at: datetime, actor: str, source: str) -> None:
        self.public_key = public_key
        self.person = person
        self.role = role
        self.revoked = False

    @event(Revoked)
    def revoke(self, reason: str, effective_at: datetime, recorded_at: datetime, actor: str,
               source: str) -> None:
        self.revoked = True
