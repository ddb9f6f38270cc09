"""The publisher tells subscribers about changes of state, not about recomputations."""

from __future__ import annotations

import json

import pytest

from infra.workers.publisher import _same_state

BASE = {"classes": [{"class": "GT", "rows": [{"car": "91", "points": 76}]}],
        "as_of": "2024-02-12T00:00:00Z", "known_at": "2024-02-12T00:00:00Z", "log_position": 43}


def body(**changes: object) -> bytes:
    return json.dumps({**BASE, **changes}, sort_keys=True).encode()


@pytest.mark.parametrize(
    ("current", "new", "same"),
    [
        (None, body(), False),
        (body(), body(), True),
        (body(), body(as_of="2024-03-01T00:00:00Z", known_at="2024-03-01T00:00:00Z",
                      log_position=50), True),
        (body(), body(classes=[{"class": "GT", "rows": [{"car": "88", "points": 74}]}],
                      log_position=50), False),
    ],
)
def test_only_a_change_of_state_is_published(current: bytes | None, new: bytes, same: bool) -> None:
    assert _same_state(current, new) is same
