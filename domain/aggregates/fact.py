"""The attributes every recorded fact carries: the two time axes and its provenance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import TimeOrderError


@dataclass(frozen=True)
class Fact:
    """`effective_at`: when it holds in the sporting world. `recorded_at`: when the service
    appended it (set by the application's clock, never by a producer). `actor`: who acted;
    `source`: what carried it (a file and its digest, a command, a message id)."""

    effective_at: datetime
    recorded_at: datetime
    actor: str
    source: str


def check_revision_time(versions_at: list[datetime], effective_at: datetime) -> None:
    """A new version of a definition needs its own effective time, or which one is in force
    would depend on content rather than on time."""
    if effective_at in versions_at:
        raise TimeOrderError(
            f"this revision takes effect at {effective_at.isoformat()}, like version "
            f"{versions_at.index(effective_at) + 1}: give it its own effective_at "
            "so it is clear which version is in force when"
        )
