"""What a command did: appended new facts, or recognised a duplicate."""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Outcome:
    status: str
    what: str
    positions: tuple[int, ...] = ()
    pending: tuple[tuple[object, int], ...] = ()  # (aggregate id, version) of deferred events

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED
