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

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED
