"""Checkpoints end to end: `paddock audit verify` / `audit checkpoint` as a user runs them (exit
codes, --json), and the `checkpoints` role of `paddock serve` publishing to a real nats-server a
checkpoint that a subscriber receives and that verifies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.aio.client import Client
from structlog.testing import capture_logs

from infra.bootstrap import open_ledger
from infra.chain import chain_of, store_identity
from infra.config import ServeConfig
from infra.nats_subjects import checkpoint_stream_name, checkpoint_subject
from infra.runtime import serve
from infra.workers.checkpoint_publisher import CheckpointPublisher
from services.audit_chain import checkpoint_from_json
from services.demo import load_demo
from services.ledger import Ledger
from tests.e2e.conftest import CliRunner
from tests.integration.test_audit_verify import tamper

PADDOCK = str(Path(sys.executable).with_name("paddock"))


def tamper_state(db: Path, position: int) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE stored_events SET state = state || x'20' WHERE rowid = ?", (position,))
    conn.close()


def another_pole(ledger: Ledger, minutes: int) -> None:
    ledger.record_pole("aslms-2023-24", 2, "GT", "91", actor="test", source="test",
                       effective_at=datetime(2023, 12, 3, tzinfo=UTC) + timedelta(minutes=minutes))


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.slow(9)
def test_verify_and_checkpoint_on_the_command_line(paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo", "--json").code == 0
    ok = paddock("audit", "verify")
    assert ok.code == 0, ok.err
    assert ok.out.startswith("ok, ") and "head position" in ok.out and "head digest" in ok.out
    report = paddock("audit", "verify", "--json").json()
    assert report["status"] == "ok" and report["first"] is None
    assert report["events"] == report["head_position"] > 5

    taken = paddock("audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    assert taken.code == 0, taken.err
    checkpoint = json.loads((tmp_path / "cp.json").read_text())
    assert (checkpoint["position"], checkpoint["digest"]) == (report["head_position"],
                                                              report["head_digest"])
    assert checkpoint["store"] == f"sqlite:///{tmp_path / 'e2e.db'}" and checkpoint["taken_at"]
    early = paddock("audit", "checkpoint", "--position", "3")
    assert early.code == 0 and json.loads(early.out)["position"] == 3
    (tmp_path / "early.json").write_text(early.out)
    both = paddock("audit", "verify", "--checkpoint", "cp.json", "--checkpoint", "early.json")
    assert both.code == 0 and "2 checkpoint(s) match" in both.out

    tamper_state(tmp_path / "e2e.db", 4)
    broken = paddock("audit", "verify", "--checkpoint", "cp.json")
    assert broken.code == 1
    assert broken.out.startswith("BROKEN at position 4 (modified)")
    machine = paddock("audit", "verify", "--json", "--checkpoint", "early.json").json()
    assert machine["status"] == "broken"
    assert (machine["first"]["position"], machine["first"]["kind"]) == (4, "modified")
    refused = paddock("audit", "checkpoint")
    assert refused.code == 1 and "no checkpoint taken" in refused.err


def test_what_cannot_be_verified_says_why(paddock: CliRunner, tmp_path: Path) -> None:
    memory = paddock("audit", "verify", store_url="memory://")
    assert memory.code == 2 and "keeps no hash chain" in memory.err
    nothing = paddock("audit", "verify", store_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert nothing.code == 2 and "no event log at" in nothing.err
    assert not (tmp_path / "none.db").exists()  # verifying creates nothing
    assert paddock("demo", "--json").code == 0
    (tmp_path / "bad.json").write_text('{"position": 3, "digest": "xyz"}')
    bad = paddock("audit", "verify", "--checkpoint", "bad.json", "--json")
    assert bad.code == 2 and "bad.json" in bad.err and "'digest'" in bad.err
    assert bad.json()["status"] == "unverifiable"
    beyond = paddock("audit", "checkpoint", "--position", "100000")
    assert beyond.code == 2 and "no event at position 100000" in beyond.err


# -- the serve role -----------------------------------------------------------------------------


async def test_the_checkpoints_role_publishes_checkpoints_that_verify(
        tmp_path: Path, nc: Client, nats_url: str, nats_prefix: str, paddock: CliRunner) -> None:
    store = f"sqlite:///{tmp_path / 'e2e.db'}"
    ledger = open_ledger(store)
    load_demo(ledger)
    sub = await nc.subscribe(checkpoint_subject(prefix=nats_prefix))
    serve = start_serve(store, nats_url, nats_prefix, tmp_path / "serve.log")
    try:
        first = await sub.next_msg(timeout=30)
        checkpoint = checkpoint_from_json(json.loads(first.data), "nats")
        assert checkpoint.position == ledger.head()
        assert checkpoint.store == store_identity(store)
        assert first.headers is not None
        assert first.headers["Paddock-Log-Position"] == str(ledger.head())
        (tmp_path / "nats.json").write_bytes(first.data)
        verified = await asyncio.to_thread(paddock, "audit", "verify", "--checkpoint", "nats.json")
        assert verified.code == 0, verified.out + verified.err

        another_pole(ledger, 1)  # the head moves: a new checkpoint follows
        second = checkpoint_from_json(json.loads((await sub.next_msg(timeout=30)).data), "nats")
        assert second.position == ledger.head() > checkpoint.position
    finally:
        stop(serve)
    assert serve.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]

    # A restart republishes the head under the same message id: the stream keeps one copy.
    js = nc.jetstream()
    stream = checkpoint_stream_name(prefix=nats_prefix)
    assert (await js.stream_info(stream)).state.messages == 2
    again = start_serve(store, nats_url, nats_prefix, tmp_path / "serve.log")
    try:
        assert (await sub.next_msg(timeout=30)).headers == (await js.get_last_msg(
            stream, checkpoint_subject(prefix=nats_prefix))).headers
    finally:
        stop(again)
    assert (await js.stream_info(stream)).state.messages == 2


def start_serve(store: str, nats_url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PADDOCK_LOG_FORMAT": "json", "PADDOCK_CHECKPOINT_EVERY": "0.2"}
    with log.open("ab") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [PADDOCK, "serve", "--store", store, "--nats-url", nats_url, "--prefix", prefix,
             "--roles", "checkpoints", "--grace", "5"],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def test_the_publisher_publishes_only_verified_history(
        store_url: str, nc: Client, nats_prefix: str) -> None:
    ledger = open_ledger(store_url)
    load_demo(ledger)
    chain = chain_of(ledger.recorder)
    assert chain is not None
    publisher = CheckpointPublisher(nc, ledger, store=store_identity(store_url), prefix=nats_prefix)
    sub = await nc.subscribe(checkpoint_subject(prefix=nats_prefix))
    published = await publisher.publish_due()
    assert published is not None and published.position == ledger.head()
    received = checkpoint_from_json(json.loads((await sub.next_msg(timeout=30)).data), "nats")
    assert received == replace(published, source="nats")
    assert chain.walk_chain([received]).ok
    assert await publisher.publish_due() is None  # the head has not moved

    another_pole(ledger, 2)
    tamper_event(store_url, chain.events_table_name, ledger.head())  # before the publisher looks
    assert await publisher.publish_due() is None
    with pytest.raises(TimeoutError):
        await sub.next_msg(timeout=0.5)


async def test_the_publisher_reports_a_log_cut_below_its_last_checkpoint(
        store_url: str, nc: Client, nats_prefix: str) -> None:
    ledger = open_ledger(store_url)
    load_demo(ledger)
    publisher = CheckpointPublisher(nc, ledger, store=store_identity(store_url), prefix=nats_prefix)
    published = await publisher.publish_due()
    assert published is not None
    with tamper(store_url) as sql:  # the newest two events and their digests
        sql.run("DELETE FROM {events} WHERE {id} >= ?", published.position - 1)
        sql.run("DELETE FROM {chain} WHERE position >= ?", published.position - 1)
    with capture_logs() as logs:
        assert await publisher.publish_due() is None
    cut = [e for e in logs if e["event"] == "checkpoints.truncated"]
    assert cut and (cut[0]["checkpoint"], cut[0]["head"]) == (published.position,
                                                              published.position - 2)
    assert cut[0]["log_level"] == "error"


def tamper_event(store_url: str, table: str, position: int) -> None:
    """Append a byte to one event's state, in plain SQL."""
    if store_url.startswith("sqlite"):
        tamper_state(Path(store_url.removeprefix("sqlite:///")), position)
        return
    import psycopg

    base, _, schema = store_url.partition("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(f'UPDATE "{schema}"."{table}" SET state = state || '
                     "'\\x20'::bytea WHERE notification_id = %s", (position,))


async def test_on_the_memory_store_the_role_stands_aside(nats_url: str, nats_prefix: str) -> None:
    stop_serving, started = asyncio.Event(), asyncio.Event()
    config = ServeConfig(store_url="memory://", nats_url=nats_url, roles=("checkpoints",),
                         prefix=nats_prefix, grace_seconds=2)
    serving = asyncio.create_task(serve(config, stop_serving, ready=started.set))
    await asyncio.wait_for(started.wait(), timeout=60)
    await asyncio.sleep(0.3)
    assert not serving.done(), "a role that cannot run must not stop the service"
    stop_serving.set()
    await asyncio.wait_for(serving, timeout=60)
