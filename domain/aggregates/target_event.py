"""An event that invites entries (Le Mans 2024): capacity, classes and invitation routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact, check_revision_time
from domain.ids import natural_id, target_event_path


class TargetEvent(Aggregate):
    class Registered(Aggregate.Created, Fact):
        event_id: str
        definition: dict[str, Any]

    class Revised(Aggregate.Event, Fact):
        definition_version: int
        definition: dict[str, Any]

    @staticmethod
    def create_id(event_id: str, **_: Any) -> UUID:
        return natural_id(target_event_path(event_id))

    @event(Registered)
    def __init__(self, event_id: str, definition: dict[str, Any], effective_at: datetime,
                 recorded_at: datetime, actor: str, source: str) -> None:
        self.event_id = event_id
        self.definitions: list[dict[str, Any]] = [definition]
        self.effective_times: list[datetime] = [effective_at]

    def knows_definition(self, definition: dict[str, Any]) -> bool:
        return definition in self.definitions

    def revise(self, definition: dict[str, Any], effective_at: datetime, recorded_at: datetime,
               actor: str, source: str) -> None:
        check_revision_time(self.effective_times, effective_at)
        self._revised(len(self.definitions) + 1, definition, effective_at, recorded_at, actor,
                      source)

    @event(Revised)
    def _revised(self, definition_version: int, definition: dict[str, Any],
                 effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.definitions.append(definition)
        self.effective_times.append(effective_at)
