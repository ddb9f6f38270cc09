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
        if type(obj) is dict and any(_stored(v) is not None for v in obj.values()):
            return self._with_encoded_rows(obj)
        return super().encode(obj)

    def _with_encoded_rows(self, state: dict[Any, Any]) -> bytes:
        """The object as the stock encoder writes a dict (`{"key":value,...}`, insertion order),
        each value encoded on its own, encoded rows as they are."""
        if not all(type(key) is str for key in state):
            return super().encode(state)
        parts = []
        for key, value in state.items():
            encoded = _stored(value) or self.encoder.encode(value).encode("utf8")
            parts.append(self.encoder.encode(key).encode("utf8") + b":" + encoded)
        return b"{" + b",".join(parts) + b"}"


def _stored(value: Any) -> bytes | None:
    return value.stored if type(value) is EncodedRows else None
