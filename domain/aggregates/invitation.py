"""The organiser's decisions on one invitation route of a target event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact
from domain.errors import InvalidInputError, TimeOrderError
from domain.ids import invitation_path, natural_id
from domain.invitations import check_transition, needs_new_holder


class Invitation(Aggregate):
    class Opened(Aggregate.Created, Fact):
        event_id: str
        route: str

    class Transitioned(Aggregate.Event, Fact):
        status: str
        holder: dict[str, Any] | None
        reason: str

    @staticmethod
    def create_id(event_id: str, route: str, **_: Any) -> UUID:
        return natural_id(invitation_path(event_id, route))

    @event(Opened)
    def __init__(self, event_id: str, route: str, effective_at: datetime, recorded_at: datetime,
                 actor: str, source: str) -> None:
        self.event_id = event_id
        self.route = route
        self.status: str | None = None
        self.holder: dict[str, Any] | None = None
        self.last_effective_at: datetime | None = None

    @property
    def where(self) -> str:
        return f"invitation {self.event_id}/{self.route}"

    def is_repeat(self, status: str, effective_at: datetime) -> bool:
        return self.status == status and self.last_effective_at == effective_at

    def transition(self, status: str, holder: dict[str, Any] | None, reason: str,
                   effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        check_transition(self.status, status, where=self.where)
        if self.last_effective_at is not None and effective_at < self.last_effective_at:
            raise TimeOrderError(
                f"{status} at {effective_at.isoformat()} is before the previous decision "
                f"({self.last_effective_at.isoformat()})",
                where=self.where,
            )
        if needs_new_holder(status) and not holder:
            raise InvalidInputError("a reallocation names the new holder", where=self.where)
        self._transitioned(status, holder or self.holder, reason, effective_at, recorded_at,
                           actor, source)

    @event(Transitioned)
    def _transitioned(self, status: str, holder: dict[str, Any] | None, reason: str,
                      effective_at: datetime, recorded_at: datetime, actor: str,
                      source: str) -> None:
        self.status = status
        self.holder = holder
        self.last_effective_at = effective_at
