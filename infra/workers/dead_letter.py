"""The dead letter of a rejected message: its payload and headers with the reason, bounded so
that no hostile message can make it too large to publish (the server closes a connection that
publishes over its maximum payload, and with it the worker's whole batch)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from nats.aio.msg import Msg

from services.ingest import IngestResult
from services.ingest_headers import MESSAGE_ID, shown

ORIGINAL_HEADERS_MAX = 16 * 1024  # bytes of copied headers; the rest is counted, not copied
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # what a client may publish as a name
_FRAME = 64  # "NATS/1.0" line, the final CRLF, and slack


def letter(msg: Msg, result: IngestResult, reason: str, *, stream: str,
           max_payload: int, subject: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The payload and headers to publish on the dead-letter subject for `reason`. The payload
    is left out (the original stays in `stream`, named by its sequence) when both would not fit
    in `max_payload`. `subject`: the one the producer published (the stream's has the group)."""
    sequence = msg.metadata.sequence.stream
    headers = _original_headers(msg.headers or {})
    headers.update({
        "Paddock-Original-Subject": subject or msg.subject,
        "Paddock-Original-Sequence": str(sequence),
        "Paddock-Reason": reason,
        "Paddock-Detail": _one_line(result.detail or ""),
        "Paddock-Message-Id": result.message_id,
        MESSAGE_ID: f"dlq-{result.message_id}",
    })
    omitted = {"Paddock-Payload-Omitted": f"{len(msg.data)} bytes; in stream {stream} "
                                          f"at sequence {sequence}"}
    if len(msg.data) + _size(headers | omitted) > max_payload:
        return b"", headers | omitted
    return msg.data, headers


def _original_headers(original: Mapping[str, str]) -> dict[str, str]:
    """As `Paddock-Original-<name>`: values escaped and cut, names a client could not publish
    left out, at most ORIGINAL_HEADERS_MAX bytes in all."""
    copied: dict[str, str] = {}
    for name, value in original.items():
        if not _HEADER_NAME.fullmatch(name):
            continue
        entry = {f"Paddock-Original-{name}": shown(value, 1000)[1:-1]}
        if _size(copied | entry) > ORIGINAL_HEADERS_MAX:
            copied["Paddock-Original-Headers-Omitted"] = f"{len(original) - len(copied)} headers"
            break
        copied |= entry
    return copied


def _size(headers: Mapping[str, str]) -> int:
    return _FRAME + sum(len(k) + len(v.encode()) + 4 for k, v in headers.items())


def _one_line(text: str, limit: int = 1000) -> str:
    return " ".join(text.split())[:limit]
