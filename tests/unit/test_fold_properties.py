"""Properties of the projections, on the events of the real demo season (in memory, no I/O).

(a) the fold does not depend on how the aggregates' events are interleaved;
(b) folding incrementally, with views read in between, ends where a replay from zero ends;
(c) canonical JSON is byte-stable and round-trips.

Two logs: the demo season as `load_demo` records it, and the same season followed by the kind
of corrections the demo has none of (a second R5 version, an amended and a rescinded decision, a
points deduction, a corrected pole, a tie decision, a declared entry, a revised
definition, organiser decisions, a late award), so that several facts compete for each key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import PaddockError
from domain.partitions import championship_partition
from projections.canonical import canonical_json, decimal_number, iso_utc, to_plain
from projections.history_view import history_view
from projections.invitations_view import invitations_view
from projections.ledger import LedgerFold, LedgerState
from projections.standings_view import standings_view
from services.alkamel import parse_alkamel
from services.demo import (
    ASLMS,
    DEMO_OFFICIAL,
    DEMO_STEWARD,
    LEMANS,
    R5_OFFICIAL,
    SEASONS,
    TELLING_DATES,
    load_demo,
    season_dir,
)
from services.ledger import Ledger
from services.season_files import ChampionshipFile, load_season_file

Event = tuple[int, Any]
RECORDING_STARTS = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)


class _SteppingClock:
    """Every append is recorded one minute after the previous one."""

    def __init__(self) -> None:
        self.now = RECORDING_STARTS

    def __call__(self) -> datetime:
        self.now += STEP
        return self.now


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def record_corrections(ledger: Ledger) -> None:
    """Facts after the demo season that compete with, amend or revoke earlier ones."""
    act = {"actor": "test", "source": "test"}
    official = parse_alkamel((season_dir() / R5_OFFICIAL).read_bytes(), source=R5_OFFICIAL)
    ledger.import_classification(ASLMS, 5, official, status="official",
                                 published_at=_at("2024-02-12T10:00:00+04:00"), **act)
    ledger.amend_penalty(ASLMS, 5, "R5-car3-time",
                         DecisionTerms(DecisionKind.TIME_PENALTY, "3", seconds=Decimal(60)),
                         reason="reduced on review", effective_at=_at("2024-02-13T12:00:00+04:00"),
                         signed_by=DEMO_STEWARD, **act)
    ledger.rescind_penalty(ASLMS, 5, "R5-car19-max-drive-time", reason="appeal upheld",
                           effective_at=_at("2024-02-14T12:00:00+04:00"), signed_by=DEMO_STEWARD, **act)
    ledger.record_pole(ASLMS, 5, "GT", "91", effective_at=None, **act)
    ledger.record_pole(ASLMS, 5, "GT", "88", effective_at=_at("2024-02-12T09:00:00+04:00"),
                       **act)  # a corrected pole
    ledger.impose_penalty(ASLMS, 4, DecisionTerms(DecisionKind.POINTS_DEDUCTION, "22",
                                                  points=Decimal("2.5")),
                          reference="R4-car22-points", reason="",
                          effective_at=_at("2024-02-15T12:00:00+04:00"), signed_by=DEMO_STEWARD, **act)
    ledger.resolve_tie(ASLMS, "LMP3", ["17", "2"], reference="SC-LMP3", reason="test decision",
                       effective_at=_at("2024-02-16T12:00:00+04:00"), signed_by=DEMO_OFFICIAL, **act)
    ledger.declare_entry(ASLMS, {"car": "22", "team": "Proton Competition (declared)",
                                 "class": "LMP2", "drivers": []},
                         effective_at=_at("2024-01-15T00:00:00+00:00"), **act)
    season = load_season_file(SEASONS / f"{ASLMS}.toml")
    assert isinstance(season, ChampionshipFile)
    revised = season.to_record()
    revised["rounds"][4]["half_points"] = True
    ledger.register_championship(revised, effective_at=_at("2024-02-17T00:00:00+00:00"), **act)
    route = "aslms-2023-24/lmp2-champion"
    for status, when in (("confirmed", "2024-02-19T12:00:00+01:00"),
                         ("accepted", "2024-02-25T12:00:00+01:00")):
        ledger.transition_invitation(LEMANS, route, status, holder=None, reason="",
                                     effective_at=_at(when), **act)
    ledger.grant_award("imsa-2023/hypercar-invitation", name="IMSA Hypercar invitation",
                       series="imsa", recipient={"team": "Wayne Taylor Racing"},
                       effective_at=_at("2024-01-20T00:00:00-05:00"), signed_by=DEMO_OFFICIAL, **act)


@lru_cache(maxsize=2)
def events_of(log: str) -> tuple[Event, ...]:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=_SteppingClock())
    load_demo(ledger)
    if log == "corrected":
        record_corrections(ledger)
    return tuple(ledger.read_events())


LOGS = ["demo", "corrected"]

AS_OF = [
    datetime(2023, 10, 1, tzinfo=UTC),  # before the season was defined
    *(datetime.fromisoformat(at) for at, _ in TELLING_DATES),
    datetime(2024, 2, 11, 17, 30, tzinfo=UTC),  # between the decisions and the official mark
    _at("2024-02-13T18:00:00+04:00"),  # second R5 version, amended decision
    _at("2024-02-16T18:00:00+04:00"),  # rescinded decision, deduction, tie decision
    _at("2024-02-20T00:00:00+00:00"),  # revised definition, confirmed invitation
    datetime(2030, 1, 1, tzinfo=UTC),
]


@lru_cache(maxsize=2)
def time_points(log: str) -> tuple[tuple[datetime, datetime], ...]:
    """(as_of, known_at) pairs: every as_of date with all knowledge, and a few partial logs."""
    everything = datetime(2030, 1, 1, tzinfo=UTC)
    recorded = [e.recorded_at for _, e in events_of(log)]
    partial = [RECORDING_STARTS, recorded[len(recorded) // 2], recorded[-2]]
    return (*((a, everything) for a in AS_OF), *((everything, k) for k in partial))


View = Callable[[LedgerState, datetime, datetime], dict[str, Any]]
VIEWS: dict[str, View] = {
    "standings": lambda s, a, k: standings_view(s, ASLMS, a, k),
    "invitations": lambda s, a, k: invitations_view(s, LEMANS, a, k),
    "history": lambda s, a, k: history_view(s, ASLMS, a, k),
}


def body(view: View, state: LedgerState, as_of: datetime, known_at: datetime) -> str:
    """The canonical view without its log position, or the error it answers with."""
    try:
        value = view(state, as_of, known_at)
    except PaddockError as error:
        return f"{type(error).__name__}: {error}"
    return canonical_json({k: v for k, v in value.items() if k != "log_position"})


def snapshot(state: LedgerState, log: str) -> dict[tuple[str, datetime, datetime], str]:
    return {
        (name, a, k): body(view, state, a, k)
        for name, view in VIEWS.items()
        for a, k in time_points(log)
    }


def positions_known(state: LedgerState, log: str) -> list[int]:
    return [state.position_known_at(k) for _, k in time_points(log)]


@lru_cache(maxsize=2)
def reference(log: str) -> tuple[dict[tuple[str, datetime, datetime], str], list[int]]:
    state = LedgerFold().apply_all(events_of(log))
    return snapshot(state, log), positions_known(state, log)


# -- sanity: the logs are what the properties assume ------------------------------------------

EVERYTHING = datetime(2030, 1, 1, tzinfo=UTC)
FINAL = datetime.fromisoformat(TELLING_DATES[-1][0])


def _rows(views: dict[tuple[str, datetime, datetime], str], as_of: datetime,
          class_id: str) -> list[tuple[str, Any, str | None]]:
    standings = json.loads(views[("standings", as_of, EVERYTHING)])
    rows = next(c for c in standings["classes"] if c["class"] == class_id)["rows"]
    return [(r["car"], r["points"], r["decided_by"] or r["tie"]) for r in rows[:3]]


def test_demo_log() -> None:
    events = events_of("demo")
    assert [p for p, _ in events] == list(range(1, len(events) + 1))
    assert len(events) == 26
    # 1+1 definitions, 2 awards, 5 rounds, 3 decisions
    assert len({e.originator_id for _, e in events}) == 14  # 12 aggregates and the two demo signing keys
    views, known = reference("demo")
    assert _rows(views, FINAL, "LMP2") == [("4", 83, None), ("22", 71, None), ("99", 70, None)]
    assert _rows(views, FINAL, "LMP3")[:2] == [("2", 101, "unresolved"), ("17", 101, "unresolved")]
    assert known == [26] * len(AS_OF) + [0, 14, 25]
    assert views[("standings", AS_OF[0], EVERYTHING)].startswith(
        "UnknownChampionshipError: championship 'aslms-2023-24' was not yet registered")


def test_corrected_log_changes_what_the_corrections_should_change() -> None:
    events = events_of("corrected")
    assert len(events) == 39
    views, known = reference("corrected")
    demo_views, _ = reference("demo")
    assert views[("standings", FINAL, EVERYTHING)] != demo_views[("standings", FINAL, EVERYTHING)]
    # The tie decision orders LMP3 from 16 Feb on; before, the tie stands.
    at_16 = _at("2024-02-16T18:00:00+04:00")
    assert _rows(views, at_16, "LMP3")[:2] == [("17", 101, "decision SC-LMP3"),
                                              ("2", 101, "decision SC-LMP3")]
    # R5 at half points from 17 Feb: 12.5 points for a win.
    later = json.loads(views[("standings", EVERYTHING, EVERYTHING)])
    lmp2 = next(c for c in later["classes"] if c["class"] == "LMP2")["rows"]
    assert any(r["round"] == 5 and r["points"] == 12.5 for row in lmp2 for r in row["rounds"])
    invitations = json.loads(views[("invitations", EVERYTHING, EVERYTHING)])
    route = next(r for r in invitations["routes"] if r["route"] == "aslms-2023-24/lmp2-champion")
    assert (route["status"], route["holder"]["car"]) == ("accepted", "4")
    assert known[:len(AS_OF)] == [39] * len(AS_OF)


# -- (a) order independence --------------------------------------------------------------------


def _groups(log: str) -> dict[Any, list[Event]]:
    groups: dict[Any, list[Event]] = {}
    for position, event in events_of(log):
        groups.setdefault(event.originator_id, []).append((position, event))
    return groups


@st.composite
def interleavings(draw: st.DrawFn, log: str) -> list[Event]:
    """A permutation of the log that keeps each aggregate's own events in version order."""
    groups = _groups(log)
    tokens = [key for key, events in groups.items() for _ in events]
    order = draw(st.permutations(tokens))
    cursors = {key: iter(events) for key, events in groups.items()}
    return [next(cursors[key]) for key in order]


def _keeps_aggregate_order(events: list[Event]) -> bool:
    last: dict[Any, int] = {}
    for _, event in events:
        if event.originator_version <= last.get(event.originator_id, 0):
            return False
        last[event.originator_id] = event.originator_version
    return True


# The corrected log holds the demo log: the properties are drawn on it.


@pytest.mark.slow(12)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fold_is_independent_of_interleaving(data: st.DataObject) -> None:
    log = "corrected"
    events = data.draw(interleavings(log))
    assert _keeps_aggregate_order(events)
    assert sorted(p for p, _ in events) == [p for p, _ in events_of(log)]
    state = LedgerFold().apply_all(events)
    views, known = reference(log)
    assert snapshot(state, log) == views
    assert positions_known(state, log) == known  # the log position does not depend on it either


@pytest.mark.parametrize("log", LOGS)
def test_fold_of_whole_aggregates_in_reverse_order(log: str) -> None:
    groups = _groups(log)
    events = [e for key in reversed(list(groups)) for e in groups[key]]
    assert events != list(events_of(log))
    assert snapshot(LedgerFold().apply_all(events), log) == reference(log)[0]


# -- (b) incremental equals replay ---------------------------------------------------------------


@pytest.mark.parametrize("log", LOGS)
def test_incremental_fold_with_views_in_between_equals_replay(log: str) -> None:
    events = events_of(log)
    live = LedgerFold()
    for i, (position, event) in enumerate(events, start=1):
        live.apply(position, event)
        prefix = LedgerFold().apply_all(events[:i])
        for view in VIEWS.values():
            assert body(view, live.state, EVERYTHING, EVERYTHING) == body(
                view, prefix, EVERYTHING, EVERYTHING)
        assert live.state.position_known_at(EVERYTHING) == position
    assert snapshot(live.state, log) == reference(log)[0]


@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_incremental_fold_in_any_interleaving_equals_replay(data: st.DataObject) -> None:
    log = "corrected"
    events = data.draw(interleavings(log))
    read_after = data.draw(st.sets(st.integers(0, len(events) - 1), max_size=5))
    live = LedgerFold()
    for i, (position, event) in enumerate(events):
        live.apply(position, event)
        if i in read_after:  # reading views must not disturb the fold
            for a, k in time_points(log)[-4:]:
                for view in VIEWS.values():
                    body(view, live.state, a, k)
    assert snapshot(live.state, log) == reference(log)[0]


def test_ledger_live_state_equals_replay() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=_SteppingClock())
    load_demo(ledger)  # queries while loading fold the log incrementally
    live_before = canonical_json(ledger.standings(ASLMS, as_of=FINAL, known_at=EVERYTHING))
    record_corrections(ledger)
    for as_of in (FINAL, EVERYTHING):
        live = canonical_json(ledger.standings(ASLMS, as_of=as_of, known_at=EVERYTHING))
        replayed = canonical_json(standings_view(ledger.replay(), ASLMS, as_of, EVERYTHING))
        assert live == replayed
    # the position of the championship's last fact, not of the log's last event (the demo's
    # Le Mans facts come after the corrections: they are not part of this answer)
    own = [position for position, _ in ledger.read_partitions([championship_partition(ASLMS)])]
    assert json.loads(live)["log_position"] == own[-1] == 35 < ledger.head()
    assert json.loads(live_before)["log_position"] == 26


# -- (c) canonical JSON -------------------------------------------------------------------------


def _final_views() -> list[tuple[str, str]]:
    at = datetime.fromisoformat(TELLING_DATES[-1][0])
    k = datetime(2030, 1, 1, tzinfo=UTC)
    texts = []
    for name, view in VIEWS.items():
        first = canonical_json(view(LedgerFold().apply_all(events_of("corrected")), at, k))
        second = canonical_json(view(LedgerFold().apply_all(events_of("corrected")), at, k))
        assert first == second, name
        texts.append((name, first))
    return texts


@pytest.mark.parametrize("name", list(VIEWS))
def test_canonical_json_of_views_is_byte_stable(name: str) -> None:
    text = dict(_final_views())[name]
    parsed = json.loads(text)
    assert canonical_json(parsed) == text  # a parse and re-dump gives the same bytes
    assert text == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert parsed["as_of"] == "2024-02-11T20:00:00Z"  # 2024-02-12T00:00+04:00 in UTC
    assert parsed["known_at"] == "2030-01-01T00:00:00Z"


def test_canonical_view_numbers_and_names() -> None:
    text = dict(_final_views())["standings"]
    assert '"championship":"aslms-2023-24"' in text
    assert '"car":"4","countback":[' in text  # keys sorted within each object
    assert '"points":83,' in text  # integral Decimal points are plain integers
    assert "DELÉTRAZ" in text  # not escaped
    assert "Decimal" not in text and "+04:00" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.5"), "12.5"),
        (Decimal(83), "83"),
        (Decimal("83.00"), "83"),
        (Decimal(0), "0"),
        (Decimal(-3), "-3"),
        (Decimal("0.5"), "0.5"),
        (Decimal("18.75"), "18.75"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.1"), "0.1"),
        (datetime(2024, 2, 11, 22, 0, tzinfo=timezone(timedelta(hours=4))),
         '"2024-02-11T18:00:00Z"'),
        (datetime(2023, 12, 2, 17, 0, tzinfo=timezone(timedelta(hours=8))),
         '"2023-12-02T09:00:00Z"'),
        (datetime(2024, 2, 11, 18, 0, 0, 500000, tzinfo=UTC), '"2024-02-11T18:00:00.500000Z"'),
        ({"b": 1, "a": [1, 2], "c": {"z": None, "y": True}},
         '{"a":[1,2],"b":1,"c":{"y":true,"z":null}}'),
        ((Decimal(25), Decimal("12.5")), "[25,12.5]"),
        ({1: "one"}, '{"1":"one"}'),
        ("Louis DELÉTRAZ", '"Louis DELÉTRAZ"'),
    ],
)
def test_canonical_json_values(value: Any, text: str) -> None:
    assert canonical_json(value) == text


def test_decimal_number_types() -> None:
    assert type(decimal_number(Decimal("83.0"))) is int
    assert type(decimal_number(Decimal("12.5"))) is float
    # Not exactly representable as a binary float: kept exact, as a string.
    assert decimal_number(Decimal("0.10000000000000000001")) == "0.10000000000000000001"


def test_canonical_json_refuses_nan_floats() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


@settings(max_examples=100, deadline=None)
@given(st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False,
                   allow_infinity=False))
def test_canonical_decimals_round_trip_exactly(value: Decimal) -> None:
    text = canonical_json({"points": value})
    back = json.loads(text, parse_float=Decimal, parse_int=Decimal)["points"]
    assert back == value
    assert canonical_json(json.loads(text)) == text
    assert canonical_json({"points": value}) == canonical_json({"points": value.normalize()})


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_canonical_datetimes_are_utc_with_z(naive: datetime, offset_minutes: int) -> None:
    value = naive.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = iso_utc(value)
    assert text.endswith("Z") and "+" not in text
    assert datetime.fromisoformat(text) == value
    assert canonical_json(value) == json.dumps(text)
    assert to_plain([value]) == [text]
