"""Leases on partition groups: split evenly between workers started together, exclusive, and
moved to the survivors when a holder dies (a killed process, a closed database session)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from domain.partitions import partition_group
from infra.workers.group_claims import Leadership
from infra.workers.leases import AdvisoryLeases, FileLeases, Leases, preferred

GROUPS = 8


def unique(kind: str) -> str:
    """A key space of this test alone: the advisory locks of the shared server are seen by every
    session on it (a parallel test worker, another run of the suite)."""
    return f"{kind}-{uuid.uuid4().hex}"


@pytest.mark.parametrize(("worker", "workers", "first"), [
    (0, 1, [0, 1, 2, 3, 4, 5, 6, 7]), (0, 2, [0, 2, 4, 6]), (1, 2, [1, 3, 5, 7]),
    (2, 3, [2, 5]),
])
def test_each_worker_prefers_its_own_share(worker: int, workers: int, first: list[int]) -> None:
    order = preferred(GROUPS, worker, workers)
    assert order[:len(first)] == first and sorted(order) == list(range(GROUPS))


@pytest.mark.parametrize(("worker", "workers"), [(2, 2), (-1, 2), (0, 0)])
def test_a_worker_outside_the_count_is_refused(worker: int, workers: int) -> None:
    with pytest.raises(ValueError, match="give 0 ≤ worker < workers"):
        preferred(GROUPS, worker, workers)


def test_a_partition_has_the_same_group_in_every_process() -> None:
    here = [partition_group(f"championship:c{i}", GROUPS) for i in range(50)]
    there = subprocess.run(
        [sys.executable, "-c", ("from domain.partitions import partition_group as g; "
         f"print([g(f'championship:c{{i}}', {GROUPS}) for i in range(50)])")],
        capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"},
        cwd=Path(__file__).resolve().parents[2]).stdout
    assert str(here) == there.strip() and len(set(here)) > 1


def _split(a: Leases, b: Leases) -> None:
    a.claim(preferred(GROUPS, 0, 2), at_most=GROUPS // 2)
    b.claim(preferred(GROUPS, 1, 2), at_most=GROUPS // 2)
    assert a.held == {0, 2, 4, 6} and b.held == {1, 3, 5, 7}
    assert not a.claim(list(range(GROUPS)), at_most=GROUPS), "b's groups are b's"


def test_file_leases_split_and_are_exclusive(tmp_path: Path) -> None:
    a, b = FileLeases(tmp_path, GROUPS), FileLeases(tmp_path, GROUPS)
    _split(a, b)
    b.release_all()
    assert a.claim(list(range(GROUPS)), at_most=GROUPS) == {1, 3, 5, 7}


def test_a_killed_processs_file_leases_move_to_the_survivor(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, pathlib; from infra.workers.leases import FileLeases; "
         f"l = FileLeases(pathlib.Path({str(tmp_path)!r}), {GROUPS}); "
         f"print(sorted(l.claim(list(range({GROUPS})), {GROUPS})), flush=True); sys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2])
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == str(list(range(GROUPS)))  # it holds them all
    survivor = FileLeases(tmp_path, GROUPS)
    assert not survivor.claim(list(range(GROUPS)), at_most=GROUPS)
    holder.kill()
    holder.wait()
    assert survivor.claim(list(range(GROUPS)), at_most=GROUPS) == set(range(GROUPS))


@pytest.mark.postgres
def test_advisory_leases_split_and_a_closed_session_gives_them_up(postgres_url: str) -> None:
    a_conn = psycopg.connect(postgres_url, autocommit=True)
    b_conn = psycopg.connect(postgres_url, autocommit=True)
    try:
        kind = unique("split")
        a, b = AdvisoryLeases(a_conn, GROUPS, kind), AdvisoryLeases(b_conn, GROUPS, kind)
        _split(a, b)
        assert a.alive() and b.alive()
        b_pid = b_conn.info.backend_pid
        a_conn.execute("SELECT pg_terminate_backend(%s)", (b_pid,))  # as a killed worker's
        assert not b.alive() and b.held == set()
        claimed = a.claim(list(range(GROUPS)), at_most=GROUPS)
        assert claimed == {1, 3, 5, 7}
    finally:
        a_conn.close()
        b_conn.close()


def test_one_process_at_a_time_leads_and_a_closed_leader_hands_over(tmp_path: Path) -> None:
    a, b = (Leadership(lambda: FileLeases(tmp_path, 1, "publisher")) for _ in range(2))
    assert a.lead() and not b.lead() and a.lead()
    a.close()
    assert b.lead() and not a.lead()
    b.close()


def test_file_leases_see_the_keys_others_hold(tmp_path: Path) -> None:
    mine, theirs = FileLeases(tmp_path, 4, "slots"), FileLeases(tmp_path, 4, "slots")
    mine.claim([1], at_most=1)
    theirs.claim([3], at_most=1)
    assert mine.holders() == theirs.holders() == {1, 3}
    theirs.close()
    assert mine.holders() == {1}


@pytest.mark.postgres
def test_advisory_leases_see_the_keys_others_hold(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as a_conn, \
            psycopg.connect(postgres_url, autocommit=True) as b_conn:
        slots, other = unique("slots"), unique("other")
        mine, theirs = AdvisoryLeases(a_conn, 4, slots), AdvisoryLeases(b_conn, 4, slots)
        other_space = AdvisoryLeases(b_conn, 4, other)
        mine.claim([1], at_most=1)
        theirs.claim([3], at_most=1)
        other_space.claim([0], at_most=1)
        assert mine.holders() == theirs.holders() == {1, 3}
        theirs.release_all()
        assert mine.holders() == {1}
        mine.release_all()
        other_space.release_all()
