"""Standings views assembled from remembered, pre-encoded parts (`Encoded` class blocks and round
summaries, projections/standings_view.py) are byte-identical to the plain encoding of the same
view, and to the view computed on a fresh fold; and a part whose inputs did not change is the
same object (not recomputed, not encoded again)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import PaddockError
from projections.canonical import Encoded, canonical_json, to_plain
from projections.ledger import LedgerFold, LedgerState
from projections.standings_view import standings_view
from tests.unit.test_partition_folds import Plan, build_log


def plain_json(value: Any) -> str:
    """The definition canonical JSON must meet: `to_plain`, then `json.dumps` sorted, compact."""
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
                  st.decimals(allow_nan=False, allow_infinity=False, places=2,
                              min_value=-1000, max_value=1000),
                  st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                               timezones=st.timezones()))
_KEYS = st.sampled_from(["a", "classes", "rounds", "z", "name", "é", "\"q\"", "classes\":[]"])
_VALUE = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(_KEYS, inner, max_size=3), max_leaves=12)
_PART = st.dictionaries(_KEYS, _VALUE, max_size=4).map(Encoded)
_TOP = st.dictionaries(_KEYS, st.one_of(_VALUE, st.lists(_PART, min_size=1, max_size=3)),
                       max_size=6)


@settings(max_examples=300, deadline=None)
@given(view=_TOP)
def test_a_view_spliced_from_encoded_parts_is_its_plain_encoding(view: dict[str, Any]) -> None:
    assert canonical_json(view) == plain_json(view)


def test_an_encoded_part_reads_as_a_dict_and_carries_its_own_json() -> None:
    part = Encoded({"points": Decimal("2.50"), "car": "7"})
    assert part == {"points": Decimal("2.50"), "car": "7"}
    assert part.json == '{"car":"7","points":2.5}'
    assert canonical_json({"classes": [part], "b": 1}) == '{"b":1,"classes":[{"car":"7","points":2.5}]}'


def _view(state: LedgerState, cid: str, at: datetime) -> dict[str, Any] | None:
    try:
        return standings_view(state, cid, at, at)
    except PaddockError:
        return None


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_live_standings_from_remembered_parts_equal_a_fresh_fold_byte_for_byte(seed: int) -> None:
    events = build_log(Plan(championships=2, events=1, seed=seed, facts=40))
    live = LedgerFold()
    for position, event in events:
        live.apply(position, event)
        at = event.recorded_at
        fresh = LedgerFold().apply_all(e for e in events if e[0] <= position)
        for cid in ("pc-0", "pc-1"):
            warm, cold = _view(live.state, cid, at), _view(fresh, cid, at)
            assert (warm is None) == (cold is None)
            if warm is not None:
                assert canonical_json(warm) == plain_json(warm) == canonical_json(cold)


def test_a_class_no_new_fact_touches_keeps_its_block_and_round_summaries() -> None:
    events = build_log(Plan(championships=1, events=0, seed=5, facts=60))
    live = LedgerFold()
    before: dict[str, Any] | None = None
    reused = 0
    for position, event in events:
        live.apply(position, event)
        view = _view(live.state, "pc-0", event.recorded_at)
        if view is not None and before is not None and view["classes"] != before["classes"]:
            reused += sum(old is new  # unchanged inputs: the same part, not made again
                          for old, new in zip(before["classes"], view["classes"], strict=True))
        before = view
    assert reused > 0, "no fact changed one class and not another: the log tests nothing"
