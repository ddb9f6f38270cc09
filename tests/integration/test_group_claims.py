"""Group claims: a fair share among the workers alive (counted by their slot leases), the groups
over the share given up, a dead worker's groups taken, a worker without a slot standing by, and
leases lost with their PostgreSQL session noticed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from infra.views.factory import open_view_store
from infra.workers.group_claims import GroupClaims, claims_for, open_leadership, view_claims
from infra.workers.lease_places import advisory_namespace

GROUPS = 6


def settle_all(*workers: GroupClaims) -> None:
    """Each worker settles in turn, giving up what it must, until nothing changes."""
    for _ in range(4):
        for worker in workers:
            plan = worker.settle()
            for group in plan.give_up:
                worker.release(group)


def test_workers_take_a_fair_share_and_a_dead_ones_groups(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    a, b = claims_for(url, "ingest", GROUPS), claims_for(url, "ingest", GROUPS)
    assert a.settle().start == tuple(range(GROUPS)), "alone, it takes every group"
    assert b.settle().start == (), "its peer holds them all"
    plan = a.settle()
    assert plan.live == 2 and len(plan.give_up) == GROUPS // 2
    settle_all(a, b)
    assert a.held.isdisjoint(b.held) and a.held | b.held == set(range(GROUPS))
    assert len(a.held) == len(b.held) == GROUPS // 2
    lost = b.held
    b.close()  # as a dead worker's leases are released by the kernel
    plan = a.settle()
    assert set(plan.start) == lost and plan.live == 1 and a.held == set(range(GROUPS))
    a.close()


def test_roles_and_logs_in_one_directory_do_not_share_leases(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    for claims in (claims_for(url, "ingest", GROUPS), claims_for(url, "projections", GROUPS),
                   claims_for(other, "ingest", GROUPS),
                   claims_for(url, "ingest", GROUPS, scope="t2")):
        assert claims.settle().start == tuple(range(GROUPS))


def test_view_table_sets_and_the_log_do_not_share_leases(tmp_path: Path) -> None:
    """Projections of two view-table sets of one store (the views and a rebuild's), and ingest
    on its log, each own every group: their key spaces are apart."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    stores = [open_view_store(url), open_view_store(url, suffix="_rebuild")]
    claims = [*(view_claims(store, "projections", GROUPS) for store in stores),
              claims_for(url, "projections", GROUPS)]
    leaders = [open_leadership(store, "publisher") for store in stores]
    try:
        for each in claims:
            assert each is not None and each.settle().start == tuple(range(GROUPS))
        assert all(leader is not None and leader.lead() for leader in leaders)
    finally:
        for closing in [*claims, *leaders, *stores]:
            if closing is not None:
                closing.close()


def test_an_in_memory_view_store_needs_no_leases() -> None:
    views = open_view_store("memory://")
    assert view_claims(views, "projections", GROUPS) is None
    assert open_leadership(views, "publisher") is None
    views.close()


def test_a_worker_without_a_slot_stands_by(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    workers = [claims_for(url, "ingest", 2) for _ in range(3)]
    settle_all(*workers)
    assert [len(w.held) for w in workers] == [1, 1, 0]
    assert workers[2].settle().live == 0
    workers[0].close()
    settle_all(*workers[1:])
    assert workers[1].held | workers[2].held == {0, 1} and workers[2].held


def test_memory_stores_have_one_owner_of_every_group() -> None:
    a, b = claims_for("memory://", "ingest", GROUPS), claims_for("memory://", "ingest", GROUPS)
    settle_all(a, b)
    assert a.held == set(range(GROUPS)) and not b.held
    a.close()
    assert b.settle().start == tuple(range(GROUPS))
    b.close()


@pytest.mark.postgres
def test_leases_lost_with_their_session_are_noticed_and_claimed_again(
        postgres_store: str, postgres_url: str) -> None:
    a, b = claims_for(postgres_store, "ingest", GROUPS), claims_for(postgres_store, "ingest", GROUPS)
    try:
        settle_all(a, b)
        assert a.held.isdisjoint(b.held) and a.held | b.held == set(range(GROUPS))
        schema = parse_qs(urlsplit(postgres_store).query)["schema"][0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # as if b's server went
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                          "'advisory' AND classid = %s AND objid = %s",
                          (advisory_namespace("paddock.ingest.group", schema), min(b.held)))
        assert b.settle().lost and not b.held
        settle_all(a, b)
        assert a.held | b.held == set(range(GROUPS)) and a.held.isdisjoint(b.held)
    finally:
        a.close()
        b.close()
