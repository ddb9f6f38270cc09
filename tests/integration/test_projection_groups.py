"""Several projection workers on one store split the partition groups by leases (flock files
beside a SQLite log, advisory locks on PostgreSQL), write together the views one worker writes
(equal to a replay of the log), and a worker that stops or loses its lease session has its
groups taken over; on a real SQLite file and on real PostgreSQL (`store_url`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from bench.workload import LogSpec, build_big_log
from infra.views import TrackingConflictError, ViewStore
from infra.views.factory import open_view_store
from infra.views.tracking import PartitionGroupsMismatchError, group_key
from infra.workers.group_claims import view_claims
from infra.workers.leases import AdvisoryLeases
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.projector import Projector
from services.demo import load_demo
from services.ledger import Ledger
from tests.views_invariants import check_views

GROUPS = 8
SPEC = LogSpec(rounds=2, decisions_per_round=2, cohort=10)


@dataclass
class Running:
    worker: ProjectionWorker
    views: ViewStore
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def stopped(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=60)


@pytest.fixture
async def start(store_url: str, ledger: Ledger) -> AsyncIterator[Callable[[], Running]]:
    """Starts a worker of its own (view store, lease session) on the test's store."""
    started: list[Running] = []

    def run() -> Running:
        views = open_view_store(store_url)
        worker = ProjectionWorker(ledger, views, batch=50, poll_interval=0.05, groups=GROUPS,
                                  claims=view_claims(views, "projections", GROUPS),
                                  lease_seconds=0.1)
        stop = asyncio.Event()
        running = Running(worker, views, stop, asyncio.create_task(worker.run(stop)))
        started.append(running)
        return running

    yield run
    for running in started:
        with contextlib.suppress(Exception):
            await running.stopped()
        running.views.close()


async def until(condition: Callable[[], Any], timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.01)


def views_of(store: ViewStore) -> dict[str, str]:
    return {v.name: v.body for v in store.changed_since(-1)}


def caught_up(ledger: Ledger, views: ViewStore) -> Callable[[], bool]:
    return lambda: views.position("projections") == ledger.head()


def split(*workers: Running) -> Callable[[], bool]:
    """Every group owned by exactly one of the workers."""
    def check() -> bool:
        owned = [w.worker.owned for w in workers]
        return all(owned) and sum(map(len, owned)) == GROUPS and \
            frozenset().union(*owned) == frozenset(range(GROUPS))
    return check


async def two_caught_up(ledger: Ledger, views: ViewStore, start: Callable[[], Running],
                        events: int) -> tuple[Running, Running]:
    """Two workers started on a log of about `events` events, once they split the groups and
    the views reflect the whole log."""
    build_big_log(ledger, events, spec=SPEC)
    a, b = start(), start()
    await until(split(a, b))
    await until(caught_up(ledger, views))
    return a, b


@pytest.mark.slow(17)
async def test_two_workers_split_the_groups_and_write_what_a_replay_gives(
        ledger: Ledger, views: ViewStore, start: Callable[[], Running]) -> None:
    a, b = await two_caught_up(ledger, views, start, 1500)
    # the even split is where the settlements converge: a settlement that counts one worker
    # too many for a moment (seen under load, e.g. a peer probing a free slot) gives a group up
    # for a lease period or two, and the next settlements claim it back
    await until(lambda: [len(a.worker.owned), len(b.worker.owned)] == [GROUPS // 2] * 2,
                timeout=30)
    stored = views_of(views)
    assert len(stored) > GROUPS
    check_views(ledger.read_events(), stored, ledger.head())
    rows = views.tracking()
    assert set(rows) == {group_key("projections", g, GROUPS) for g in range(GROUPS)}
    assert set(rows.values()) == {ledger.head()}


async def test_a_stopped_workers_groups_are_taken_over(
        ledger: Ledger, views: ViewStore, start: Callable[[], Running]) -> None:
    a, b = await two_caught_up(ledger, views, start, 800)
    await b.stopped()  # its leases are released
    await asyncio.to_thread(load_demo, ledger)  # more events, of new partitions too
    await until(lambda: a.worker.owned == frozenset(range(GROUPS)))
    await until(caught_up(ledger, views))
    check_views(ledger.read_events(), views_of(views), ledger.head())
    c = start()  # a newcomer gets its share back
    await until(split(a, c))


@pytest.mark.postgres
async def test_a_worker_whose_lease_session_dies_stops_writing_its_groups(
        postgres_store: str, start: Callable[[], Running], ledger: Ledger,
        postgres_url: str) -> None:
    build_big_log(ledger, 800, spec=SPEC)
    a, b = start(), start()
    await until(split(a, b))
    sessions = leases_sessions(b.worker)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for pid in sessions:  # as if b's connection to the database broke
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # b notices at its next settlement: it owns nothing until its new session gets a share back
    await until(lambda: a.worker.owned and not a.worker.owned & b.worker.owned
                and len(a.worker.owned | b.worker.owned) == GROUPS)
    await asyncio.to_thread(load_demo, ledger)
    views = a.views
    await until(caught_up(ledger, views))
    check_views(ledger.read_events(), views_of(views), ledger.head())


def leases_sessions(worker: ProjectionWorker) -> set[int]:
    assert worker.claims is not None and worker.claims._held is not None
    return {lease.connection.info.backend_pid for lease in worker.claims._held.opened.leases
            if isinstance(lease, AdvisoryLeases)}


async def test_a_store_tracked_in_one_row_is_taken_up_per_group(
        ledger: Ledger, views: ViewStore) -> None:
    """A view store written before groups (one tracking row) keeps working: its row becomes a
    row per group at the same position, and the projector carries on from there."""
    load_demo(ledger)
    half = ledger.head() // 2
    Projector(ledger, views, groups=1).catch_up(until=half)
    views.migrate_tracking(group_key("projections", 0, 1), ["projections"])  # as before groups
    assert views.tracking() == {"projections": half}
    Projector(ledger, views, groups=GROUPS).catch_up()
    assert views.tracking() == {group_key("projections", g, GROUPS): ledger.head()
                                for g in range(GROUPS)}
    check_views(ledger.read_events(), views_of(views), ledger.head())


async def test_a_worker_of_another_group_count_stops_with_what_to_do(
        ledger: Ledger, views: ViewStore) -> None:
    load_demo(ledger)
    Projector(ledger, views, groups=4).catch_up()
    with pytest.raises(PartitionGroupsMismatchError,
                       match="PADDOCK_PARTITION_GROUPS=4 .*projections rebuild"):
        Projector(ledger, views, groups=GROUPS).catch_up()
    with pytest.raises(PartitionGroupsMismatchError):  # the service stops: no retry loop
        await ProjectionWorker(ledger, views, groups=GROUPS).run(asyncio.Event())


def test_a_write_of_several_groups_is_all_or_nothing(views: ViewStore) -> None:
    a, b = group_key("p", 0, 2), group_key("p", 1, 2)
    views.write_tracked({a: (0, 5), b: (0, 5)}, 5, {"standings/x": "one"})
    with pytest.raises(TrackingConflictError):
        views.write_tracked({a: (5, 9), b: (4, 9)}, 9, {"standings/x": "two"})
    with pytest.raises(TrackingConflictError):  # a row not written yet counts as 0
        views.write_tracked({a: (5, 9), group_key("p", 2, 3): (1, 9)}, 9, {"standings/x": "two"})
    stored = views.read("standings/x")
    assert views.tracking() == {a: 5, b: 5} and stored is not None and stored.body == "one"
    views.write_tracked({a: (5, 9), b: (5, 9), group_key("q", 0, 1): (0, 9)}, 9,
                        {"standings/x": "two"})
    assert views.tracking() == {a: 9, b: 9, group_key("q", 0, 1): 9}
