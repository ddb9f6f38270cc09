"""A championship season: its versioned definition (rules as data), entries, tie decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact, check_revision_time
from domain.ids import championship_path, natural_id


class Championship(Aggregate):
    class Registered(Aggregate.Created, Fact):
        championship: str
        definition: dict[str, Any]

    class Revised(Aggregate.Event, Fact):
        rules_version: int
        definition: dict[str, Any]

    class EntryDeclared(Aggregate.Event, Fact):
        entry: dict[str, Any]

    class TieResolved(Aggregate.Event, Fact):
        class_id: str
        order: list[str]
        reference: str
        reason: str
        signature: dict[str, str]

    @staticmethod
    def create_id(championship: str, **_: Any) -> UUID:
        return natural_id(championship_path(championship))

    @event(Registered)
    def __init__(
        self,
        championship: str,
        definition: dict[str, Any],
        effective_at: datetime,
        recorded_at: datetime,
        actor: str,
        source: str,
    ) -> None:
        self.championship = championship
        self.definitions: list[dict[str, Any]] = [definition]
        self.effective_times: list[datetime] = [effective_at]
        self.tie_references: set[str] = set()
        self.entries: dict[str, dict[str, Any]] = {}

    @property
    def rules_version(self) -> int:
        return len(self.definitions)

    def knows_definition(self, definition: dict[str, Any]) -> bool:
        return definition in self.definitions

    def revise(self, definition: dict[str, Any], effective_at: datetime, recorded_at: datetime,
               actor: str, source: str) -> None:
        check_revision_time(self.effective_times, effective_at)
        self._revised(self.rules_version + 1, definition, effective_at, recorded_at, actor, source)

    @event(Revised)
    def _revised(self, rules_version: int, definition: dict[str, Any], effective_at: datetime,
                 recorded_at: datetime, actor: str, source: str) -> None:
        self.definitions.append(definition)
        self.effective_times.append(effective_at)

    def declare_entry(self, entry: dict[str, Any], effective_at: datetime, recorded_at: datetime,
                      actor: str, source: str) -> None:
        self._entry_declared(entry, effective_at, recorded_at, actor, source)

    @event(EntryDeclared)
    def _entry_declared(self, entry: dict[str, Any], effective_at: datetime,
                        recorded_at: datetime, actor: str, source: str) -> None:
        self.entries[entry["car"]] = entry

    def resolve_tie(self, class_id: str, order: list[str], reference: str, reason: str,
                    signature: dict[str, str], effective_at: datetime, recorded_at: datetime,
                    actor: str, source: str) -> None:
        self._tie_resolved(class_id, order, reference, reason, signature, effective_at,
                           recorded_at, actor, source)

    @event(TieResolved)
    def _tie_resolved(self, class_id: str, order: list[str], reference: str, reason: str,
                      signature: dict[str, str], effective_at: datetime, recorded_at: datetime, actor: str,
                      source: str) -> None:
        self.tie_references.add(reference)
