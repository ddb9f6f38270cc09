"""Canonical JSON: sorted keys, no insignificant whitespace, exact numbers, UTC times.

Two equal views always give the same bytes, which is what replay-equals-live compares.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

_LEAVES = frozenset({str, int, bool, float, type(None)})


def to_plain(value: Any) -> Any:
    """Turn a view into JSON-ready values: Decimal → int or exact number, datetime → ISO UTC."""
    if type(value) in _LEAVES:  # most of a view: answered before the isinstance checks
        return value
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return decimal_number(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, timedelta):
        return int(value.total_seconds())  # whole seconds: durations are for people
    return value


def decimal_number(value: Decimal) -> int | float | str:
    """Integral points become ints; half points stay numbers when exactly representable."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value.normalize())


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_NUMBERS: dict[Decimal, int | float | str] = {}
"""`decimal_number` of the points a view holds (a few distinct values, met thousands of times):
equal decimals give the same number, so the value is the key."""


def _plain_leaf(value: Any) -> Any:
    """The encoder's hook for what JSON has no type for: the leaves `to_plain` converts."""
    if isinstance(value, Decimal):
        number = _NUMBERS.get(value) if value.is_finite() else None
        if number is None:
            number = decimal_number(value)
            if value.is_finite() and len(_NUMBERS) < 4096:
                _NUMBERS[value] = number
        return number
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False, default=_plain_leaf)


class Encoded(dict[str, Any]):
    """A part of a view that carries its own canonical JSON, encoded once when it is made (a
    standings class block, reused by every view until its inputs change). It is a dict like
    any other to its readers and to the encoder; it must not be changed once made."""

    __slots__ = ("json",)

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.json = _ENCODER.encode(value)


def canonical_json(value: Any) -> str:
    """`json.dumps(to_plain(value), sort_keys=True, ...)`, byte for byte, in one pass of the C
    encoder: the leaves JSON has no type for are converted as they are met (`_plain_leaf`)
    instead of copying the whole view first (that copy was a third of a standings view's
    cost). Objects must be keyed by strings, as every view is: the encoder would sort other
    keys by their own order, not as strings (`to_plain` is the general path).

    A view whose top-level lists hold `Encoded` parts only is spliced from their JSON (the
    same bytes: each part is the encoder's output for it, keys are in the same order)."""
    if type(value) is dict and any(_all_encoded(v) for v in value.values()):
        return _spliced(value)
    return _ENCODER.encode(value)


def _all_encoded(value: Any) -> bool:
    return type(value) is list and bool(value) and all(type(v) is Encoded for v in value)


def _spliced(value: dict[str, Any]) -> str:
    """The encoder's output for `value`, its lists of `Encoded` parts joined from their JSON,
    the runs of other keys between them encoded (in key order) by the encoder."""
    members: list[str] = []
    plain: dict[str, Any] = {}
    for key in sorted(value):
        item = value[key]
        if not _all_encoded(item):
            plain[key] = item
            continue
        if plain:
            members.append(_ENCODER.encode(plain)[1:-1])
            plain = {}
        members.append(f"{_ENCODER.encode(key)}:[{','.join(part.json for part in item)}]")
    if plain:
        members.append(_ENCODER.encode(plain)[1:-1])
    return "{" + ",".join(members) + "}"
