"""Rounds remembered between seasons (`remembered_round`, `SeasonAt.score`) give the standings
a computation from scratch gives: on a long-lived fold asked at many points on both time axes,
as the log grows, equal to a fresh fold asked once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import PaddockError
from domain.standings import class_standings, driver_standings
from projections.canonical import canonical_json
from projections.ledger import LedgerFold, LedgerState
from projections.round_state import round_state
from projections.standings_view import season_at, standings_view
from tests.unit.test_partition_folds import Plan, build_log


def _view(state: LedgerState, cid: str, as_of: object, known_at: object) -> str | None:
    try:
        return canonical_json(standings_view(state, cid, as_of, known_at))  # type: ignore[arg-type]
    except PaddockError:
        return None


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_remembered_rounds_give_the_standings_of_a_fresh_fold(seed: int, data: st.DataObject
                                                               ) -> None:
    events = build_log(Plan(championships=2, events=1, seed=seed, facts=25))
    cids = ["pc-0", "pc-1"]
    live = LedgerFold()
    for position, event in events:
        live.apply(position, event)
        if position % 3:
            continue
        first, last = events[0][1].recorded_at, event.recorded_at
        for _ in range(2):
            known = first + (last - first) * data.draw(st.floats(0, 1))
            as_of = known + timedelta(hours=data.draw(st.integers(-30, 60)))
            fresh = LedgerFold().apply_all(e for e in events if e[0] <= position)
            for cid in cids:
                assert _view(live.state, cid, as_of, known) == _view(fresh, cid, as_of, known)


def test_scores_are_those_of_score_round() -> None:
    events = build_log(Plan(championships=2, events=1, seed=21, facts=30))
    state = LedgerFold().apply_all(events)
    at = events[-1][1].recorded_at
    season = season_at(state, "pc-0", at, at)
    assert season.rounds
    for class_id in season.definition.class_ids():
        assert season.standings(class_id) == class_standings(
            season.definition, season.inputs(), class_id, season.ties)
        assert driver_standings(season.definition, season.inputs(), class_id, [], season.score) \
            == driver_standings(season.definition, season.inputs(), class_id, [])
    for number, rs in season.rounds.items():
        assert rs == round_state(state, season.definition, number, at, at)
