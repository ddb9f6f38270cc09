"""A race classification: rows in overall order, class positions derived, re-sorting after penalties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from domain.errors import InvalidInputError


class ResultStatus(str, Enum):
    CLASSIFIED = "classified"
    NOT_CLASSIFIED = "not_classified"
    RETIRED = "retired"
    DID_NOT_START = "did_not_start"
    DISQUALIFIED = "disqualified"
    EXCLUDED = "excluded"

    @property
    def is_running_order(self) -> bool:
        """Statuses sorted by distance and time; the others keep their published order."""
        return self is ResultStatus.CLASSIFIED

    @property
    def is_removed(self) -> bool:
        """Removed from the result by the stewards: always listed last, never scores."""
        return self in (ResultStatus.DISQUALIFIED, ResultStatus.EXCLUDED)


# The keys of a stored row record, in the sorted order its builders write them (rows_digest's
# fast encoding relies on that order).
RECORD_KEYS = ("car", "class", "drivers", "group", "laps", "position", "status", "team",
               "total_time", "vehicle")


@dataclass(frozen=True)
class ClassificationRow:
    """One car's line in a published classification (overall order)."""

    position: int
    car: str
    team: str
    class_name: str
    drivers: tuple[str, ...]
    vehicle: str
    status: ResultStatus
    laps: int
    total_time: Decimal | None
    group: str = ""

    def to_record(self) -> dict[str, Any]:
        """The row as a classification event stores it; keys in sorted order, as in `RECORD_KEYS`
        (the ingest path builds the same records straight from validated messages)."""
        return {
            "car": self.car,
            "class": self.class_name,
            "drivers": list(self.drivers),
            "group": self.group,
            "laps": self.laps,
            "position": self.position,
            "status": self.status.value,
            "team": self.team,
            "total_time": None if self.total_time is None else str(self.total_time),
            "vehicle": self.vehicle,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ClassificationRow:
        total = record.get("total_time")
        return cls(
            position=int(record["position"]),
            car=str(record["car"]),
            team=str(record["team"]),
            class_name=str(record["class"]),
            drivers=tuple(record.get("drivers", ())),
            vehicle=str(record.get("vehicle", "")),
            status=ResultStatus(record["status"]),
            laps=int(record["laps"]),
            total_time=None if total in (None, "") else Decimal(str(total)),
            group=str(record.get("group", "")),
        )


class NumberedRow(Protocol):
    """What `check_rows` reads of a row: a `ClassificationRow` or a validated message's row."""

    @property
    def position(self) -> int: ...

    @property
    def car(self) -> str: ...

    @property
    def laps(self) -> int: ...


@dataclass(frozen=True)
class Adjustment:
    """What the stewards change on one car's line: added time, removed laps, a new status."""

    seconds: Decimal = Decimal(0)
    laps: int = 0
    status: ResultStatus | None = None

    def __add__(self, other: Adjustment) -> Adjustment:
        return Adjustment(
            self.seconds + other.seconds, self.laps + other.laps, other.status or self.status
        )


def check_rows(rows: Sequence[NumberedRow], *, where: str) -> None:
    """Positions must be 1..n without gaps and every car must appear once. Checked in bulk
    (each message of the ingest path is checked); the first fault in row order is named."""
    _check(rows, attrgetter, where)


def check_records(records: Sequence[Mapping[str, Any]], *, where: str) -> None:
    """`check_rows` of row records (`ClassificationRow.to_record`'s shape)."""
    _check(records, itemgetter, where)


def _check(rows: Sequence[Any], getter: Any, where: str) -> None:
    position, car, laps = getter("position"), getter("car"), getter("laps")
    positions = list(map(position, rows))
    if (positions == list(range(1, len(rows) + 1))
            and len(set(map(car, rows))) == len(rows)
            and min(map(laps, rows), default=0) >= 0):
        return
    _name_first_fault([(position(r), car(r), laps(r)) for r in rows], where)


def _name_first_fault(rows: Sequence[tuple[int, str, int]], where: str) -> None:
    seen_cars: dict[str, int] = {}
    for index, (position, car, laps) in enumerate(rows, start=1):
        if position != index:
            raise InvalidInputError(
                f"position {position} of car #{car} out of sequence "
                f"(expected {index}: positions must run 1..{len(rows)} without gaps or repeats)",
                where=where,
            )
        if car in seen_cars:
            raise InvalidInputError(
                f"car #{car} appears twice (positions {seen_cars[car]} and {position})",
                where=where,
            )
        seen_cars[car] = position
        if laps < 0:
            raise InvalidInputError(f"car #{car}: negative laps {laps}", where=where)


def apply_adjustments(
    rows: Sequence[ClassificationRow], adjustments: Mapping[str, Adjustment]
) -> tuple[ClassificationRow, ...]:
    """Apply stewards' adjustments and re-sort like the timing sheet does.

    Classified cars are ordered by laps (more first), then total time (less first), then their
    published position; other statuses keep their published order after them; disqualified and
    excluded cars go last. Positions are renumbered 1..n.
    """
    if not adjustments:
        return tuple(rows)
    adjusted = [_adjust(row, adjustments.get(row.car)) for row in rows]
    running = sorted(
        (r for r in adjusted if r.status.is_running_order),
        key=lambda r: (-r.laps, r.total_time if r.total_time is not None else Decimal("Infinity"),
                       r.position),
    )
    others = [r for r in adjusted if not r.status.is_running_order and not r.status.is_removed]
    removed = [r for r in adjusted if r.status.is_removed]
    return tuple(
        row if row.position == index else replace(row, position=index)
        for index, row in enumerate([*running, *others, *removed], start=1)
    )


def _adjust(row: ClassificationRow, adjustment: Adjustment | None) -> ClassificationRow:
    if adjustment is None:
        return row
    total = row.total_time
    if total is not None and adjustment.seconds:
        total += adjustment.seconds
    return replace(
        row,
        laps=max(0, row.laps - adjustment.laps),
        total_time=total,
        status=adjustment.status or row.status,
    )


def class_order(rows: Iterable[ClassificationRow], class_names: frozenset[str]) -> list[ClassificationRow]:
    """The rows of the given classes, in overall order: their index + 1 is the class position."""
    return [row for row in rows if row.class_name in class_names]
