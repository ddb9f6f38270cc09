"""A round's classification: published versions (provisional/official), official mark, poles."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.utils import get_topic

from domain.aggregates.fact import Fact
from domain.errors import ClassificationMissingError, TimeOrderError
from domain.ids import natural_id, round_path
from domain.race_status import OFFICIAL


class RaceClassification(Aggregate):
    class Opened(Aggregate.Created, Fact):
        championship: str
        round_number: int

    class Published(Aggregate.Event, Fact):
        version: int
        status: str
        digest: str
        rows: list[dict[str, Any]]

    class DeclaredOfficial(Aggregate.Event, Fact):
        version: int

    class PoleRecorded(Aggregate.Event, Fact):
        class_id: str
        car: str

    @staticmethod
    def create_id(championship: str, round_number: int, **_: Any) -> UUID:
        return natural_id(round_path(championship, round_number))

    @event(Opened)
    def __init__(self, championship: str, round_number: int, effective_at: datetime,
                 recorded_at: datetime, actor: str, source: str) -> None:
        self.championship = championship
        self.round_number = round_number
        self.versions: list[tuple[str, str, datetime]] = []  # (digest, status, effective_at)
        self.official_marks: list[tuple[int, datetime]] = []
        self.poles: dict[str, list[tuple[str, datetime]]] = {}

    @classmethod
    def resumed(cls, championship: str, round_number: int, *,
                versions: list[tuple[str, str, datetime]],
                official_marks: list[tuple[int, datetime]],
                poles: list[tuple[str, str, datetime]],
                created_on: datetime, modified_on: datetime) -> RaceClassification:
        """The aggregate as its recorded facts left it, rebuilt from a fold of those facts instead
        of a replay of its stored events (which carry every version's rows). Its version is one
        event per fact plus the opening one, so a fact recorded meanwhile by another writer
        makes the next save fail; it is never overwritten. `poles` in recorded order:
        (class, car, effective_at)."""
        by_class: dict[str, list[tuple[str, datetime]]] = {}
        for class_id, car, at in poles:
            by_class.setdefault(class_id, []).append((car, at))
        state = {"_created_on": created_on, "_modified_on": modified_on,
                 "championship": championship, "round_number": round_number,
                 "versions": list(versions), "official_marks": list(official_marks),
                 "poles": by_class}
        snapshot = Snapshot(originator_id=cls.create_id(championship, round_number),
                            originator_version=1 + len(versions) + len(official_marks) + len(poles),
                            timestamp=modified_on, topic=get_topic(cls), state=state)
        aggregate = snapshot.mutate(None)
        assert isinstance(aggregate, cls)
        return aggregate

    @property
    def where(self) -> str:
        return f"{self.championship} round {self.round_number}"

    def has_version(self, digest: str, status: str) -> bool:
        return any(d == digest and s == status for d, s, _ in self.versions)

    def first_published_at(self) -> datetime | None:
        return min((at for _, _, at in self.versions), default=None)

    def publish(self, status: str, digest: str, rows: list[dict[str, Any]],
                effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self._published(len(self.versions) + 1, status, digest, rows, effective_at, recorded_at,
                        actor, source)

    @event(Published)
    def _published(self, version: int, status: str, digest: str, rows: list[dict[str, Any]],
                   effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.versions.append((digest, status, effective_at))

    def is_official_at(self, at: datetime) -> bool:
        versions = [(e, s) for _, s, e in self.versions if e <= at]
        marks = [e for _, e in self.official_marks if e <= at]
        # At equal effective times an official version outranks a provisional one (as in the
        # projection's `_version_key`), not the alphabetical order of the status names.
        latest = max(versions, key=lambda v: (v[0], v[1] == OFFICIAL), default=None)
        if latest is None:
            return False
        return latest[1] == OFFICIAL or any(m >= latest[0] for m in marks)

    def declare_official(self, effective_at: datetime, recorded_at: datetime, actor: str,
                         source: str) -> bool:
        """Mark the classification in force at `effective_at` official. False if it already was."""
        first = self.first_published_at()
        if first is None:
            raise ClassificationMissingError(f"{self.where} has no classification to declare official")
        if effective_at < first:
            raise TimeOrderError(
                f"{self.where}: declared official at {effective_at.isoformat()}, before its first "
                f"classification was published ({first.isoformat()})"
            )
        if self.is_official_at(effective_at):
            return False
        self._declared_official(len(self.versions), effective_at, recorded_at, actor, source)
        return True

    @event(DeclaredOfficial)
    def _declared_official(self, version: int, effective_at: datetime, recorded_at: datetime,
                           actor: str, source: str) -> None:
        self.official_marks.append((version, effective_at))

    def pole_at(self, class_id: str, at: datetime) -> str | None:
        known = [(e, car) for car, e in self.poles.get(class_id, []) if e <= at]
        return max(known)[1] if known else None

    def record_pole(self, class_id: str, car: str, effective_at: datetime, recorded_at: datetime,
                    actor: str, source: str) -> bool:
        """Record the pole of a class. False if that car already held it at that time."""
        if any(c == car and e == effective_at for c, e in self.poles.get(class_id, [])):
            return False
        self._pole_recorded(class_id, car, effective_at, recorded_at, actor, source)
        return True

    @event(PoleRecorded)
    def _pole_recorded(self, class_id: str, car: str, effective_at: datetime,
                       recorded_at: datetime, actor: str, source: str) -> None:
        self.poles.setdefault(class_id, []).append((car, effective_at))
