"""Exact race times: Decimal seconds, parsed from and formatted to timing notation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from domain.bounds import shown
from domain.errors import InvalidInputError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RACE_TIME = re.compile(r"^(?:(?:(\d+):)?(\d{1,2})')?(\d{1,2}(?:\.\d{1,6})?)$")
_PLAIN_RACE_TIME = re.compile(r"(?:(?:([0-9]+):)?([0-9]{1,2})')?([0-9]{1,2})(?:\.([0-9]{1,6}))?")


def parse_race_time(text: str) -> Decimal:
    """Parse `3:43'26.017`, `1'52.991` or `10.537` into exact seconds."""
    match = _RACE_TIME.match(text.strip())
    if not match:
        raise InvalidInputError(
            f"{shown(text)} is not a race time (expected h:mm'ss.mmm, m'ss.mmm or ss.mmm)"
        )
    hours, minutes, seconds = match.groups()
    total = Decimal(seconds)
    if minutes is not None:
        if total >= 60:
            raise InvalidInputError(f"{shown(text)}: seconds must be below 60")
        total += Decimal(minutes) * 60
    if hours is not None:
        if int(minutes or 0) >= 60:
            raise InvalidInputError(f"{shown(text)}: minutes must be below 60")
        total += Decimal(hours) * 3600
    return total


def race_seconds_text(text: str) -> str:
    """`str(parse_race_time(text))`, the exact seconds a row record stores, in integer
    arithmetic: the ingest path converts every row's time, and the Decimal arithmetic was most
    of that work. Anything but plain ASCII `h:mm'ss.ffffff` (an error to raise, other digits,
    blanks, long numbers) goes the Decimal way."""
    plain = _PLAIN_RACE_TIME.fullmatch(text) if len(text) <= 18 else None
    if plain is None:
        return str(parse_race_time(text))
    hours, minutes, seconds, fraction = plain.groups()
    total = int(seconds)
    if minutes is not None:
        whole_minutes = int(minutes)
        if total >= 60 or (hours is not None and whole_minutes >= 60):
            return str(parse_race_time(text))  # raises: out of range
        total += whole_minutes * 60 + (int(hours) * 3600 if hours else 0)
    return f"{total}.{fraction}" if fraction is not None else str(total)


def format_race_time(seconds: Decimal) -> str:
    """Format exact seconds the way timing sheets do (`3:43'26.017`)."""
    seconds = seconds.quantize(Decimal("0.001"))  # round once, so 59.9996 carries to 1'00.000
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    whole_minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    fraction = f"{rest:06.3f}"
    if hours:
        return f"{sign}{hours}:{minutes:02d}'{fraction}"
    if minutes:
        return f"{sign}{minutes}'{fraction}"
    return f"{sign}{rest:.3f}"


def require_aware(value: datetime, *, field: str) -> datetime:
    """Times in the ledger are always timezone-aware; naive ones are ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{field}: '{value.isoformat()}' has no timezone; give an offset such as +04:00 or Z"
        )
    return value


def parse_when(text: str | None, *, option: str) -> datetime | None:
    """ISO 8601 with an offset (`2024-02-11T21:00+04:00`, `...Z`), or a bare date (00:00 UTC)."""
    if text is None:
        return None
    value = text.strip()
    try:
        if _DATE_ONLY.match(value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{option}: '{text}' is not a date (use ISO 8601, e.g. 2024-02-11T21:00:00+04:00 "
            "or 2024-02-11)"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInputError(
            f"{option}: '{text}' has no timezone; add an offset such as +04:00 or Z"
        )
    return parsed
