"""A dead letter never grows past what the server accepts, whatever the rejected message
carried (issue 9 item 1: one hostile message must not break the connection of its batch)."""

from __future__ import annotations

from nats.aio.msg import Msg

from infra.workers.dead_letter import ORIGINAL_HEADERS_MAX, letter
from services.ingest import REJECTED, IngestResult

ACK = "$JS.ACK.PADDOCK_INGEST.ingest.1.42.42.1700000000000000000.0"
RESULT = IngestResult(REJECTED, "m1", reason="bad_header", detail="header Nats-Msg-Id: …")


def rejected(data: bytes, headers: dict[str, str]) -> Msg:
    return Msg(_client=None, subject="paddock.ingest.timing.pole.recorded", reply=ACK,  # type: ignore[arg-type]
               data=data, headers=headers)


def size(data: bytes, headers: dict[str, str]) -> int:
    return len(data) + sum(len(k) + len(v.encode()) + 4 for k, v in headers.items())


def test_many_large_headers_are_counted_not_copied() -> None:
    headers = {f"X-H{i}": "v" * 5000 for i in range(200)}
    data, out = letter(rejected(b"{}", headers), RESULT, "bad_header", stream="PADDOCK_INGEST",
                       max_payload=1024 * 1024)
    copied = {k: v for k, v in out.items() if k.startswith("Paddock-Original-X-")}
    assert 0 < len(copied) < 200 and size(b"", copied) <= ORIGINAL_HEADERS_MAX
    assert out["Paddock-Original-Headers-Omitted"] == f"{200 - len(copied)} headers"
    assert data == b"{}" and out["Paddock-Original-Sequence"] == "42"


def test_a_payload_that_would_not_fit_stays_in_the_stream() -> None:
    body = b"x" * (1024 * 1024 - 100)
    data, out = letter(rejected(body, {"Nats-Msg-Id": "m1"}), RESULT, "oversized",
                       stream="PADDOCK_INGEST", max_payload=1024 * 1024)
    assert data == b"" and size(data, out) <= 1024 * 1024
    assert out["Paddock-Payload-Omitted"] == f"{len(body)} bytes; in stream PADDOCK_INGEST at sequence 42"
    small, kept = letter(rejected(b"{}", {}), RESULT, "oversized", stream="PADDOCK_INGEST",
                         max_payload=1024 * 1024)
    assert small == b"{}" and "Paddock-Payload-Omitted" not in kept
