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


def test_a_class_view_keeps_only_its_own_poles_and_decisions() -> None:
    from datetime import UTC, datetime

    from projections.standings_view import standings_view
    from services.demo import load_demo
    from services.ledger import Ledger

    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(ledger)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    full = standings_view(ledger.state(), "aslms-2023-24", later, later)
    lmp2 = standings_view(ledger.state(), "aslms-2023-24", later, later, "LMP2")
    r5_full, r5_lmp2 = full["rounds"][4], lmp2["rounds"][4]
    assert sorted(d["car"] for d in r5_full["decisions"]) == ["19", "24", "3"]
    assert sorted(d["car"] for d in r5_lmp2["decisions"]) == ["24", "3"]
    assert full["rounds"][0]["poles"] == {"GT": "42", "LMP2": "90", "LMP3": "20"}
    assert lmp2["rounds"][0]["poles"] == {"LMP2": "90"}
    assert [c["class"] for c in lmp2["classes"]] == ["LMP2"]


def test_an_entry_list_recomputed_later_is_the_same_state_until_the_list_changes() -> None:
    from datetime import datetime, timedelta

    from projections.canonical import canonical_json
    from services.demo import LEMANS
    from services.ledger import Ledger
    from services.lemans_scenario import DECLINED_AT, load_lemans_scenario

    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_lemans_scenario(ledger)

    def at(when: datetime) -> bytes:
        return canonical_json(ledger.entry_list(LEMANS, as_of=when)).encode()

    before, just_before = at(DECLINED_AT - timedelta(days=2)), at(DECLINED_AT - timedelta(hours=1))
    assert json.loads(before)["as_of"] != json.loads(just_before)["as_of"]
    assert _same_state(before, just_before)  # only the times moved: nothing to tell anyone
    assert not _same_state(just_before, at(DECLINED_AT))  # the decline promotes a reserve
