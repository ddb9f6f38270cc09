"""The partitioned live fold against the reference: `live_views` over a fold of the whole log
prefix (tests/views_invariants.py), on logs of many partitions (championships, target events
whose routes name some of them and awards, joint classifications, automatic entries), facts
recorded before they take effect, any batch sizes and a partition cache small enough to evict."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workload import race_rows, season_toml
from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import PaddockError
from domain.partitions import EVENT, Partitioner
from projections.ledger import LedgerFold
from projections.partition_folds import LiveFold, PartitionCache, PartitionNotCachedError
from projections.partition_scope import event_dependencies
from projections.shares import Share
from projections.view_scopes import ViewScopes
from services.demo import DEMO_OFFICIAL, DEMO_STEWARD, register_demo_keys
from services.ledger import Ledger
from services.season_files import ChampionshipFile, parse_season_text
from tests.resume_reference import first_positions, resume_point_of
from tests.views_invariants import Event, check_views, content, log_position

START = datetime(2025, 1, 1, 12, tzinfo=UTC)
ACT = {"actor": "test", "source": "test"}
CLASSES = ("LMP2", "LMP3", "GT")


class _Clock:
    def __init__(self) -> None:
        self.now = START - timedelta(days=40)

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Plan:
    """What a random log holds: championships, target events, awards, and the facts' order."""

    championships: int
    events: int
    seed: int
    facts: int


def _championship(cid: str, rounds: int) -> dict[str, Any]:
    parsed = parse_season_text(season_toml(cid, rounds), source="test")
    assert isinstance(parsed, ChampionshipFile)
    return parsed.to_record()


def _target_event(eid: str, rng: random.Random, cids: list[str], awards: list[str]
                  ) -> dict[str, Any]:
    routes: list[dict[str, Any]] = []
    for k, cid in enumerate(rng.sample(cids, min(len(cids), rng.randint(0, 2)))):
        routes.append({"id": f"{eid}/r{k}", "target_class": "LMP2", "description": f"{cid} champ",
                       "source": {"type": "standings", "championship": cid,
                                  "class": rng.choice(CLASSES), "position": 1}})
    if len(cids) >= 2 and rng.random() < 0.5:
        a, b = rng.sample(cids, 2)
        routes.append({"id": f"{eid}/joint", "target_class": "GT", "description": "joint",
                       "source": {"type": "joint", "position": 1,
                                  "parts": [{"championship": a, "class": "GT"},
                                            {"championship": b, "class": "GT"}]}})
    if awards and rng.random() < 0.7:
        routes.append({"id": f"{eid}/award", "target_class": "GT", "description": "award",
                       "source": {"type": "award", "award": rng.choice(awards)}})
    definition: dict[str, Any] = {
        "id": eid, "name": eid, "capacity": 20,
        "classes": [{"id": "LMP2", "capacity": 8}, {"id": "GT", "capacity": 8}],
        "invitation_routes": routes}
    if cids and rng.random() < 0.5:
        definition["automatic_entries"] = [{"championship": rng.choice(cids)}]
    return definition


def build_log(plan: Plan) -> tuple[Event, ...]:
    """A log of many partitions, facts in a random order, some recorded before they take effect."""
    rng = random.Random(plan.seed)
    clock = _Clock()
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    register_demo_keys(ledger)
    cids = [f"pc-{i}" for i in range(plan.championships)]
    eids = [f"te-{i}" for i in range(plan.events)]
    awards = [f"aw-{i}" for i in range(2)]
    files = race_rows()
    actions: list[Any] = [("championship", c) for c in cids] + [("event", e) for e in eids]
    rng.shuffle(actions)
    registered: list[str] = []
    for kind, key in actions:
        clock.now += timedelta(minutes=rng.randint(0, 3))
        if kind == "championship":
            ledger.register_championship(_championship(key, 3), effective_at=clock.now, **ACT)
            registered.append(key)
        else:
            ledger.register_target_event(_target_event(key, rng, cids, awards),
                                         effective_at=clock.now, **ACT)
    published: dict[tuple[str, int], list[str]] = {}
    for _ in range(plan.facts):
        clock.now += timedelta(hours=rng.randint(0, 30))
        try:
            _random_fact(ledger, rng, clock.now, cids, eids, awards, files, published)
        except PaddockError:
            pass  # refused (e.g. a pole for a car of another class): nothing recorded
    return tuple(ledger.read_events())


def _random_fact(ledger: Ledger, rng: random.Random, now: datetime, cids: list[str],
                 eids: list[str], awards: list[str], files: list[Any],
                 published: dict[tuple[str, int], list[str]]) -> None:
    """One fact: effective up to a day before it is recorded, or up to two days after it."""
    effective = now + timedelta(hours=rng.randint(-24, 48))
    cid, number = rng.choice(cids), rng.randint(1, 3)
    roll = rng.random()
    if roll < 0.35:
        rows = files[rng.randrange(len(files))][:rng.randint(3, 12)]
        ledger.import_classification(cid, number, rows, status=rng.choice(["provisional", "official"]),
                                     published_at=effective, **ACT)
        published[(cid, number)] = [r.car for r in rows]
    elif roll < 0.5:
        car = rng.choice(files[0]).car
        ledger.record_pole(cid, number, rng.choice(CLASSES), car, effective_at=effective, **ACT)
    elif roll < 0.75 and published:
        cid, number = rng.choice(sorted(published))
        car = rng.choice(published[(cid, number)])
        terms = (DecisionTerms(DecisionKind.POINTS_DEDUCTION, car, points=Decimal(rng.randint(1, 5)))
                 if rng.random() < 0.5 else
                 DecisionTerms(DecisionKind.TIME_PENALTY, car, seconds=Decimal(rng.choice((5, 60)))))
        ledger.impose_penalty(cid, number, terms, reference=None, reason="test",
                              effective_at=effective, signed_by=DEMO_STEWARD, **ACT)
    elif roll < 0.85 and awards:
        award = awards.pop()
        ledger.grant_award(award, name=award, series="test", recipient={"team": f"team {award}"},
                           effective_at=effective, signed_by=DEMO_OFFICIAL, **ACT)
    elif eids:
        ledger.change_capacity(rng.choice(eids), "GT", rng.randint(1, 9), reason="test",
                               effective_at=effective, **ACT)


def scan_loader(events: tuple[Event, ...], calls: list[str] | None = None) -> Any:
    """Folds a partition again from the log, as the projector's scan fallback does."""
    def load(partition: str, until: int) -> list[Event]:
        if calls is not None:
            calls.append(partition)
        partitioner = Partitioner()
        return [(p, e) for p, e in events if partition in partitioner.partitions(e) and p <= until]
    return load


def follow(events: tuple[Event, ...], batches: Iterable[int], max_partitions: int | None = None,
           check: bool = False, share: Share | None = None) -> tuple[dict[str, str], LiveFold]:
    """What a store holds after following the log in batches of the given sizes (cycled), for
    the views of `share` (default: all)."""
    loader = scan_loader(events) if max_partitions or share else None
    live = LiveFold(loader, max_partitions, share)
    stored: dict[str, str] = {}
    sizes, start, count = list(batches), 0, 0
    while start < len(events):
        size = sizes[count % len(sizes)]
        batch = events[start:start + size]
        stored.update(live.advance(batch))
        start, count = start + size, count + 1
        if check:
            check_views(events, stored, batch[-1][0])
    return stored, live


plans = st.builds(Plan, championships=st.integers(2, 6), events=st.integers(1, 3),
                  seed=st.integers(0, 10_000), facts=st.integers(5, 25))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       bound=st.sampled_from([None, 1, 2, 3]))
def test_partitioned_views_equal_the_reference_from_a_whole_fold(plan: Plan, sizes: list[int],
                                                                 bound: int | None) -> None:
    events = build_log(plan)
    stored, _ = follow(events, sizes, bound)
    check_views(events, stored, events[-1][0])
    whole, _ = follow(events, [len(events)])
    assert stored == whole


def test_the_invariant_holds_after_every_batch_over_many_partitions() -> None:
    events = build_log(Plan(championships=5, events=3, seed=7, facts=30))
    stored, live = follow(events, [3], max_partitions=2, check=True)
    assert live.folds.loads > 0  # the bound evicted partitions that were folded again
    assert {n.split("/")[0] for n in stored} == {"standings", "invitations", "entry-list"}


def test_a_championship_event_recomputes_only_its_own_and_its_dependants_views() -> None:
    events = build_log(Plan(championships=6, events=3, seed=11, facts=0))
    live = LiveFold()
    live.advance(events)
    scopes: ViewScopes = live.scopes
    for i in range(6):
        cid = f"pc-{i}"
        views = scopes.views_of(f"championship:{cid}")
        dependants = {n.split("/", 1)[1] for n in views if not n.startswith("standings/")}
        assert all(f"championship:{cid}" in scopes.scope(e) for e in dependants)
        assert f"standings/{cid}" in views
    assert any(len(scopes.views_of(f"championship:pc-{i}")) == 1 for i in range(6))


def test_a_fact_recorded_early_shows_when_another_partition_moves_time_past_it() -> None:
    events = build_log(Plan(championships=3, events=1, seed=3, facts=40))
    early = [p for p, e in events if getattr(e, "effective_at", START) > e.recorded_at]
    assert early, "the plan records facts before they take effect"
    stored, _ = follow(events, [1])
    check_views(events, stored, events[-1][0])


def test_the_views_do_not_depend_on_the_cache_bound() -> None:
    events = build_log(Plan(championships=6, events=2, seed=5, facts=30))
    unbounded, _ = follow(events, [4])
    for bound in (1, 4):
        bounded, live = follow(events, [4], max_partitions=bound)
        assert bounded == unbounded
        assert len(live.folds) <= bound
    assert {content(b)["championship"] for n, b in unbounded.items() if n.startswith("standings/")}


def test_a_bounded_cache_needs_a_loader() -> None:
    with pytest.raises(ValueError, match="loader"):
        PartitionCache(None, 4)
    with pytest.raises(PartitionNotCachedError):
        PartitionCache(None, None).load("championship:x", 1)


def test_partitions_from_the_index_replace_learning_them() -> None:
    """Rows of the log's partition index (`Ledger.read_indexed`) give the same views, in a
    fold that never saw the log's start."""
    events = build_log(Plan(championships=4, events=2, seed=9, facts=25))
    index = [parts for _, parts in Partitioner().index(events)]
    expected, _ = follow(events, [5])
    middle = len(events) // 2
    live = LiveFold()
    live.skip(events[:middle], index[:middle])
    stored = live.advance(events[middle:], index[middle:])
    assert all(expected[name] == body for name, body in stored.items())
    assert not live._partitioner._homes


def test_scopes_learnt_event_by_event_are_those_the_queries_find_in_a_fold() -> None:
    """The projector's scopes (learnt as definitions arrive) and the queries' scopes
    (projections/partition_scope.py, from the fold of the event's partition) agree."""
    events = build_log(Plan(championships=6, events=4, seed=13, facts=10))
    live = LiveFold()
    live.advance(events)
    for i in range(4):
        eid = f"te-{i}"
        own = LedgerFold().apply_all(load_partition(events, f"event:{eid}"))
        assert set(live.scopes.scope(eid)) == set(event_dependencies(own, eid)), eid


def load_partition(events: tuple[Event, ...], partition: str) -> list[Event]:
    return scan_loader(events)(partition, events[-1][0])


def shares(groups: int, workers: int) -> list[Share]:
    return [Share(groups, frozenset(g for g in range(groups) if g % workers == k))
            for k in range(workers)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       groups=st.integers(1, 8), workers=st.integers(2, 3), bound=st.sampled_from([None, 2]))
def test_workers_splitting_the_groups_write_together_what_one_writes(
        plan: Plan, sizes: list[int], groups: int, workers: int, bound: int | None) -> None:
    events = build_log(plan)
    whole, _ = follow(events, [len(events)])
    union: dict[str, str] = {}
    for share in shares(groups, workers):
        stored, _ = follow(events, sizes, bound, share=share)
        assert not union.keys() & stored.keys(), "a view has one owner"
        assert all(share.owns_view(name) for name in stored)
        union.update(stored)
    assert union == whole


def test_a_worker_that_owns_no_view_of_a_partition_does_not_fold_it() -> None:
    events = build_log(Plan(championships=6, events=2, seed=21, facts=20))
    (mine, _) = shares(4, 2)
    _, live = follow(events, [5], share=mine)
    _, everything = follow(events, [5])
    assert 0 < len(live.folds) < len(everything.folds)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_groups_taken_over_at_different_positions_end_as_one_worker_would(seed: int) -> None:
    """A worker that takes over groups tracked at different positions (each left by another
    worker) loads to the least of them and writes each group's views only above its own."""
    events = build_log(Plan(championships=5, events=2, seed=seed, facts=25))
    whole, _ = follow(events, [len(events)])
    groups, rng = 4, random.Random(seed)
    written = {g: events[rng.randrange(len(events))][0] for g in range(groups)}
    share = Share.everything(groups)
    stored: dict[str, str] = {}
    for group, position in written.items():  # what each group's last writer left
        prefix = [e for e in events if e[0] <= position]
        views, _ = follow(tuple(prefix), [3]) if prefix else ({}, None)
        stored.update({n: b for n, b in views.items() if share.group_of_view(n) == group})
    live = LiveFold(scan_loader(events), 3, share)
    live.written = dict(written)
    start = min(written.values())
    live.skip([e for e in events if e[0] <= start])
    rest = [e for e in events if e[0] > start]
    for i in range(0, len(rest), 4):
        fresh = live.advance(rest[i:i + 4])
        assert all(log_position(b) > written[share.group_of_view(n)] for n, b in fresh.items())
        stored.update(fresh)
    assert stored == whole



def resumed(events: tuple[Event, ...], position: int, share: Share, bound: int | None
            ) -> LiveFold:
    """A fold standing at `position` as a restarted projector stands there: from the index,
    having read only the target events' partitions."""
    live = LiveFold(scan_loader(events), bound, share)
    definitions = [(p, e) for (p, e), parts in zip(events, Partitioner().index(events), strict=True)
                   if p <= position and any(part.startswith(EVENT) for part in parts[1])]
    live.resume(resume_point_of(events, position), definitions, first_positions(events))
    return live


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, cut=st.floats(0, 1), groups=st.integers(1, 4), bound=st.sampled_from([None, 2]),
       sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3))
def test_a_fold_resumed_from_the_index_writes_what_a_fold_of_the_whole_prefix_writes(
        plan: Plan, cut: float, groups: int, bound: int | None, sizes: list[int]) -> None:
    """Restart at any tracked position: the views written after it are the same bytes whether
    the prefix was folded event by event (`skip`) or the fold resumed from the index."""
    events = build_log(plan)
    position = events[int(cut * (len(events) - 1))][0]
    share = Share(groups, frozenset(range(0, groups, 2)))
    indexed = [(e, parts) for e, (_, parts) in zip(events, Partitioner().index(events), strict=True)]
    rest = [(e, parts) for e, parts in indexed if e[0] > position]
    written: list[list[dict[str, str]]] = []  # every batch's writes, not only the last bytes
    for live in (LiveFold(scan_loader(events), bound, share), resumed(events, position, share, bound)):
        if not live.position:
            live.skip([e for e in events if e[0] <= position])
        live.written = dict.fromkeys(range(groups), position)
        writes, start, count = [], 0, 0
        while start < len(rest):  # with the partitions the index gives, as the projector reads
            batch = rest[start:start + sizes[count % len(sizes)]]
            writes.append(live.advance([e for e, _ in batch], [parts for _, parts in batch]))
            start, count = start + len(batch), count + 1
        written.append(writes)
    assert written[0] == written[1]
    whole, _ = follow(events, [len(events)], share=share)
    stored = {n: b for writes in written[1] for n, b in writes.items()}
    assert {n: b for n, b in whole.items() if log_position(b) > position} == stored


def test_a_resumed_fold_reads_only_the_partitions_its_views_need() -> None:
    events = build_log(Plan(championships=6, events=2, seed=5, facts=30))
    position = events[len(events) // 2][0]
    calls: list[str] = []
    live = LiveFold(scan_loader(events, calls), None, Share.everything())
    live.resume(resume_point_of(events, position), [], first_positions(events))
    nxt, parts = next((e, parts) for e, (p, parts) in zip(events, Partitioner().index(events),
                                                           strict=True) if p > position)
    views = live.advance([nxt], [parts])
    needed = {p for name in views for p in live.scopes.scope_of(name)}
    assert views and set(calls) <= needed


def test_only_a_new_fold_resumes() -> None:
    events = build_log(Plan(championships=2, events=1, seed=3, facts=5))
    live = LiveFold()
    live.skip(events[:3])
    with pytest.raises(ValueError, match="only a new fold resumes"):
        live.resume(resume_point_of(events, events[2][0]), [], first_positions(events))


@pytest.mark.parametrize("seed", [1, 2])
def test_resuming_at_every_position_writes_event_by_event_what_folding_writes(seed: int) -> None:
    """Every cut of a log with facts waiting for T (recorded before they take effect): each
    event's writes after the cut are the same whether the prefix was folded or resumed."""
    events = build_log(Plan(championships=3, events=1, seed=seed, facts=20))
    indexed = list(zip(events, (parts for _, parts in Partitioner().index(events)), strict=True))
    share = Share.everything(1)
    waited = 0
    for position, _ in events[:-1]:
        waited += bool(resume_point_of(events, position).waiting)
        writes = []
        for live in (LiveFold(scan_loader(events), None, share),
                     resumed(events, position, share, None)):
            if not live.position:
                live.skip([e for e in events if e[0] <= position])
            live.written = {0: position}
            writes.append([live.advance([e], [parts]) for e, parts in indexed if e[0] > position])
        assert writes[0] == writes[1], f"resumed at {position}"
    assert waited, "some cuts have facts waiting for T"
