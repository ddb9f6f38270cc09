"""Plain-text rendering for people: aligned tables and short headings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.bounds import json_escaped, printable
from projections.canonical import decimal_number, iso_utc, to_plain


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """An aligned table; columns whose index is in `right` are right-aligned."""
    headers = [printable(h) for h in headers]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(value: Any) -> str:
    """A value on one line, control characters escaped: stored text never drives a terminal."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(decimal_number(value))
    if isinstance(value, datetime):
        return iso_utc(value)
    return printable(str(value))


def terminal(text: str) -> str:
    """Text for a terminal: lines kept, every other control character escaped (`\\x1b`)."""
    return printable(text, lines=True)


def print_view(view: Any, text: Callable[[Any], str], *, json_output: bool) -> None:
    """A view for machines (`--json`) or as text for people, control characters escaped."""
    print(as_json(view) if json_output else terminal(text(view)))


def when(value: Any) -> str:
    return _cell(value)


def as_json(view: Any) -> str:
    """JSON with any control character left by `ensure_ascii=False` (DEL, C1, bidi) as `\\uXXXX`."""
    return json_escaped(json.dumps(to_plain(view), indent=2, ensure_ascii=False, sort_keys=True))
