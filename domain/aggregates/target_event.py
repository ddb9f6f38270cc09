"""An event that invites entries (Le Mans 2024): capacity, classes and invitation routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact, check_revision_time
from domain.errors import TimeOrderError
from domain.ids import natural_id, target_event_path


class TargetEvent(Aggregate):
    class Registered(Aggregate.Created, Fact):
        event_id: str
        definition: dict[str, Any]

    class Revised(Aggregate.Event, Fact):
        definition_version: int
        definition: dict[str, Any]

    # -- the organiser's decisions on the entry list (domain/entry_list.py computes the list) --

    class CapacityChanged(Aggregate.Event, Fact):
        class_id: str | None  # None: the event's total
        capacity: int
        reason: str

    class PlaceGranted(Aggregate.Event, Fact):
        class_id: str
        team: str
        car: str
        reference: str
        reason: str

    class ReservesRanked(Aggregate.Event, Fact):
        class_id: str
        ranked: list[dict[str, str]]
        reason: str

    class EntryListPublished(Aggregate.Event, Fact):
        version: int
        note: str

    @staticmethod
    def create_id(event_id: str, **_: Any) -> UUID:
        return natural_id(target_event_path(event_id))

    @event(Registered)
    def __init__(self, event_id: str, definition: dict[str, Any], effective_at: datetime,
                 recorded_at: datetime, actor: str, source: str) -> None:
        self.event_id = event_id
        self.definitions: list[dict[str, Any]] = [definition]
        self.effective_times: list[datetime] = [effective_at]
        self.grants: set[str] = set()
        self.published: list[datetime] = []

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

    @event(CapacityChanged)
    def change_capacity(self, class_id: str | None, capacity: int, reason: str,
                        effective_at: datetime, recorded_at: datetime, actor: str,
                        source: str) -> None:
        pass

    @event(PlaceGranted)
    def grant_place(self, class_id: str, team: str, car: str, reference: str, reason: str,
                    effective_at: datetime, recorded_at: datetime, actor: str,
                    source: str) -> None:
        self.grants.add(reference)

    @event(ReservesRanked)
    def rank_reserves(self, class_id: str, ranked: list[dict[str, str]], reason: str,
                      effective_at: datetime, recorded_at: datetime, actor: str,
                      source: str) -> None:
        pass

    def publish_list(self, note: str, effective_at: datetime, recorded_at: datetime, actor: str,
                     source: str) -> int:
        """Publishes the next version; versions are numbered in publication order."""
        if self.published and effective_at <= self.published[-1]:
            raise TimeOrderError(
                f"entry list version {len(self.published) + 1} would take effect at "
                f"{effective_at.isoformat()}, not after version {len(self.published)} "
                f"({self.published[-1].isoformat()})")
        self._published(len(self.published) + 1, note, effective_at, recorded_at, actor, source)
        return len(self.published)

    @event(EntryListPublished)
    def _published(self, version: int, note: str, effective_at: datetime, recorded_at: datetime,
                   actor: str, source: str) -> None:
        self.published.append(effective_at)
