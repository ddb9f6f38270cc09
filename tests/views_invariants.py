"""The invariant of persisted live views, checked against folds of the log from zero.

After the views are brought to log position P:
- the stored names are the names of the live views of events 1..P;
- each stored body is, byte for byte, the live view of events 1..Q, Q being its own
  `log_position` (Q <= P): a replay from zero to Q gives the same bytes;
- and nothing was missed since Q: apart from its header (as_of, known_at, log_position), it is
  the live view of events 1..P.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from projections.catalog import CATALOG, Catalog
from projections.ledger import LedgerFold, LedgerState
from projections.live_views import live_views

Event = tuple[int, Any]
HEADER = ("as_of", "known_at", "log_position")


def fold_to(events: Iterable[Event], position: int) -> LedgerState:
    return LedgerFold().apply_all((p, e) for p, e in events if p <= position)


def content(body: str) -> dict[str, Any]:
    return {k: v for k, v in json.loads(body).items() if k not in HEADER}


def log_position(body: str) -> int:
    return int(json.loads(body)["log_position"])


def check_views(events: Sequence[Event], stored: Mapping[str, str], position: int,
                catalog: Catalog = CATALOG) -> None:
    live = live_views(fold_to(events, position), catalog=catalog)
    assert sorted(stored) == sorted(live), f"at {position}"
    for name, body in stored.items():
        own = log_position(body)
        assert own <= position, (name, own, position)
        assert body == live_views(fold_to(events, own), [name], catalog=catalog)[name], (name, own)
        assert content(body) == content(live[name]), (name, own, position)
