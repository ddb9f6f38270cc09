"""The event store's transcoder: eventsourcing's JSON transcoder, except that a classification's
row records already encoded (services/row_json.py `EncodedRows`, whose digest was taken from
those bytes) are written as they are instead of being encoded a second time. The bytes are the
same as the stock transcoder's (tests/unit/test_ingest_records.py); reading is unchanged."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder

from services.row_json import EncodedRows


class PaddockTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict:
            rows = [key for key, value in obj.items() if _stored(value) is not None]
            if rows:
                return self._with_encoded_rows(obj, rows)
        return super().encode(obj)

    def _with_encoded_rows(self, state: dict[Any, Any], rows: list[Any]) -> bytes:
        """The object as the stock encoder writes it, in one call, with a marker in place of
        each encoded list of rows, and then the rows' bytes in place of the marker. (A marker
        found other than once, in a value that happens to hold its text, falls back to
        encoding those rows.)"""
        marked = dict(state)
        for key in rows:
            marked[key] = _MARKER
        text = super().encode(marked)
        if text.count(_MARKER_BYTES) != len(rows):
            return super().encode(state)
        for key in rows:
            text = text.replace(_MARKER_BYTES, _stored(state[key]) or b"", 1)
        return text


_MARKER = "\x00paddock:encoded-rows\x00"
_MARKER_BYTES = b'"\\u0000paddock:encoded-rows\\u0000"'
"""How the stock encoder writes `_MARKER` (control characters escaped)."""


def _stored(value: Any) -> bytes | None:
    return value.stored if type(value) is EncodedRows else None
