"""Live views and which views a batch of events may change (pure functions, no I/O).

The logs are the demo season and the demo season with corrections (tests/unit/
test_fold_properties.py), recorded with a clock that moves one minute per append.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import pytest

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.fact import Fact
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.target_event import TargetEvent
from projections.canonical import canonical_json
from projections.catalog import ENTRY_LISTS
from projections.catalog import INVITATIONS as INVITATIONS_KIND
from projections.entry_list_view import entry_list_view
from projections.invitations_view import invitations_view
from projections.ledger import LedgerFold
from projections.live_views import (
    EVERY_ENTRY_LIST,
    EVERY_INVITATION,
    ViewRouter,
    affected_views,
    learn_owners,
    live_time,
    live_views,
    named_views,
)
from projections.partition_folds import LiveFold
from projections.standings_view import standings_view
from services.demo import ASLMS, DEMO_OFFICIAL, LEMANS, load_demo
from services.ledger import Ledger
from services.lemans_scenario import load_lemans_scenario
from tests.unit.test_fold_properties import events_of
from tests.views_invariants import Event, check_views, content, fold_to, log_position

STANDINGS = f"standings/{ASLMS}"
INVITATIONS = f"invitations/{LEMANS}"
ENTRY_LIST = f"entry-list/{LEMANS}"
EVERY_TARGET_EVENT = {EVERY_INVITATION, EVERY_ENTRY_LIST}


def of_type(events: tuple[Event, ...], kind: type) -> list[Any]:
    return [e for _, e in events if isinstance(e, kind)]


# -- affected_views ---------------------------------------------------------------------------


def test_a_championship_event_affects_its_standings_and_every_invitations_view() -> None:
    events = events_of("demo")
    registered = of_type(events, Championship.Registered)
    assert affected_views(registered) == {STANDINGS, *EVERY_TARGET_EVENT}


def test_awards_affect_invitations_and_a_target_event_its_own() -> None:
    events = events_of("demo")
    assert affected_views(of_type(events, Award.Granted)) == EVERY_TARGET_EVENT
    assert affected_views(of_type(events, TargetEvent.Registered)) == {INVITATIONS, ENTRY_LIST}


def test_an_event_of_an_aggregate_not_seen_created_affects_every_view() -> None:
    events = events_of("demo")
    published = of_type(events, RaceClassification.Published)[:1]
    assert affected_views(published) is None
    owners: dict[Any, str] = {}
    learn_owners((e for _, e in events), owners)
    assert affected_views(published, owners) == {STANDINGS, *EVERY_TARGET_EVENT}


def test_a_batch_names_its_own_aggregates() -> None:
    events = [e for _, e in events_of("demo")]
    assert affected_views(events) == {STANDINGS, INVITATIONS, ENTRY_LIST, *EVERY_TARGET_EVENT}
    assert affected_views([]) == set()


def test_organiser_decisions_affect_only_their_event() -> None:
    events = events_of("corrected")
    owners: dict[Any, str] = {}
    learn_owners((e for _, e in events), owners)
    decisions = of_type(events, Invitation.Transitioned)
    assert decisions
    assert affected_views(decisions, owners) == {INVITATIONS, ENTRY_LIST}


# -- live_views -------------------------------------------------------------------------------


@pytest.mark.parametrize("log", ["demo", "corrected"])
def test_live_views_are_the_views_at_the_latest_recorded_time(log: str) -> None:
    state = LedgerFold().apply_all(events_of(log))
    t = live_time(state)
    assert t == max(e.recorded_at for _, e in events_of(log))
    head = state.position_known_at(t)  # a live view names the position it is the view of
    assert live_views(state) == {
        STANDINGS: canonical_json({**standings_view(state, ASLMS, t, t), "log_position": head}),
        INVITATIONS: canonical_json({**invitations_view(state, LEMANS, t, t), "log_position": head}),
        ENTRY_LIST: canonical_json({**entry_list_view(state, LEMANS, t, t), "log_position": head}),
    }


@pytest.mark.parametrize("log", ["demo", "corrected"])
def test_live_views_are_deterministic(log: str) -> None:
    events = events_of(log)
    first = live_views(LedgerFold().apply_all(events))
    again = live_views(LedgerFold().apply_all(events))
    halves = LedgerFold()
    halves.apply_all(events[: len(events) // 2])
    live_views(halves.state)  # reading in between changes nothing
    halves.apply_all(events[len(events) // 2:])
    assert first == again == live_views(halves.state)
    assert live_views(LedgerFold().apply_all(events), [EVERY_INVITATION]) == {
        INVITATIONS: first[INVITATIONS]
    }


def test_views_that_cannot_be_computed_yet_are_absent() -> None:
    events = events_of("demo")
    assert live_views(fold_to(events, 0)) == {}
    assert live_views(fold_to(events, 2)) == {}  # the two signing keys change no view
    assert list(live_views(fold_to(events, 3))) == [STANDINGS]  # no target event yet
    assert live_views(fold_to(events, 3), [INVITATIONS, "standings/nope", "other/x"]) == {}
    assert list(live_views(fold_to(events, 4))) == [ENTRY_LIST, INVITATIONS, STANDINGS]


# -- LiveFold: the views each batch changes ---------------------------------------------------


def stored_after(events: tuple[Event, ...], size: int, check: bool = False) -> dict[str, str]:
    """What a store holds after following the log in batches of `size`."""
    live, stored = LiveFold(), {}
    for start in range(0, len(events), size):
        batch = events[start:start + size]
        stored.update(live.advance(batch))
        if check:
            check_views(events, stored, batch[-1][0])
    return stored


@pytest.mark.parametrize("log", ["demo", "corrected"])
def test_stored_bodies_do_not_depend_on_batch_sizes(log: str) -> None:
    events = events_of(log)
    whole = stored_after(events, len(events))
    for size in (1, 2, 5, 11):
        assert stored_after(events, size) == whole, size
    check_views(events, whole, events[-1][0])


def test_the_invariant_holds_after_every_batch() -> None:
    stored_after(events_of("corrected"), 4, check=True)


def test_loading_then_following_equals_following_from_zero() -> None:
    events = events_of("corrected")
    resumed = LiveFold()
    resumed.skip(events[:20])
    expected = stored_after(events, 3)
    from_twenty = resumed.advance(events[20:])
    assert all(expected[name] == body for name, body in from_twenty.items())
    assert resumed.position == events[-1][0]


class _JumpingClock:
    """Minutes apart on the evening of R5, before the stewards' decisions take effect."""

    def __init__(self) -> None:
        self.now = datetime(2024, 2, 11, 14, 30, tzinfo=UTC)  # 18:30 in Abu Dhabi

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def test_a_fact_recorded_before_it_takes_effect_changes_the_views_when_time_reaches_it() -> None:
    clock = _JumpingClock()
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    load_demo(ledger)  # decisions at 21:00 and the official mark at 22:00 are not in effect yet
    clock.now = datetime(2024, 2, 12, tzinfo=UTC)
    ledger.grant_award("imsa-2023/hypercar-invitation", name="IMSA Hypercar invitation",
                       series="imsa", recipient={"team": "Wayne Taylor Racing"},
                       effective_at=datetime(2024, 1, 20, tzinfo=UTC), signed_by=DEMO_OFFICIAL, actor="t", source="t")
    events = tuple(ledger.read_events())
    live = LiveFold()
    before = live.advance(events[:-1])
    assert _lmp2_leader(before[STANDINGS]) == ("4", 81)
    after = live.advance(events[-1:])  # an award: about invitations only, but T moved past 22:00
    assert set(after) == {STANDINGS, INVITATIONS, ENTRY_LIST}
    assert _lmp2_leader(after[STANDINGS]) == ("4", 83)
    assert log_position(after[STANDINGS]) == events[-1][0]
    check_views(events, {**before, **after}, events[-1][0])
    assert content(stored_after(events, 1)[STANDINGS]) == content(after[STANDINGS])


def _lmp2_leader(body: str) -> tuple[str, int]:
    lmp2 = next(c for c in json.loads(body)["classes"] if c["class"] == "LMP2")
    return lmp2["rows"][0]["car"], lmp2["rows"][0]["points"]


# -- the entry list of a target event ---------------------------------------------------------


class _SteppingClock:
    """Every append one minute after the previous one (as in tests/unit/test_fold_properties)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def desk_ledger() -> Ledger:
    """The Le Mans 2024 desk (services/lemans_scenario.py) in memory."""
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=_SteppingClock())
    load_lemans_scenario(ledger)
    return ledger


@lru_cache(maxsize=1)
def desk_events() -> tuple[Event, ...]:
    return tuple(desk_ledger().read_events())


DESK_DECISIONS = (TargetEvent.CapacityChanged, TargetEvent.PlaceGranted,
                  TargetEvent.ReservesRanked, TargetEvent.EntryListPublished)


@pytest.mark.parametrize("kind", DESK_DECISIONS)
def test_the_organisers_desk_decisions_affect_their_events_invitations_and_entry_list(
        kind: type) -> None:
    events = desk_events()
    owners: dict[Any, str] = {}
    learn_owners((e for _, e in events), owners)
    decisions = of_type(events, kind)
    assert decisions
    assert affected_views(decisions, owners) == {INVITATIONS, ENTRY_LIST}


def test_the_automatic_entries_championship_affects_every_entry_list() -> None:
    events = desk_events()
    owners: dict[Any, str] = {}
    learn_owners((e for _, e in events), owners)
    wec = [e for e in of_type(events, Championship.Registered) if e.definition["id"] == "wec-2024"]
    entries = of_type(events, Championship.EntryDeclared)
    assert wec
    assert affected_views(wec + entries, owners) == {"standings/wec-2024", *EVERY_TARGET_EVENT}


def test_the_live_entry_list_is_the_entry_list_at_the_latest_recorded_time() -> None:
    state = LedgerFold().apply_all(desk_events())
    t = live_time(state)
    assert t is not None
    views = live_views(state)
    assert views[ENTRY_LIST] == canonical_json(entry_list_view(state, LEMANS, t, t))
    assert live_views(state, [EVERY_ENTRY_LIST]) == {ENTRY_LIST: views[ENTRY_LIST]}
    body = json.loads(views[ENTRY_LIST])
    assert [v["version"] for v in body["versions"]] == [1, 2] and body["published"] is None


def test_the_entry_list_view_follows_the_desk_whatever_the_batches() -> None:
    events = desk_events()
    whole = stored_after(events, len(events))
    for size in (1, 7):
        assert stored_after(events, size) == whole, size
    check_views(events, whole, events[-1][0])
    assert ENTRY_LIST in whole


def test_a_decline_rewrites_the_entry_list_with_the_promoted_reserve() -> None:
    events = desk_events()
    declines = [p for p, e in events if isinstance(e, Invitation.Transitioned)
                and e.status == "declined"]
    assert len(declines) == 1
    live = LiveFold()
    before = live.advance([x for x in events if x[0] < declines[0]])
    after = live.advance([x for x in events if x[0] == declines[0]])
    assert ENTRY_LIST in after and log_position(after[ENTRY_LIST]) == declines[0]
    assert _lmp2_reserves_in(after[ENTRY_LIST]) == _lmp2_reserves_in(before[ENTRY_LIST]) + 1
    check_views(events, {**before, **after}, declines[0])


def _lmp2_reserves_in(body: str) -> int:
    """Reserves holding an LMP2 place (entries of basis `reserve`)."""
    lmp2 = next(c for c in json.loads(body)["classes"] if c["class"] == "LMP2")
    return sum(1 for x in lmp2["entries"] if x["basis"] == "reserve")


def test_an_event_without_places_per_class_has_no_entry_list_until_one_is_decided() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=_SteppingClock())
    act = {"actor": "test", "source": "test"}
    since = datetime(2024, 1, 1, tzinfo=UTC)
    ledger.register_target_event(_event("open-2024"), effective_at=since, **act)
    live = LiveFold()
    assert set(live.advance(ledger.read_events())) == {"invitations/open-2024"}
    ledger.change_capacity("open-2024", "GT", 12, reason="", effective_at=since, **act)
    changed = live.advance(ledger.read_events(live.position))
    assert set(changed) == {"invitations/open-2024", "entry-list/open-2024"}
    assert [c["class"] for c in json.loads(changed["entry-list/open-2024"])["classes"]] == ["GT"]
    check_views(tuple(ledger.read_events()), stored_after(tuple(ledger.read_events()), 1),
                live.position)


def test_an_entry_list_once_written_never_vanishes() -> None:
    """A view store only upserts: a revision dropping every class's places empties the list
    rather than removing it."""
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=_SteppingClock())
    act = {"actor": "test", "source": "test"}
    ledger.register_target_event(_event("caps-2024", gt_places=10),
                                 effective_at=datetime(2024, 1, 1, tzinfo=UTC), **act)
    ledger.register_target_event(_event("caps-2024"), effective_at=datetime(2024, 2, 1, tzinfo=UTC),
                                 **act)
    events = tuple(ledger.read_events())
    views = live_views(fold_to(events, events[-1][0]))
    assert json.loads(views["entry-list/caps-2024"])["classes"] == []
    check_views(events, stored_after(events, 1), events[-1][0])


def _event(event_id: str, gt_places: int | None = None) -> dict[str, Any]:
    gt: dict[str, Any] = {"id": "GT"} if gt_places is None else {"id": "GT", "capacity": gt_places}
    return {"id": event_id, "name": event_id, "capacity": 30, "classes": [gt, {"id": "LMP2"}],
            "invitation_routes": []}


class ReferenceRouter:
    """The router as first written (issue 3): every answer recomputed from all owners seen so
    far, so its cost per event grew with the log. Kept here as the specification the
    constant-cost router must match answer for answer."""

    def __init__(self) -> None:
        self.owners: dict[Any, str] = {}
        self.time: datetime | None = None
        self.deferred: list[tuple[datetime, Any]] = []

    def route(self, event: Any) -> set[str]:
        learn_owners([event], self.owners)
        touched = [event]
        if isinstance(event, Fact) and (self.time is None or event.recorded_at > self.time):
            self.time = event.recorded_at
            touched += [e for _, e in self.deferred]
            self.deferred = [(at, e) for at, e in self.deferred if at > self.time]
        if isinstance(event, Fact) and (self.time is None or event.effective_at > self.time):
            self.deferred.append((event.effective_at, event))
        names = affected_views(touched, self.owners)
        known = {name for owner in self.owners.values() for name in named_views(owner)}
        if names is None:
            return known
        for wildcard, kind in ((EVERY_INVITATION, INVITATIONS_KIND), (EVERY_ENTRY_LIST, ENTRY_LISTS)):
            if wildcard in names:
                names = (names - {wildcard}) | {n for n in known if n.startswith(kind)}
        return names


def test_the_router_answers_as_the_reference_event_by_event() -> None:
    router, reference = ViewRouter(), ReferenceRouter()
    answers = [(router.route(event), reference.route(event)) for _, event in desk_events()]
    assert [ours for ours, _ in answers] == [theirs for _, theirs in answers]
    expanded = [ours for ours, _ in answers if INVITATIONS in ours and ENTRY_LIST in ours]
    assert expanded and not any({EVERY_INVITATION, EVERY_ENTRY_LIST} & ours for ours, _ in answers)
    assert len({name for ours, _ in answers for name in ours}) > 3  # several championships
