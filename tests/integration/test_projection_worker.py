"""The projection worker keeps persisted live views equal to a replay of the log from zero, on a
real SQLite file and on real PostgreSQL (each test runs on both through `store_url`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import InvalidInputError
from infra.cli import projections as cli
from infra.config import projection_partitions, projection_window
from infra.store import store_settings
from infra.views import StoredView, TrackingConflictError, ViewStore
from infra.views.factory import open_view_store
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.projector import Projector
from infra.workers.rebuild import rebuild_views
from projections.canonical import canonical_json
from projections.entry_list_view import entry_list_view
from projections.invitations_view import invitations_view
from projections.live_views import live_time
from projections.standings_view import standings_view
from services.demo import ASLMS, DEMO_STEWARD, LEMANS
from services.ledger import Ledger
from tests.conftest import Clock
from tests.views_invariants import check_views

STANDINGS = f"standings/{ASLMS}"
INVITATIONS = f"invitations/{LEMANS}"
ENTRY_LIST = f"entry-list/{LEMANS}"


def dump(store: ViewStore) -> dict[str, StoredView]:
    return {v.name: v for v in store.changed_since(-1)}


def bodies(store: ViewStore) -> dict[str, str]:
    return {name: v.body for name, v in dump(store).items()}


def replayed(ledger: Ledger) -> dict[str, str]:
    state = ledger.replay()
    t = live_time(state)
    assert t is not None
    return {STANDINGS: canonical_json(standings_view(state, ASLMS, t, t)),
            INVITATIONS: canonical_json(invitations_view(state, LEMANS, t, t)),
            ENTRY_LIST: canonical_json(entry_list_view(state, LEMANS, t, t))}


def lmp2_top(body: str) -> tuple[str, int]:
    lmp2 = next(c for c in json.loads(body)["classes"] if c["class"] == "LMP2")
    return lmp2["rows"][0]["car"], lmp2["rows"][0]["points"]


def deduct_points(ledger: Ledger, car: str = "4", points: str = "2") -> None:
    ledger.impose_penalty(ASLMS, 5, DecisionTerms(DecisionKind.POINTS_DEDUCTION, car,
                                                  points=Decimal(points)),
                          reference=f"test-points-{car}", reason="test",
                          effective_at=datetime.fromisoformat("2024-02-12T10:00:00+04:00"),
                          signed_by=DEMO_STEWARD, actor="test", source="test")


# -- catching up ------------------------------------------------------------------------------


async def test_caught_up_views_equal_a_replay_byte_for_byte(demo: Ledger, views: ViewStore) -> None:
    progress = await ProjectionWorker(demo, views).run_until_caught_up()
    assert progress.events == demo.head() == progress.position
    assert views.position("projections") == demo.head()
    stored = views.read(STANDINGS)
    assert stored is not None
    assert stored.body == replayed(demo)[STANDINGS]
    assert bodies(views) == replayed(demo)
    assert lmp2_top(stored.body) == ("4", 83)
    assert json.loads(stored.body)["log_position"] == demo.head()


async def test_a_restarted_worker_resumes_from_its_tracked_position(
        demo: Ledger, store_url: str, views: ViewStore, clock: Clock) -> None:
    await ProjectionWorker(demo, views).run_until_caught_up()
    before = dump(views)
    clock.advance(hours=1)
    deduct_points(demo)
    restarted = open_view_store(store_url)
    try:
        with capture_logs() as logs:
            progress = await ProjectionWorker(demo, restarted).run_until_caught_up()
        batches = [e for e in logs if e["event"] == "projection.batch"]
        assert [(b["events"], b["views_written"], b["position"]) for b in batches] == [
            (1, 3, demo.head())]
        assert (progress.events, progress.views_written) == (1, 3)
        assert bodies(restarted) == replayed(demo)
        assert lmp2_top(bodies(restarted)[STANDINGS]) == ("4", 81)
        assert all(v.position == demo.head() for v in dump(restarted).values())
        assert before[STANDINGS].position < demo.head()
    finally:
        restarted.close()


async def test_a_failed_write_leaves_views_and_position_unchanged(
        demo: Ledger, views: ViewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = ProjectionWorker(demo, views, batch=5)
    await worker.run_until_caught_up(until=10)
    before, position = dump(views), views.position("projections")
    original = views._upsert_views  # type: ignore[attr-defined]

    def write_then_fail(*args: Any) -> None:
        original(*args)  # the views are written inside the transaction ...
        raise RuntimeError("disk on fire")  # ... which then fails

    monkeypatch.setattr(views, "_upsert_views", write_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await worker.run_until_caught_up()
    assert views.position("projections") == position == 10
    assert dump(views) == before
    monkeypatch.undo()
    progress = await worker.run_until_caught_up()  # reloads its fold, redoes the batch
    assert progress.events == demo.head() - 10
    assert bodies(views) == replayed(demo)


async def test_the_invariant_holds_at_several_positions(demo: Ledger, views: ViewStore) -> None:
    events = demo.read_events()
    worker = ProjectionWorker(demo, views, batch=3)
    for position in (1, 2, 7, 13, 20, demo.head()):
        await worker.run_until_caught_up(until=position)
        assert views.position("projections") == position
        check_views(events, bodies(views), position)


async def test_views_do_not_depend_on_batch_sizes(demo: Ledger, store_url: str,
                                                 views: ViewStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    await ProjectionWorker(demo, views, batch=500).run_until_caught_up()
    one_by_one = open_view_store(store_url, suffix="_one_by_one")
    monkeypatch.setenv("PADDOCK_PROJECTION_WINDOW", "1")  # no coalescing: one step per event
    try:
        progress = await ProjectionWorker(demo, one_by_one, batch=1).run_until_caught_up()
        assert progress.batches == demo.head()
        assert bodies(one_by_one) == bodies(views)
    finally:
        one_by_one.drop()
        one_by_one.close()


async def test_a_worker_holding_one_partition_writes_the_same_views(
        demo: Ledger, store_url: str, views: ViewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Evicted partitions are folded again from the log (here by a scan: no partition index)."""
    await ProjectionWorker(demo, views).run_until_caught_up()
    monkeypatch.setenv("PADDOCK_PROJECTION_PARTITIONS", "1")
    small = open_view_store(store_url, suffix="_one_partition")
    try:
        projector = Projector(demo, small, batch=4)
        projector.catch_up()
        assert projector.partition_loads > 0
        assert bodies(small) == bodies(views) == replayed(demo)
    finally:
        small.drop()
        small.close()


async def test_a_worker_behind_coalesces_full_pages_up_to_its_window(
        demo: Ledger, store_url: str, views: ViewStore) -> None:
    """While pages of 4 come full, steps fold up to 12 events and write the views they changed
    once; the last, short step reached the head. The views are those of page-by-page steps."""
    await ProjectionWorker(demo, views, batch=500).run_until_caught_up()
    windowed = open_view_store(store_url, suffix="_windowed")
    try:
        steps: list[Any] = []
        progress = Projector(demo, windowed, batch=4, window=12).catch_up(on_batch=steps.append)
        head = demo.head()
        assert [s.events for s in steps] == [12] * (head // 12) + ([head % 12] if head % 12 else [])
        assert progress.events == head
        assert bodies(windowed) == bodies(views) == replayed(demo)
        assert windowed.position("projections") == head
    finally:
        windowed.drop()
        windowed.close()


@pytest.mark.parametrize(("setting", "name", "default"), [
    (projection_window, "PADDOCK_PROJECTION_WINDOW", 2000),
    (projection_partitions, "PADDOCK_PROJECTION_PARTITIONS", 128),
])
def test_the_projection_settings_are_checked(setting: Callable[[dict[str, str]], int], name: str,
                                             default: int) -> None:
    assert setting({}) == default
    assert setting({name: "7"}) == 7
    for bad in ("0", "many", "-3"):
        with pytest.raises(InvalidInputError, match=name):
            setting({name: bad})


# -- rebuilding -------------------------------------------------------------------------------


def table_names(store_url: str) -> set[str]:
    settings = store_settings(store_url)
    if settings["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        with sqlite3.connect(settings["SQLITE_DBNAME"] + ".views.db") as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    else:
        import psycopg

        with psycopg.connect(store_url.split("?")[0]) as conn:
            rows = conn.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = %s", (settings["POSTGRES_SCHEMA"],)).fetchall()
    return {r[0] for r in rows if r[0].startswith("paddock_view") or r[0].startswith("paddock_pub")}


async def test_rebuilt_views_equal_the_live_ones_and_replace_them_at_once(
        demo: Ledger, store_url: str, views: ViewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await ProjectionWorker(demo, views).run_until_caught_up()
    monkeypatch.setenv("PADDOCK_PROJECTION_WINDOW", "1")  # no coalescing: a step per page of 4
    views.set_published("nats", 7)
    before = dump(views)
    seen_mid_way: list[dict[str, StoredView]] = []

    def mid_way(batch: Any) -> None:
        seen_mid_way.append(dump(views))  # readers of the live tables during the rebuild

    report = rebuild_views(demo, store_url, batch=4, on_batch=mid_way)
    assert len(seen_mid_way) == report.events // 4 + (1 if report.events % 4 else 0) > 1
    assert all(seen == before for seen in seen_mid_way)
    assert (report.events, report.views, report.position) == (demo.head(), 3, demo.head())
    assert report.changed == []
    assert bodies(views) == {n: v.body for n, v in before.items()} == replayed(demo)
    assert views.workers() == {"projections": demo.head()}
    assert views.published_position("nats") == 7  # what was published is not rebuilt
    assert table_names(store_url) == {
        "paddock_views", "paddock_view_tracking", "paddock_publish_tracking"}
    again = rebuild_views(demo, store_url)  # a second rebuild finds a clean place
    assert again.changed == []
    assert table_names(store_url) == {
        "paddock_views", "paddock_view_tracking", "paddock_publish_tracking"}


async def test_a_worker_behind_a_rebuild_reloads_and_carries_on(
        demo: Ledger, store_url: str, views: ViewStore, clock: Clock) -> None:
    worker = ProjectionWorker(demo, views)
    await worker.run_until_caught_up(until=demo.head() - 2)
    rebuild_views(demo, store_url)  # tracks the head: not what the worker last wrote
    clock.advance(hours=1)
    deduct_points(demo)
    with capture_logs() as logs:
        progress = await worker.run_until_caught_up()
    assert any(e["event"] == "projection.reload" for e in logs)
    assert progress.events == 1
    assert bodies(views) == replayed(demo)
    with pytest.raises(TrackingConflictError):
        views.write("projections", 99, {}, expected=3)
    assert views.position("projections") == demo.head()


# -- following the log ------------------------------------------------------------------------


async def test_lag_counts_the_events_not_projected_yet(demo: Ledger, views: ViewStore,
                                                      clock: Clock) -> None:
    worker = ProjectionWorker(demo, views)
    await worker.run_until_caught_up()
    assert worker.lag() == {"events_behind": 0, "seconds_behind": 0.0}
    deduct_points(demo, "4")
    deduct_points(demo, "99")
    clock.advance(seconds=90)
    lag = worker.lag()
    assert lag["events_behind"] == 2
    assert lag["seconds_behind"] == 90.0
    await worker.run_until_caught_up()
    assert worker.lag() == {"events_behind": 0, "seconds_behind": 0.0}


async def _until(condition: Any, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.01)


async def test_run_follows_the_log_and_stops_when_told(demo: Ledger, views: ViewStore) -> None:
    written: list[int] = []
    worker = ProjectionWorker(demo, views, poll_interval=3600.0,
                              on_written=lambda: written.append(1))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await _until(lambda: views.position("projections") == demo.head())
    await asyncio.to_thread(deduct_points, demo)
    worker.wake()  # without it the worker would sleep for an hour
    await _until(lambda: views.position("projections") == demo.head())
    assert bodies(views) == replayed(demo)
    await _until(lambda: len(written) == 2)  # called once the batch is written
    stop.set()
    await asyncio.wait_for(task, timeout=60)


async def test_run_retries_a_failed_batch(demo: Ledger, views: ViewStore,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    failures = []
    original = views._upsert_views  # type: ignore[attr-defined]

    def fail_once(*args: Any) -> None:
        if not failures:
            failures.append(1)
            raise RuntimeError("transient")
        original(*args)

    monkeypatch.setattr(views, "_upsert_views", fail_once)
    worker = ProjectionWorker(demo, views, poll_interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await _until(lambda: views.position("projections") == demo.head())
    stop.set()
    await asyncio.wait_for(task, timeout=60)
    assert failures == [1]
    assert bodies(views) == replayed(demo)


# -- the view store ---------------------------------------------------------------------------


def test_view_store_contract(views: ViewStore) -> None:
    assert views.position("w") == 0 and views.read("a") is None and views.names() == []
    views.write("w", 3, {"b": "{}", "a": "[1]"})
    views.write("w", 5, {"a": "[2]"}, expected=3)
    with pytest.raises(TrackingConflictError):
        views.write("w", 9, {"a": "[3]"}, expected=3)
    assert views.position("w") == 5 and views.workers() == {"w": 5}
    assert views.read("a") == StoredView("a", 5, "[2]")
    assert views.names() == ["a", "b"]
    assert [(v.name, v.position) for v in views.changed_since(0)] == [("b", 3), ("a", 5)]
    assert views.changed_since(4) == [StoredView("a", 5, "[2]")]
    views.set_published("p", 3)
    views.set_published("p", 5)
    assert views.published_position("p") == 5 and views.publishers() == {"p": 5}


def test_a_memory_log_has_an_in_memory_view_store() -> None:
    live, fresh = open_view_store("memory://"), open_view_store("memory://", suffix="_rebuild")
    live.write("w", 1, {"a": "old", "gone": "x"})
    fresh.write("w", 2, {"a": "new"})
    live.swap_from(fresh)  # different databases: copied in one transaction
    assert bodies(live) == {"a": "new"} and live.workers() == {"w": 2}
    with pytest.raises(ValueError, match="suffix"):
        open_view_store("memory://", suffix="; DROP TABLE x")


# -- the command line -------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store")
    common.add_argument("--json", action="store_true")
    common.add_argument("--actor")
    parser = argparse.ArgumentParser(prog="paddock")
    cli.add_parser(parser.add_subparsers(dest="command", required=True), common)
    return parser.parse_args(argv)


async def test_projections_status_and_rebuild_commands(
        demo: Ledger, store_url: str, views: ViewStore, capsys: pytest.CaptureFixture[str]) -> None:
    await ProjectionWorker(demo, views).run_until_caught_up(until=demo.head() - 1)
    capsys.readouterr()  # structlog's default configuration prints to stdout; the CLI's does not
    args = parse("projections", "status", "--store", store_url, "--json")
    assert cli.HANDLERS[args.handler](args) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["head"] == demo.head() and status["views"] == 3
    assert status["workers"] == {"projections": {"position": demo.head() - 1, "events_behind": 1}}
    args = parse("projections", "rebuild", "--store", store_url, "--batch", "10")
    with capture_logs():
        assert await asyncio.to_thread(cli.HANDLERS[args.handler], args) == 0
    out = capsys.readouterr().out
    assert f"rebuilt 3 views from {demo.head()} events (log position {demo.head()})" in out
    assert "differ from the ones they replaced" in out  # the old ones were a position behind
    args = parse("projections", "status", "--store", store_url)
    assert cli.status(args) == 0
    assert "worker projections: log position" in capsys.readouterr().out


def test_a_store_that_cannot_be_opened_exits_with_status_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "paddock.db").mkdir()  # a directory where the log file should be
    args = parse("projections", "status", "--store", f"sqlite:///{tmp_path / 'paddock.db'}")
    assert cli.status(args) == 3
    assert "cannot open the store" in capsys.readouterr().err
