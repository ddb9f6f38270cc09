"""A fetched batch is handled in the stream's order: what a killed holder had fetched comes back
in parts (the part it was appending, kept alive by progress beats, after the part still
waiting), and a group's messages must still be handled in the order they were published."""

from __future__ import annotations

from nats.aio.msg import Msg

from infra.workers.ingest_worker import in_stream_order


def delivery(stream_seq: int, delivered: int) -> Msg:
    reply = f"$JS.ACK.S.ingest-2.1.{stream_seq}.{delivered}.1700000000000000000.0"
    return Msg(None, subject=f"p.ingest.2.x.{stream_seq}", reply=reply, data=b"{}")  # type: ignore[arg-type]


def test_redelivered_parts_are_put_back_in_stream_order() -> None:
    # as seen: classifications 298, 303 redelivered before the registrations 3, 12
    batch = [delivery(298, 30), delivery(303, 31), delivery(3, 32), delivery(12, 33),
             delivery(420, 34)]
    assert [m.metadata.sequence.stream for m in in_stream_order(batch)] == [3, 12, 298, 303, 420]


def test_a_batch_in_order_is_left_as_it_is() -> None:
    batch = [delivery(s, s) for s in (5, 9, 40)]
    assert in_stream_order(batch) == batch
