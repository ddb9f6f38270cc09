"""What the Ledger's mixins (entry-list desk, signing desk) use of the Ledger itself: declared
for the type checker only, implemented by services/ledger.py."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventsourcing.domain import Aggregate

    from projections.ledger import LedgerState
    from services.outcome import Outcome

A = TypeVar("A", bound="Aggregate")


class LedgerPort:
    if TYPE_CHECKING:
        clock: Callable[[], datetime]

        def event_state(self, event_id: str) -> LedgerState: ...

        def keys_state(self) -> LedgerState: ...

        def _event_answer(self, event_id: str) -> LedgerState: ...

        def known(self, kind: str, limit: int = 20) -> str: ...

        def find(self, cls: type[A], **key: Any) -> A | None: ...

        def _append(self, what: str, *aggregates: Aggregate) -> Outcome: ...

        def _times(self, as_of: datetime | None,
                   known_at: datetime | None) -> tuple[datetime, datetime]: ...
