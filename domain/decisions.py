"""Stewards' decisions as values, and how a decision changes a classification line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from domain.bounds import (
    MAX_DECIMALS,
    MAX_PENALTY_LAPS,
    MAX_POINT_DECIMALS,
    MAX_POINTS,
    MAX_RACE_SECONDS,
    check_car,
    check_decimal,
    check_whole,
)
from domain.classification import Adjustment, ResultStatus
from domain.errors import InvalidInputError


class DecisionKind(str, Enum):
    TIME_PENALTY = "time_penalty"
    LAP_PENALTY = "lap_penalty"
    DISQUALIFICATION = "disqualification"
    EXCLUSION = "exclusion"
    POINTS_DEDUCTION = "points_deduction"
    POLE_STRIPPED = "pole_stripped"

    @property
    def changes_classification(self) -> bool:
        """Folded into a later published classification; the others act on standings only."""
        return self in (
            DecisionKind.TIME_PENALTY,
            DecisionKind.LAP_PENALTY,
            DecisionKind.DISQUALIFICATION,
            DecisionKind.EXCLUSION,
        )


@dataclass(frozen=True)
class DecisionTerms:
    """What a decision says: its kind, the car, and the amount where one applies."""

    kind: DecisionKind
    car: str
    seconds: Decimal | None = None
    laps: int | None = None
    points: Decimal | None = None

    def __post_init__(self) -> None:
        needs = {
            DecisionKind.TIME_PENALTY: ("seconds",),
            DecisionKind.LAP_PENALTY: ("laps",),
            DecisionKind.POINTS_DEDUCTION: ("points",),
        }.get(self.kind, ())
        for name in ("seconds", "laps", "points"):
            value = getattr(self, name)
            if isinstance(value, Decimal) and not value.is_finite():
                raise InvalidInputError(f"a {self.kind.value} needs a finite {name} (got {value})")
            if name in needs and (value is None or value <= 0):
                raise InvalidInputError(f"a {self.kind.value} needs a positive {name}")
            if name == "seconds" and self.kind is DecisionKind.LAP_PENALTY:
                if value is not None and value < 0:
                    raise InvalidInputError("seconds added with a lap penalty cannot be negative")
                continue
            if name not in needs and value is not None:
                raise InvalidInputError(f"a {self.kind.value} takes no {name} (got {value})")

    def check_bounds(self) -> DecisionTerms:
        """Refuse a new decision whose amounts are beyond physical limits (not on replay, so a
        log written before the bounds still folds)."""
        check_car("car", self.car)
        if self.seconds is not None:
            check_decimal("seconds", self.seconds, MAX_RACE_SECONDS, MAX_DECIMALS)
        if self.laps is not None:
            check_whole("laps", self.laps, MAX_PENALTY_LAPS, minimum=1)
        if self.points is not None:
            check_decimal("points", self.points, MAX_POINTS, MAX_POINT_DECIMALS)
        return self

    def adjustment(self) -> Adjustment:
        """The change to the car's classification line, if the decision has one."""
        if self.kind is DecisionKind.TIME_PENALTY:
            return Adjustment(seconds=self.seconds or Decimal(0))
        if self.kind is DecisionKind.LAP_PENALTY:
            return Adjustment(seconds=self.seconds or Decimal(0), laps=self.laps or 0)
        if self.kind is DecisionKind.DISQUALIFICATION:
            return Adjustment(status=ResultStatus.DISQUALIFIED)
        if self.kind is DecisionKind.EXCLUSION:
            return Adjustment(status=ResultStatus.EXCLUDED)
        return Adjustment()

    def reversal(self) -> Adjustment:
        """Undo this decision on a classification that already had it folded in."""
        forward = self.adjustment()
        status = ResultStatus.CLASSIFIED if forward.status is not None else None
        return Adjustment(seconds=-forward.seconds, laps=-forward.laps, status=status)

    def describe(self) -> str:
        if self.kind is DecisionKind.TIME_PENALTY:
            return f"+{self.seconds}s time penalty"
        if self.kind is DecisionKind.LAP_PENALTY:
            extra = f" + {self.seconds}s" if self.seconds else ""
            return f"{self.laps} lap(s){extra} penalty"
        if self.kind is DecisionKind.POINTS_DEDUCTION:
            return f"{self.points} point(s) deducted"
        return str(self.kind.value).replace("_", " ")

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "car": self.car,
            "seconds": None if self.seconds is None else str(self.seconds),
            "laps": self.laps,
            "points": None if self.points is None else str(self.points),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> DecisionTerms:
        def dec(value: Any) -> Decimal | None:
            return None if value in (None, "") else Decimal(str(value))

        return cls(
            kind=DecisionKind(record["kind"]),
            car=str(record["car"]),
            seconds=dec(record.get("seconds")),
            laps=None if record.get("laps") is None else int(record["laps"]),
            points=dec(record.get("points")),
        )
