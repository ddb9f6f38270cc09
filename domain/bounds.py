"""Field bounds every input path shares: files, NATS messages (services/contracts.py), the CLI.

One source of truth, so a value refused on NATS is refused in a file too. The limits are
physical (no race lasts 48 hours, no car covers 10,000 laps) or practical (a classification of
300 cars); strings hold no control characters, so nothing stored can drive a terminal.
"""

from __future__ import annotations

import re
from decimal import Decimal

from domain.errors import InvalidInputError

CAR_PATTERN = r"^[0-9]{1,4}[A-Za-z]?$"  # as timing systems write them: 7, 91, 777, 2A
CAR_RULE = "1 to 4 digits 0-9, optionally followed by one letter A-Z (e.g. 7, 91, 777, 2A)"
MAX_ROWS = 300  # cars in one classification
MAX_POSITION = 500
MAX_LAPS = 10_000
MAX_RACE_SECONDS = Decimal(48 * 3600)  # no race (or time penalty) lasts two days
MAX_DECIMALS = 6  # timing precision: microseconds
MAX_PENALTY_LAPS = MAX_LAPS
MAX_POINTS = Decimal(1000)  # a points deduction
MAX_POINT_DECIMALS = 2
MAX_DRIVERS = 8
MAX_CAPACITY = 1000  # places at an event
MAX_LOG_POSITION = 2**63 - 1  # what SQLite and PostgreSQL can store
MAX_HOURS = 24 * 366 * 10  # a duration given in hours (ten years)
MAX_WAIT_SECONDS = 86_400  # a timeout or interval given in seconds
NAME_LENGTH = 120  # team, driver, vehicle
CLASS_LENGTH = 40  # class, group
TEXT_LENGTH = 500  # reasons
MAX_FILE_BYTES = 2 * 1024 * 1024  # an Al Kamel file of 300 cars is ~100 KB
MAX_SEASON_BYTES = 200_000  # a season file (TOML)
MAX_NESTING = 32  # tables and arrays inside each other in a season file

# C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates: what
# can move a terminal's cursor, colour it or reorder what a reader sees.
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
SAFE_TEXT_PATTERN = f"^[^{_UNSAFE}]*$"  # for JSON Schema and pydantic (ECMA, Rust and Python)
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"(?!\n)[{_UNSAFE}]")
_CAR = re.compile(CAR_PATTERN)


def shown(value: str, limit: int = 60) -> str:
    """A value quoted for an error message: control and invisible characters escaped, shortened."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return _UNSAFE_CHAR.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                            repr(text))


def printable(value: str, *, lines: bool = False) -> str:
    """Text for a terminal: any control character escaped (`\\x1b`), the rest as it is;
    `lines=True` keeps line feeds."""
    pattern = _UNSAFE_BUT_NEWLINE if lines else _UNSAFE_CHAR
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


def json_escaped(text: str) -> str:
    """JSON text with the control characters JSON leaves raw (DEL, C1, bidi) as `\\uXXXX`."""
    return _UNSAFE_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def check_text(field: str, value: str, max_length: int) -> str:
    """Refuse control characters and over-long text."""
    bad = _UNSAFE_CHAR.search(value)
    if bad:
        raise InvalidInputError(
            f"{field}: {shown(value)} contains the control character "
            f"{shown(bad.group())} at character {bad.start() + 1}")
    if len(value) > max_length:
        raise InvalidInputError(f"{field}: {shown(value)} is longer than {max_length} characters")
    return value


def check_car(field: str, value: str) -> str:
    if not _CAR.fullmatch(value) or not value.isascii():
        raise InvalidInputError(f"{field}: {shown(value)} is not a car number ({CAR_RULE})")
    return value


def check_whole(field: str, value: int, maximum: int, minimum: int = 0) -> int:
    if not minimum <= value <= maximum:
        raise InvalidInputError(f"{field}: {value} is out of range ({minimum} to {maximum})")
    return value


def check_amount(field: str, value: float, maximum: float, *, positive: bool = False) -> float:
    """A finite number within 0 (or above, when positive) .. maximum: refuses nan, inf, 1e300."""
    if not (0 < value <= maximum if positive else 0 <= value <= maximum):
        low = "above 0" if positive else "0"
        raise InvalidInputError(f"{field}: {value} is out of range ({low} to {maximum})")
    return value


def check_decimal(field: str, value: Decimal, maximum: Decimal, decimals: int) -> Decimal:
    """A finite, non-negative amount up to `maximum`, with at most `decimals` decimal places."""
    if not value.is_finite() or not 0 <= value <= maximum:
        raise InvalidInputError(f"{field}: {shown(str(value))} is out of range (0 to {maximum})")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise InvalidInputError(f"{field}: {shown(str(value))} has more than {decimals} decimals")
    return value


def check_race_time(field: str, seconds: Decimal) -> Decimal:
    if seconds > MAX_RACE_SECONDS:
        raise InvalidInputError(f"{field}: {seconds} s is longer than a race can last "
                                f"({MAX_RACE_SECONDS // 3600} h)")
    return seconds
