"""The attributes every recorded fact carries: the two time axes and its provenance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Fact:
    """`effective_at`: when it holds in the sporting world. `recorded_at`: when the service
    appended it (set by the application's clock, never by a producer). `actor`: who acted;
    `source`: what carried it (a file and its digest, a command, a message id)."""

    effective_at: datetime
    recorded_at: datetime
    actor: str
    source: str
