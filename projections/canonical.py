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


def canonical_json(value: Any) -> str:
    return json.dumps(
        to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        allow_nan=False,
    )
