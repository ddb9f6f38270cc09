"""A permanent idempotency key: one receipt per producer message id, saved atomically with the
facts the message produced. A resend, even long after the broker's dedupe window, finds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact
from domain.ids import natural_id


def receipt_path(message_id: str) -> str:
    return f"/ingest/messages/{message_id}"


class IngestReceipt(Aggregate):
    class Received(Aggregate.Created, Fact):
        message_id: str
        subject: str
        digest: str
        outcome: str
        what: str

    @staticmethod
    def create_id(message_id: str, **_: Any) -> UUID:
        return natural_id(receipt_path(message_id))

    @event(Received)
    def __init__(self, message_id: str, subject: str, digest: str, outcome: str, what: str,
                 effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.message_id = message_id
        self.digest = digest
        self.outcome = outcome
        self.what = what
        self.recorded_at = recorded_at
