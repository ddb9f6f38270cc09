"""Parser for Al Kamel race classification CSV files (timing-portal `;` and shared `,` dialects).

Every error is an `InvalidInputError` whose `where` is `<source>:<line>` (1-based physical line
number, header = line 1) and whose message names the column and the offending value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from domain.bounds import (
    CLASS_LENGTH,
    MAX_DRIVERS,
    MAX_FILE_BYTES,
    MAX_LAPS,
    MAX_POSITION,
    MAX_ROWS,
    NAME_LENGTH,
    check_car,
    check_race_time,
    check_text,
    shown,
)
from domain.classification import ClassificationRow, ResultStatus, check_rows
from domain.errors import InvalidInputError
from domain.timing import parse_race_time

_BOM = b"\xef\xbb\xbf"
_REQUIRED = ("POSITION", "NUMBER", "TEAM", "CLASS", "STATUS", "LAPS", "TOTAL_TIME")
_DRIVER_COLUMN = re.compile(r"^DRIVER_(\d+)$")
_LENGTHS = {"CLASS": CLASS_LENGTH, "GROUP": CLASS_LENGTH}  # other columns: NAME_LENGTH
_STATUSES: dict[str, ResultStatus] = {
    "classified": ResultStatus.CLASSIFIED,
    "not classified": ResultStatus.NOT_CLASSIFIED,
    "nc": ResultStatus.NOT_CLASSIFIED,
    "retired": ResultStatus.RETIRED,
    "dnf": ResultStatus.RETIRED,
    "dns": ResultStatus.DID_NOT_START,
    "did not start": ResultStatus.DID_NOT_START,
    "not started": ResultStatus.DID_NOT_START,
    "disqualified": ResultStatus.DISQUALIFIED,
    "dsq": ResultStatus.DISQUALIFIED,
    "excluded": ResultStatus.EXCLUDED,
    "exc": ResultStatus.EXCLUDED,
}


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


@dataclass(frozen=True)
class _Header:
    separator: str
    names: list[str]
    columns: dict[str, int]
    drivers: tuple[int, ...]
    width: int  # fields a line must have, not counting one trailing separator


def parse_alkamel(data: bytes, *, source: str) -> tuple[ClassificationRow, ...]:
    """Parse an Al Kamel race classification (either dialect) into rows in overall order."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInputError(f"the file is larger than {MAX_FILE_BYTES // 1024} KB: not a "
                                f"classification (at most {MAX_ROWS} cars)", where=source)
    lines = _lines(data, source)
    if not lines:
        raise InvalidInputError("empty file: no header line and no result rows", where=f"{source}:1")
    header = _read_header(lines[0], source)
    if len(lines) == 1:
        raise InvalidInputError(
            "no result rows: the file has a header line only", where=f"{source}:{lines[0].number}"
        )
    body = lines[1:]
    rows = tuple(_read_row(line, header, f"{source}:{line.number}") for line in body)
    _check(rows, body, source)
    return rows


def _lines(data: bytes, source: str) -> list[_Line]:
    """Non-blank lines (LF or CRLF ends, leading BOM removed), strictly UTF-8, numbered from 1;
    stops at the first line past the header and MAX_ROWS rows."""
    raw_lines = data.removeprefix(_BOM).split(b"\n")
    lines: list[_Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        text = _decode(raw.removesuffix(b"\r"), f"{source}:{number}")
        if text.strip():
            if len(lines) > MAX_ROWS:
                raise InvalidInputError(f"more than {MAX_ROWS} result rows: a classification "
                                        f"has at most {MAX_ROWS} cars", where=f"{source}:{number}")
            lines.append(_Line(number, text))
    return lines


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end]
        raise InvalidInputError(
            f"not valid UTF-8: byte(s) {bad!r} at byte {exc.start + 1} of the line", where=where
        ) from None


def _split(line: _Line, separator: str, where: str) -> list[str]:
    try:
        return next(csv.reader([line.text], delimiter=separator, strict=True))
    except csv.Error as exc:
        raise InvalidInputError(f"malformed line ({exc}): {shown(line.text)}", where=where) from None


def _read_header(line: _Line, source: str) -> _Header:
    where = f"{source}:{line.number}"
    separator = ";" if line.text.count(";") > line.text.count(",") else ","
    names = [name.strip().upper() for name in _split(line, separator, where)]
    if names and not names[-1]:
        names.pop()  # the trailing separator both dialects put after the last column
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in columns:
            raise InvalidInputError(f"column {shown(name)} appears twice in the header", where=where)
        if name:
            columns[name] = index
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise InvalidInputError(
            f"missing required column(s) {', '.join(missing)}; "
            f"found: {shown(', '.join(name for name in names if name) or 'none', 200)}",
            where=where,
        )
    return _Header(separator, names, columns, _driver_columns(columns), len(names))


def _driver_columns(columns: dict[str, int]) -> tuple[int, ...]:
    """Indexes of DRIVER_1..DRIVER_n in numeric order (not column order)."""
    numbered = []
    for name, index in columns.items():
        match = _DRIVER_COLUMN.match(name)
        if match:
            numbered.append((int(match.group(1)), index))
    return tuple(index for _, index in sorted(numbered))


def _fields(line: _Line, header: _Header, where: str) -> list[str]:
    """The line's fields, stripped; one extra empty trailing field (a trailing separator) is ok."""
    fields = _split(line, header.separator, where)
    width = header.width
    if len(fields) == width + 1 and not fields[-1].strip():
        fields = fields[:-1]
    if len(fields) != width:
        raise InvalidInputError(
            f"wrong number of fields: expected {width} as in the header "
            f"(or {width + 1} with a trailing separator), found {len(fields)}",
            where=where,
        )
    fields = [field.strip() for field in fields]
    for name, field in zip(header.names, fields, strict=True):
        _checked(name or "(unnamed column)", field, _LENGTHS.get(name, NAME_LENGTH), where)
    return fields


def _checked(column: str, value: str, max_length: int, where: str) -> str:
    """No control characters (nothing that could drive a terminal) and no over-long text."""
    with _at(where):
        return check_text(column, value, max_length)


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Point a bounds error (domain/bounds.py) at the file's line."""
    try:
        yield
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, where=where) from None


def _read_row(line: _Line, header: _Header, where: str) -> ClassificationRow:
    fields = _fields(line, header, where)

    def get(name: str) -> str:
        index = header.columns.get(name)
        return "" if index is None else fields[index]

    status = _status(get("STATUS"), where)
    laps = _whole_number("LAPS", get("LAPS"), MAX_LAPS, where)
    return ClassificationRow(
        position=_whole_number("POSITION", get("POSITION"), MAX_POSITION, where),
        car=_car(get("NUMBER"), where),
        team=get("TEAM"),
        class_name=get("CLASS"),
        drivers=_drivers(fields, header, where),
        vehicle=get("VEHICLE"),
        status=status,
        laps=laps,
        total_time=_total_time(get("TOTAL_TIME"), status, laps, where),
        group=get("GROUP"),
    )


def _car(value: str, where: str) -> str:
    if not value:
        raise InvalidInputError("NUMBER: '' is empty; every car needs a number", where=where)
    with _at(where):
        return check_car("NUMBER", value)


def _drivers(fields: list[str], header: _Header, where: str) -> tuple[str, ...]:
    drivers = tuple(fields[index] for index in header.drivers if fields[index])
    if len(drivers) > MAX_DRIVERS:
        raise InvalidInputError(f"{len(drivers)} drivers: a car has at most {MAX_DRIVERS}",
                                where=where)
    return drivers


def _whole_number(column: str, value: str, maximum: int, where: str) -> int:
    if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
        raise InvalidInputError(f"{column}: {shown(value)} must not be negative", where=where)
    if not (value.isascii() and value.isdigit()):
        raise InvalidInputError(f"{column}: {shown(value)} is not a whole number", where=where)
    if len(value.lstrip("0")) > len(str(maximum)) or int(value) > maximum:
        raise InvalidInputError(f"{column}: {shown(value)} is more than {maximum}", where=where)
    return int(value)


def _status(value: str, where: str) -> ResultStatus:
    status = _STATUSES.get(" ".join(value.split()).casefold())
    if status is None:
        accepted = "Classified, Not classified/NC, Retired/DNF, DNS/Did not start/Not started, "
        accepted += "Disqualified/DSQ, Excluded/EXC"
        raise InvalidInputError(
            f"STATUS: {shown(value)} is not a known status (accepted, any case: {accepted})",
            where=where,
        )
    return status


def _total_time(value: str, status: ResultStatus, laps: int, where: str) -> Decimal | None:
    if value:
        try:
            seconds = parse_race_time(value)
        except InvalidInputError as exc:
            raise InvalidInputError(f"TOTAL_TIME: {exc.message}", where=where) from None
        with _at(where):
            return check_race_time("TOTAL_TIME", seconds)
    if laps == 0 or status is not ResultStatus.CLASSIFIED:
        return None
    raise InvalidInputError(
        f"TOTAL_TIME: '' is empty, but the car is classified with {laps} laps "
        "(a classified car needs a total time)",
        where=where,
    )


def _check(rows: tuple[ClassificationRow, ...], lines: list[_Line], source: str) -> None:
    """Run the domain checks (positions 1..n, unique cars); point an error at its line.

    `check_rows` stops at the first bad row, so the shortest failing prefix ends at that row.
    """
    try:
        check_rows(rows, where=source)
    except InvalidInputError as exc:
        for end, line in enumerate(lines, start=1):
            try:
                check_rows(rows[:end], where=source)
            except InvalidInputError:
                raise InvalidInputError(exc.message, where=f"{source}:{line.number}") from None
        raise
