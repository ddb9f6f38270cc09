"""Two `paddock serve` processes on one PostgreSQL store and one NATS split the projection work
(partition groups by advisory-lock leases); after `kill -9` of one, the survivor takes its
groups over and ends with every view equal to a replay, and what was published equal to the
views (docs/SERVICE.md "Assignment and leases")."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path

import nats
import pytest

from bench.workload import LogSpec, build_big_log
from infra.bootstrap import open_ledger
from infra.nats_subjects import bucket_name
from infra.views import StoredView
from infra.views.factory import open_view_store
from infra.workers.publisher import messages_for
from services.demo import load_demo
from tests.e2e.serve_process import LogLine, ServeProcess
from tests.views_invariants import check_views

GROUPS = 8
ENV = {"PADDOCK_PARTITION_GROUPS": str(GROUPS), "PADDOCK_LEASE_SECONDS": "0.3"}
pytestmark = pytest.mark.postgres


def owned(lines: list[LogLine]) -> set[int] | None:
    """The groups a process said it owns last (None before it said anything)."""
    said = [line["groups"] for line in lines if line.get("event") == "projection.groups"]
    return set(said[-1]) if said else None


def split(a: ServeProcess, b: ServeProcess) -> Callable[[list[LogLine]], bool]:
    def check(lines: list[LogLine]) -> bool:
        mine, theirs = owned(lines), owned(b.lines())
        return bool(mine and theirs and not mine & theirs and
                    len(mine | theirs) == GROUPS)
    return check


@pytest.mark.slow(9)
async def test_two_serve_processes_split_the_views_and_one_survives_a_sigkill(
        postgres_store: str, nats_url: str, nats_prefix: str, tmp_path: Path) -> None:
    ledger = open_ledger(postgres_store)
    build_big_log(ledger, 1500, spec=LogSpec(rounds=2, decisions_per_round=2, cohort=10))
    args = ["--store", postgres_store, "--nats-url", nats_url, "--prefix", nats_prefix,
            "--roles", "projections,publisher", "--grace", "5"]
    a = ServeProcess(tmp_path / "a.log", *args, env=ENV)
    b = ServeProcess(tmp_path / "b.log", *args, env=ENV)
    views = open_view_store(postgres_store)
    try:
        a.wait_for(split(a, b), timeout=120, what="two processes splitting the groups")
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait(timeout=30)
        assert all(o.accepted for o in load_demo(ledger)), "appended after the kill"
        a.wait_for(lambda lines: owned(lines) == set(range(GROUPS)), timeout=120,
                   what="the survivor owning every group")
        a.wait_for(lambda _: views.position("projections") == ledger.head(), timeout=300,
                   what="the views caught up")
        stored = {v.name: v for v in views.changed_since(-1)}
        check_views(ledger.read_events(), {n: v.body for n, v in stored.items()}, ledger.head())
        await published_equal(stored, nats_url, nats_prefix)
        code, _ = a.stop_within(signal.SIGTERM, 30)
        assert code == 0, a.tail()
    finally:
        a.kill()
        b.kill()
        views.close()
        ledger.close()


async def published_equal(stored: dict[str, StoredView], nats_url: str, prefix: str) -> None:
    """Once the publisher is done, the KV bucket holds each view's messages (its latest)."""
    wanted = {m.key: m.body for v in stored.values() for m in messages_for(v, prefix)}
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(bucket_name(prefix=prefix))
        try:
            async with asyncio.timeout(120):
                while await _matching(kv, wanted) != set(wanted):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            missing = sorted(set(wanted) - await _matching(kv, wanted))
            raise AssertionError(f"{len(missing)} of {len(wanted)} keys differ: {missing[:5]}"
                                 ) from None
    finally:
        await nc.close()


async def _matching(kv: object, keys: dict[str, bytes]) -> set[str]:
    """The keys whose value has the content wanted (its header may be older: an unchanged
    state is not published again)."""
    from nats.js.errors import KeyNotFoundError
    from nats.js.kv import KeyValue

    assert isinstance(kv, KeyValue)
    out = {}
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            continue
        out[key] = entry.value or b""
    return {k for k, v in out.items() if _same(v, keys[k])}


def _same(found: bytes, wanted: bytes) -> bool:
    header = ("as_of", "known_at", "log_position")
    strip = lambda raw: {k: v for k, v in json.loads(raw).items() if k not in header}
    return strip(found) == strip(wanted)
