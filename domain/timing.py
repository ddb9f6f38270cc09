"""Exact race times: Decimal seconds, parsed from and formatted to timing notation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from domain.bounds import shown
from domain.errors import InvalidInputError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RACE_TIME = re.compile(r"^(?:(?:(\d+):)?(\d{1,2})')?(\d{1,2}(?:\.\d{1,6})?)$")


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


def _clock_seconds() -> dict[str, int]:
    """"mm'ss", "m'ss", "ss" and "s" (minutes and seconds below 60) → their seconds."""
    table: dict[str, int] = {}
    for second in range(60):
        table[f"{second:02d}"] = table[str(second)] = second
        for minute in range(60):
            table[f"{minute:02d}'{second:02d}"] = table[f"{minute}'{second:02d}"] = (
                minute * 60 + second)
    return table


_CLOCK_SECONDS = _clock_seconds()


def race_seconds_text(text: str) -> str:
    """`str(parse_race_time(text))`, the exact seconds a row record stores, by a table of the
    minutes and seconds and integer arithmetic: the ingest path converts every row's time, and
    the Decimal arithmetic (then a regular expression per time) was most of that work. Anything
    but plain ASCII `h:mm'ss.ffffff` (an error to raise, other digits, blanks, long numbers,
    uncommon spellings such as `1'5`) goes the Decimal way."""
    whole, dot, fraction = text.partition(".")
    hours, colon, clock = whole.rpartition(":")
    seconds = _CLOCK_SECONDS.get(clock)
    if (seconds is None or len(text) > 18 or not text.isascii()
            or (colon and ("'" not in clock or not hours.isdigit()))
            or (dot and not (fraction.isdigit() and len(fraction) <= 6))):
        return str(parse_race_time(text))
    total = seconds + int(hours) * 3600 if colon else seconds
    return f"{total}.{fraction}" if dot else str(total)


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
