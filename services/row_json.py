"""A classification's row records and their canonical JSON, encoded once (issue 10): the
digest is taken from these bytes, and the event store writes the same bytes for the rows
(infra/transcoder.py) instead of encoding 40 rows a second time.

Canonical JSON is `json.dumps(records, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` as UTF-8, the text every stored digest was taken from. Records whose keys
are already in sorted order (`RECORD_KEYS`, as Paddock builds them) and whose values are
strings, integers, lists of strings or None are encoded by pydantic-core, which writes such
values byte for byte the same, several times faster; anything else goes through `json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from domain.classification import RECORD_KEYS

if TYPE_CHECKING:  # pydantic loads when rows are encoded (writers), not for a reader's command
    from pydantic import TypeAdapter


@cache
def _plain_rows() -> TypeAdapter[list[dict[str, str | int | None | list[str]]]]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[dict[str, str | int | None | list[str]]])


def canonical_rows_json(records: Sequence[dict[str, Any]]) -> bytes:
    return _encoded(records, _in_sorted_order(records))


def _in_sorted_order(records: Iterable[dict[str, Any]]) -> bool:
    return all(map(RECORD_KEYS.__eq__, map(tuple, records)))


def _encoded(records: Sequence[dict[str, Any]], in_sorted_order: bool) -> bytes:
    if in_sorted_order:
        from pydantic_core import PydanticSerializationError

        try:  # refuses any other value type (a Decimal, a float, a tuple) rather than guess
            return _plain_rows().dump_json(records, warnings="error")  # type: ignore[arg-type]
        except PydanticSerializationError:
            pass
    text = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


class EncodedRows(list[dict[str, Any]]):
    """Row records that carry their canonical JSON. When their keys are already in sorted
    order, those bytes are exactly what eventsourcing's JSON transcoder writes for this list
    (same separators, no escaping of non-ASCII, only JSON values), and `stored` holds them for
    the store to write as they are. Never changed once made: the bytes would no longer be the
    rows."""

    def __init__(self, records: Iterable[dict[str, Any]], *, plain: bool = False) -> None:
        """`plain=True`: the caller vouches that every record has `RECORD_KEYS` in that order
        and that every value is a string, an integer, a list of strings or None (rows built
        from a validated message), so neither is checked."""
        super().__init__(records)
        from pydantic_core import to_json

        in_order = plain or _in_sorted_order(self)
        self.canonical = to_json(self) if plain else _encoded(self, in_order)
        self.stored: bytes | None = self.canonical if in_order else None
