"""Ingest workers split the partition groups by lease on real PostgreSQL and a real nats-server:
many championships, every message recorded once, each championship's messages in order (a
classification handled before its season would be rejected), and a SIGKILLed `paddock serve`'s
groups taken over by the survivor."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NoStreamResponseError

from bench.workload import IngestWorkload, ingest_workload
from domain.aggregates.championship import Championship
from domain.aggregates.race_classification import RaceClassification
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from infra.workers.group_claims import claims_for
from infra.workers.ingest_worker import IngestWorker
from services.demo import register_demo_keys
from services.ingest import IngestService
from services.ingest_subjects import IngestSubject, ingest_group, published_subject
from services.ledger import Ledger
from services.timing_messages import OutgoingMessage, demo_messages
from tests.e2e.serve_process import ServeProcess


def in_order(workload: IngestWorkload) -> list[OutgoingMessage]:
    """Each championship's season, then its rounds; championships interleaved."""
    rounds: dict[str, list[OutgoingMessage]] = {}
    for m in workload.classifications:
        rounds.setdefault(m.subject.rsplit(".", 1)[1], []).append(m)
    out = list(workload.seasons)
    width = max(len(r) for r in rounds.values())
    for i in range(width):
        out.extend(r[i] for r in rounds.values() if i < len(r))
    return out


async def publish(nc: Client, messages: Sequence[OutgoingMessage]) -> None:
    js = nc.jetstream()
    for m in messages:
        await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
    await js.publish_async_completed()


async def until_drained(nc: Client, topology: IngestTopology) -> None:
    async with asyncio.timeout(300):  # generous: a loaded machine is slow, not failing
        while await topology.backlog(nc.jetstream()) != (0, 0):
            await asyncio.sleep(0.1)


def check_recorded_once_in_order(store: str, workload: IngestWorkload) -> None:
    """Every message's receipt once; each championship registered, then its rounds in order."""
    ledger = open_ledger(store)
    try:
        events = ledger.read_events(0)
    finally:
        ledger.close()
    receipts = [e.message_id for _, e in events if type(e).__name__ == "Received"]
    expected = {m.message_id for m in [*workload.seasons, *workload.classifications]}
    assert sorted(receipts) == sorted(expected), "each message recorded exactly once"
    order: dict[str, list[object]] = {}
    for _, e in events:
        if isinstance(e, Championship.Registered):
            order.setdefault(e.championship, []).append("registered")
        elif isinstance(e, RaceClassification.Opened):
            order.setdefault(e.championship, []).append(e.round_number)
    rounds = len(workload.classifications) // len(workload.seasons)
    assert order == {k: ["registered", *range(1, rounds + 1)] for k in order}
    assert len(order) == len(workload.seasons)


async def test_two_workers_split_the_groups_and_keep_each_championships_order(
        nc: Client, nats_prefix: str, store_url: str) -> None:
    """On PostgreSQL (advisory locks) and SQLite (flock files beside the log)."""
    workload = ingest_workload(120, rounds_per_championship=3, prefix=nats_prefix)
    topology = IngestTopology(prefix=nats_prefix)
    await topology.ensure(nc.jetstream())
    workers = [IngestWorker(nc, IngestService(open_ledger(store_url), prefix=nats_prefix),
                            topology, batch=16, claim_every=0.2,
                            claims=claims_for(store_url, "ingest", topology.leases,
                                              scope=nats_prefix)) for _ in range(2)]
    stop = asyncio.Event()
    running = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        async with asyncio.timeout(120):
            while not all(len(w.claims.held) == 8 or len(w.claims.held) == 9 for w in workers
                          if w.claims):
                await asyncio.sleep(0.05)
        held = [w.claims.held for w in workers if w.claims]
        assert held[0].isdisjoint(held[1]) and held[0] | held[1] == set(range(topology.leases))
        await publish(nc, in_order(workload))
        await until_drained(nc, topology)
    finally:
        stop.set()
        await asyncio.gather(*running)
    assert all(w.handled > 0 for w in workers), "both workers took part"
    check_recorded_once_in_order(store_url, workload)


def serve(tmp_path: Path, name: str, store: str, nats_url: str, prefix: str) -> ServeProcess:
    return ServeProcess(tmp_path / f"{name}.log", "--store", store, "--nats-url", nats_url,
                        "--prefix", prefix, "--roles", "ingest", "--grace", "5",
                        env={"PADDOCK_INGEST_CLAIM_EVERY": "0.5"})


@pytest.mark.slow(14)
@pytest.mark.postgres
async def test_a_killed_serve_processs_groups_are_taken_over_and_nothing_is_recorded_twice(
        tmp_path: Path, nc: Client, nats_url: str, nats_prefix: str,
        postgres_store: str) -> None:
    workload = ingest_workload(600, rounds_per_championship=4, prefix=nats_prefix)
    topology = IngestTopology(prefix=nats_prefix)
    first = serve(tmp_path, "first", postgres_store, nats_url, nats_prefix)
    second = serve(tmp_path, "second", postgres_store, nats_url, nats_prefix)
    try:
        for process in (first, second):
            process.wait_for(lambda lines: len(held_groups_of(lines)) in (8, 9), timeout=120,
                             what="a fair share of the groups")
        await publish(nc, in_order(workload))
        ledger = open_ledger(postgres_store)
        try:
            async with asyncio.timeout(300):
                while ledger.head() < 300:  # mid-ingest
                    await asyncio.sleep(0.02)
        finally:
            ledger.close()
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        second.wait_for(lambda lines: len(held_groups_of(lines)) == topology.leases,
                        timeout=120, what="every group taken over")
        await until_drained(nc, topology)
    finally:
        for process in (first, second):
            process.kill()
    check_recorded_once_in_order(postgres_store, workload)


def held_groups_of(lines: list[dict[str, object]]) -> set[int]:
    """The groups a serve process holds, by its last `ingest.groups` log line."""
    found = [line for line in lines if line.get("event") == "ingest.groups"]
    held = found[-1]["held"] if found else []
    return set(held) if isinstance(held, list) else set()


async def test_messages_of_the_unpartitioned_form_are_still_recorded_after_the_upgrade(
        nc: Client, nats_prefix: str, memory_ledger: Ledger) -> None:
    """A stream and durable as they were before issue 10, holding messages on the old subjects:
    the new topology keeps them, and its unpartitioned group records them, in order."""
    topology = IngestTopology(prefix=nats_prefix)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=topology.stream, subjects=[f"{nats_prefix}.ingest.>"]))
    await js.add_consumer(topology.stream, ConsumerConfig(
        durable_name="ingest", ack_policy=AckPolicy.EXPLICIT, filter_subject=f"{nats_prefix}.ingest.>"))
    old = [OutgoingMessage(published_subject(m.subject, nats_prefix).rsplit(".", 1)[0], m.body,
                           m.message_id) for m in demo_messages(nats_prefix)[:6]]
    assert all(IngestSubject.parse(m.subject, nats_prefix).key is None for m in old)
    await publish(nc, old)
    register_demo_keys(memory_ledger)
    worker = IngestWorker(nc, IngestService(memory_ledger, prefix=nats_prefix), topology)
    assert await worker.run_until_idle(idle=0.5) == len(old)
    assert await topology.backlog(js) == (0, 0)
    receipts = [e.message_id for _, e in memory_ledger.read_events(0)
                if type(e).__name__ == "Received"]
    assert receipts == [m.message_id for m in old], "each recorded once, in order"
    info = await js.consumer_info(topology.stream, "ingest")
    assert info.config.filter_subject == f"{nats_prefix}.ingest.*.*.*"


async def test_the_broker_refuses_subjects_of_any_other_shape(nc: Client, nats_prefix: str) -> None:
    """Nothing can be published into a group directly, nor on a longer subject: no stream
    captures it, so the publisher hears it at once (and nothing lingers unconsumed)."""
    topology = IngestTopology(prefix=nats_prefix)
    js = nc.jetstream()
    await topology.ensure(js)
    for subject in (f"{nats_prefix}.ingest.3.timing.pole.recorded.x",
                    f"{nats_prefix}.ingest.timing.pole.recorded.x.y",
                    f"{nats_prefix}.ingest.timing.pole"):
        with pytest.raises(NoStreamResponseError):
            await js.publish(subject, b"{}", timeout=2)
    ack = await js.publish(f"{nats_prefix}.ingest.timing.pole.recorded.x", b"{}")
    assert ack.stream == topology.stream
    stored = await js.get_msg(topology.stream, ack.seq)
    assert stored.subject == (f"{nats_prefix}.ingest.{ingest_group('x', topology.groups)}"
                              ".timing.pole.recorded.x"), "the server's group is ours"
