"""An award decided by a series (e.g. IMSA's Jim Trueman Award), not computed from points."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.fact import Fact
from domain.ids import award_path, natural_id


class Award(Aggregate):
    class Granted(Aggregate.Created, Fact):
        award: str
        name: str
        series: str
        recipient: dict[str, Any]
        signature: dict[str, str]

    @staticmethod
    def create_id(award: str, **_: Any) -> UUID:
        return natural_id(award_path(award))

    @event(Granted)
    def __init__(self, award: str, name: str, series: str, recipient: dict[str, Any],
                 signature: dict[str, str], effective_at: datetime, recorded_at: datetime, actor: str, source: str) -> None:
        self.award = award
        self.recipient = recipient
        self.granted_at = effective_at
