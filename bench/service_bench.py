"""The service benchmark: Paddock's figures beside raw baselines measured in the same run.

    .venv/bin/python -m bench.service_bench            # full (make bench), ~4 minutes
    .venv/bin/python -m bench.service_bench --quick    # smaller sizes (make bench-quick), ~30 s
    .venv/bin/python -m bench.service_bench --json results.json
    .venv/bin/python -m bench.service_bench --only ingest   # one part (repeatable)

One run starts its own nats-server (temp dir, free port) and uses temp SQLite stores. It measures
1. ingest: classification messages (~40 real AsLMS rows each) from the JetStream stream to a
   durable append and ack, by an IngestWorker (batch 64); baselines: the floor (pydantic
   validation + eventsourcing save of the same events, in-process, nothing else; target ≥ 70 %)
   and a bare pull consumer doing fetch(64) + ack on the same payloads;
2. projection catch-up: a ProjectionWorker from position 0 over the ingest log; baselines: a raw
   read of the notifications (pages of 1000) and a bare SQLite batched insert;
3. as-of standings queries on a log of 1 million events (100k with --quick), each reading its
   championship's partition (the first answer of a fresh Ledger reported apart); baseline: a
   bare SQLite point query (one aggregate's events);
4. publish latency: append a fact → the standings message with its log position reaches a
   subscriber (projection worker + publisher running); baseline: bare NATS publish → subscriber.
Results: docs/PERFORMANCE.md. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any, Self
from uuid import UUID

import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from bench.workload import (
    SEASON_START,
    BigLog,
    IngestWorkload,
    build_big_log,
    flag_at,
    ingest_workload,
    query_point,
)
from domain.aggregates.ingest_receipt import IngestReceipt
from domain.aggregates.race_classification import RaceClassification
from domain.decisions import DecisionKind, DecisionTerms
from domain.partitions import IndexEntry, partitions_of
from infra.bootstrap import open_ledger
from infra.collector import settle_after_start_up
from infra.logging import configure_logging
from infra.nats_ingest import BROKER_MAX_MESSAGE, IngestTopology
from infra.nats_subjects import standings_subject
from infra.store import store_settings
from infra.views.factory import open_view_store
from infra.workers.ingest_worker import IngestWorker
from infra.workers.projection_worker import ProjectionWorker
from infra.workers.publisher import Publisher
from services import contracts as c
from services import demo
from services.ingest import Delivery, IngestService, row_records
from services.ledger import Ledger, rows_digest
from tests.nats_server import NatsServer

FETCH_BATCH = 64
INGEST_TARGET_RATIO = 0.7  # of the floor (issue 10)
FLOOR_NAME = "floor: pydantic + eventsourcing save"
PARTS = ("ingest", "projection", "publish", "as-of")
QUERY_TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Sizes:
    messages: int  # classification messages ingested
    rounds_per_championship: int
    log_events: int  # events in the as-of log
    queries: int
    publishes: int
    insert_rows: int  # bare SQLite insert baseline

    @staticmethod
    def of(quick: bool, rounds: int) -> Sizes:
        if quick:
            return Sizes(300, rounds, 100_000, 300, 30, 50_000)
        return Sizes(2000, rounds, 1_000_000, 500, 50, 200_000)


@dataclass
class Row:
    """One line of the results table."""

    metric: str
    unit: str
    ours: float
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


@dataclass
class Results:
    mode: str
    machine: dict[str, str]
    sizes: dict[str, int]
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


class GcTimer:
    """Time spent in the cyclic garbage collector (any thread) while the block runs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1

    def __enter__(self) -> Self:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def figures(self, elapsed: float) -> dict[str, float]:
        return {"gc_seconds": self.seconds, "gc_collections": self.collections,
                "gc_share": self.seconds / elapsed if elapsed else 0.0}


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_figures(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "mean_ms": statistics.fmean(ms), "max_ms": max(ms)}


# -- machine ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = NatsServer().binary
    server_version = "unknown"
    if server is not None:
        done = subprocess.run([str(server), "--version"], capture_output=True, text=True,
                              check=False)
        server_version = done.stdout.strip() or done.stderr.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "pydantic": version("pydantic"),
        "nats-py": version("nats-py"),
        "nats-server": server_version,
        "os": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# -- 1. ingest ----------------------------------------------------------------------------------


async def publish_all(js: JetStreamContext, messages: Sequence[tuple[str, bytes, dict[str, str]]]
                      ) -> None:
    """Publish with publish_async, then wait until the stream has acknowledged every one."""
    futures = [await js.publish_async(subject, body, headers=headers)
               for subject, body, headers in messages]
    await js.publish_async_completed()
    for future in futures:
        future.result()


def ingest_consumer(durable: str, subjects: str) -> ConsumerConfig:
    """The consumer settings of the ingest topology (infra/nats_ingest.py)."""
    topology = IngestTopology()
    return ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                          ack_wait=topology.ack_wait, max_deliver=topology.max_deliver,
                          max_ack_pending=2000, filter_subject=subjects)


async def bare_fetch_ack(nc: Client, workload: IngestWorkload, passes: int = 3
                         ) -> dict[str, Any]:
    """Baseline: the same payloads in a bare stream, drained by a bare pull consumer doing
    fetch(64) + ack (the ingest consumer's settings). `passes` consumers each drain the whole
    stream; the median pass is the figure (a pass of 300 messages lasts only ~20 ms)."""
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="BENCH_BARE", subjects=["bench.bare.>"],
                                     storage=StorageType.FILE, max_msg_size=BROKER_MAX_MESSAGE,
                                     duplicate_window=120.0))
    messages = [(m.subject.replace("paddock.ingest.", "bench.bare."), m.body,
                 {"Nats-Msg-Id": m.message_id}) for m in workload.classifications]
    await publish_all(js, messages)
    rates = []
    for n in range(passes):
        await js.add_consumer("BENCH_BARE", ingest_consumer(f"bare{n}", "bench.bare.>"))
        psub = await js.pull_subscribe_bind(f"bare{n}", "BENCH_BARE")
        total, received = len(messages), 0
        started = time.perf_counter()
        while received < total:
            try:
                msgs: list[Msg] = await psub.fetch(FETCH_BATCH, timeout=2.0)
            except NatsTimeout:
                raise RuntimeError(f"bare consumer stalled at {received}/{total}") from None
            for msg in msgs:
                await msg.ack()
            received += len(msgs)
        await nc.flush()
        rates.append(total / (time.perf_counter() - started))
        await psub.unsubscribe()
    rate = statistics.median(rates)
    return {"messages": len(messages), "passes": rates, "msgs_per_s": rate,
            "rows_per_s": rate * workload.rows / len(messages)}


async def paddock_ingest(nc: Client, workload: IngestWorkload, store_url: str, *,
                         settle_collector: bool = True) -> dict[str, float]:
    """Ours: the IngestWorker drains the stream to durable appends, acking each message after
    its facts and receipt are committed. The collector is set as `paddock serve` sets it
    (infra/collector.py) for the rest of the run, so the floor measured after runs under the
    same settings; `settle_collector=False` keeps CPython's defaults (for comparison)."""
    js = nc.jetstream()
    topology = IngestTopology()
    ledger = open_ledger(store_url)
    progress = asyncio.Event()  # waited on, not polled: a polling loop takes the GIL from the
    worker = IngestWorker(nc, IngestService(ledger), topology, batch=FETCH_BATCH,  # worker thread
                          on_appended=progress.set)
    await topology.ensure(js)

    await publish_all(js, [(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                           for m in workload.seasons])
    registered = await worker.run_until_idle(idle=0.3)
    if registered != len(workload.seasons):
        raise RuntimeError(f"{registered} of {len(workload.seasons)} seasons registered")
    if settle_collector:
        settle_after_start_up()  # as `paddock serve` does once its roles are started
    head_before = ledger.head()

    await publish_all(js, [(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                           for m in workload.classifications])
    backlog = await topology.backlog(js)  # every group's consumer
    assert backlog == (len(workload.classifications), 0), backlog

    total = len(workload.classifications)
    stop = asyncio.Event()
    handled_before = worker.handled
    with GcTimer() as gc_timer:
        started, cpu = time.perf_counter(), time.process_time()
        task = asyncio.create_task(worker.run(stop))
        while True:
            progress.clear()
            if worker.handled - handled_before >= total:
                break
            if task.done():
                task.result()
                raise RuntimeError("the ingest worker stopped early")
            try:
                await asyncio.wait_for(progress.wait(), 5.0)
            except TimeoutError:
                say(f"  ingest: {worker.handled - handled_before}/{total} messages")
        await nc.flush()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    await task

    appended = ledger.head() - head_before
    pending, unacked = await topology.backlog(js)
    if appended != 3 * total or pending or unacked:
        raise RuntimeError(f"ingest incomplete: {appended} events appended for {total} messages "
                           f"(expected {3 * total}); pending {pending}, unacked {unacked}")
    ledger.close()
    return {"messages": total, "rows": workload.rows, "events_appended": appended,
            "seconds": elapsed, "cpu_seconds": cpu, "msgs_per_s": total / elapsed,
            "rows_per_s": workload.rows / elapsed,
            "payload_bytes_mean": workload.payload_bytes / total, **gc_timer.figures(elapsed)}


def in_process_ingest(workload: IngestWorkload, store_url: str) -> dict[str, float]:
    """For reference: the service on the same deliveries, in one thread, no NATS: batches of 64
    through `IngestService.process_batch`, as the worker's thread calls it (the difference to
    the worker's rate is the NATS side: fetch, ack, hand-over to the thread)."""
    ledger = open_ledger(store_url)
    service = IngestService(ledger)
    for m in workload.seasons:
        service.process(Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id}))
    deliveries = [Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                  for m in workload.classifications]
    started, cpu = time.perf_counter(), time.process_time()
    results = [r for i in range(0, len(deliveries), FETCH_BATCH)
               for r in service.process_batch(deliveries[i:i + FETCH_BATCH])]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ledger.close()
    if any(r.status != "accepted" for r in results):
        raise RuntimeError("in-process ingest: not every message was accepted")
    return {"messages": len(deliveries), "seconds": elapsed, "cpu_seconds": cpu,
            "msgs_per_s": len(deliveries) / elapsed}


@dataclass(frozen=True)
class _FloorInput:
    """What the floor's events carry besides what validation gives: prepared before the clock."""

    message_id: str
    subject: str
    payload_digest: str
    records: list[dict[str, Any]]
    rows_digest: str
    effective_at: datetime


def ingest_floor(workload: IngestWorkload, store_url: str, *, chained: bool = False
                 ) -> dict[str, Any]:
    """The floor: pydantic validation of each payload (`MESSAGE.validate_json`) and an
    `eventsourcing` save of the same events Paddock appends for it (receipt; round opened;
    classification published with the same row records and digests, prepared before the clock),
    one save per batch of 64, and nothing else: no NATS, no checks, no fold; eventsourcing's
    own transcoder. `chained=False`: its stock SQLite recorder; `True`: Paddock's recorder
    (hash chain and partition index, whose entries it is given)."""
    env = store_settings(store_url)
    env.pop("TRANSCODER_TOPIC")  # eventsourcing's own JSON transcoder
    if not chained:
        env.pop("APPLICATION_RECORDER_TOPIC")
    app: Application[UUID] = Application(env=env)
    prepared = []
    for m in workload.classifications:
        model = c.MESSAGE.validate_json(m.body)
        assert isinstance(model, c.ClassificationPublishedV1)
        records = row_records(model)
        prepared.append(_FloorInput(m.message_id, m.subject, hashlib.sha256(m.body).hexdigest(),
                                    records, rows_digest(records),
                                    flag_at(SEASON_START, model.round)))
    messages = list(zip(workload.classifications, prepared, strict=True))
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(messages), FETCH_BATCH):
        aggregates: list[Aggregate] = []
        for m, p in messages[start:start + FETCH_BATCH]:
            model = c.MESSAGE.validate_json(m.body)
            assert isinstance(model, c.ClassificationPublishedV1)
            now = datetime.now(UTC)
            source = f"nats:{p.message_id}"
            aggregates.append(IngestReceipt(
                message_id=p.message_id, subject=p.subject, digest=p.payload_digest,
                outcome="accepted", what=p.subject, effective_at=now, recorded_at=now,
                actor=f"nats:{p.subject}", source=f"nats:{p.subject}"))
            rnd = RaceClassification(championship=model.championship, round_number=model.round,
                                     effective_at=p.effective_at, recorded_at=now,
                                     actor=f"nats:{p.subject}", source=source)
            rnd.publish(model.status, p.rows_digest, p.records, p.effective_at, now,
                        f"nats:{p.subject}", source)
            aggregates.append(rnd)
        if chained:  # Paddock's recorder refuses an append without its partition index
            app.save(*aggregates, partition_index=[IndexEntry.of(partitions_of(a, e), e)
                                                   for a in aggregates for e in a.pending_events])
        else:
            app.save(*aggregates)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    events = app.recorder.max_notification_id() or 0
    app.close()
    if events != 3 * len(messages):
        raise RuntimeError(f"floor: {events} events saved for {len(messages)} messages")
    return {"messages": len(messages), "events": events, "seconds": elapsed, "cpu_seconds": cpu,
            "msgs_per_s": len(messages) / elapsed, "recorder": "chained" if chained else "stock"}


def validation_only(workload: IngestWorkload) -> dict[str, float]:
    """For reference: json.loads + the contracts' pydantic validation of each payload."""
    bodies = [m.body for m in workload.classifications]
    started = time.perf_counter()
    for body in bodies:
        c.MESSAGE.validate_python(json.loads(body))
    elapsed = time.perf_counter() - started
    return {"messages": len(bodies), "seconds": elapsed, "msgs_per_s": len(bodies) / elapsed}


def commit_per_message(path: Path, workload: IngestWorkload) -> dict[str, float]:
    """For reference, the ceiling of one durable transaction per message: bare sqlite3 (WAL,
    default synchronous, as eventsourcing opens it), one transaction of three rows per message
    (receipt, round opened, classification published with the message's bytes)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE events (originator_id TEXT, originator_version INTEGER, "
               "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    small = b"x" * 300
    started = time.perf_counter()
    for i, m in enumerate(workload.classifications):
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [
            (f"r{i:031x}", 1, "receipt", small), (f"c{i:031x}", 1, "opened", small),
            (f"c{i:031x}", 2, "published", m.body)])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    n = len(workload.classifications)
    return {"messages": n, "seconds": elapsed, "msgs_per_s": n / elapsed}


# -- 2. projection catch-up --------------------------------------------------------------------


def raw_notification_read(ledger: Ledger, min_seconds: float = 1.0) -> dict[str, float]:
    """Baseline: `recorder.select_notifications` pages of 1000, no decoding; repeated for at
    least `min_seconds` so a small log still gives a stable rate."""
    events, passes = 0, 0
    started = time.perf_counter()
    while True:
        after = 0
        while page := ledger.recorder.select_notifications(start=after, limit=1000,
                                                           inclusive_of_start=False):
            events += len(page)
            after = page[-1].id
        passes += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return {"events": events, "passes": passes, "seconds": elapsed,
                    "events_per_s": events / elapsed}


def decoded_read(ledger: Ledger, min_seconds: float = 1.0) -> dict[str, float]:
    """For reference: `Ledger.read_events` (pages of 1000, decoded to domain events)."""
    events, started = 0, time.perf_counter()
    while True:
        events += len(ledger.read_events(0))
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return {"events": events, "seconds": elapsed, "events_per_s": events / elapsed}


def bare_sqlite_insert(path: Path, rows: int, blob_bytes: int) -> dict[str, float]:
    """Baseline: sqlite3, WAL, default synchronous, executemany of 1000-row batches of JSON
    blobs the size of the log's mean stored event, one commit per batch."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, originator_id TEXT, "
               "originator_version INTEGER, topic TEXT, state BLOB)")
    filler = "x" * max(0, blob_bytes - 40)
    started = time.perf_counter()
    for start in range(0, rows, 1000):
        batch = [(f"{i:032x}", 1, "bench:Event", json.dumps({"n": i, "f": filler}).encode())
                 for i in range(start, min(rows, start + 1000))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO events (originator_id, originator_version, topic, state) "
                       "VALUES (?, ?, ?, ?)", batch)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return {"rows": rows, "blob_bytes": blob_bytes, "seconds": elapsed, "rows_per_s": rows / elapsed}


async def projection_catch_up(store_url: str) -> dict[str, float]:
    ledger = open_ledger(store_url)
    views = open_view_store(store_url)
    worker = ProjectionWorker(ledger, views)
    head = ledger.head()
    with GcTimer() as gc_timer:
        started = time.perf_counter()
        progress = await worker.run_until_caught_up()
        elapsed = time.perf_counter() - started
    if progress.position != head:
        raise RuntimeError(f"projection reached {progress.position}, the log ends at {head}")
    views.close()
    ledger.close()
    return {"events": progress.events, "views_written": progress.views_written,
            "batches": progress.batches, "seconds": elapsed,
            "events_per_s": progress.events / elapsed, **gc_timer.figures(elapsed)}


def mean_event_bytes(db_file: Path) -> int:
    db = sqlite3.connect(db_file)
    try:
        (mean,) = db.execute("SELECT avg(length(state)) FROM stored_events").fetchone()
    finally:
        db.close()
    return round(float(mean))


# -- 3. as-of queries on a large log -----------------------------------------------------------


def as_of_queries(store_url: str, db_file: Path, target_events: int, queries: int
                  ) -> dict[str, Any]:
    ledger = open_ledger(store_url)
    say(f"as-of: building a log of {target_events:,} events")
    last = [time.perf_counter()]

    def progress(events: int) -> None:
        if time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            say(f"  built {events:,} events")

    started = time.perf_counter()
    log = build_big_log(ledger, target_events, progress=progress)
    build_seconds = time.perf_counter() - started
    ledger.close()
    say(f"as-of: {log.events:,} events in {build_seconds:.1f}s; first answer of a fresh Ledger")

    rng = random.Random(7)
    fresh = open_ledger(store_url)
    with GcTimer() as fold_gc:
        started = time.perf_counter()
        championship, as_of, known_at = query_point(log, rng)
        fresh.standings(championship, as_of=as_of, known_at=known_at)  # reads one partition
        fold_seconds = time.perf_counter() - started
    say(f"as-of: first answer in {fold_seconds * 1000:.0f} ms; {queries} standings queries")

    timings, sizes = [], []
    with GcTimer() as query_gc:
        for _ in range(queries):
            championship, as_of, known_at = query_point(log, rng)
            t0 = time.perf_counter()
            view = fresh.standings(championship, as_of=as_of, known_at=known_at)
            timings.append(time.perf_counter() - t0)
            sizes.append(sum(len(c["rows"]) for c in view["classes"]))
    fresh.close()

    baseline = point_queries(db_file, log, queries, rng)
    return {
        "events": log.events, "championships": len(log.championships),
        "build_seconds": build_seconds, "build_events_per_s": log.events / build_seconds,
        "fold_seconds": fold_seconds,
        "fold_gc": fold_gc.figures(fold_seconds), "queries_gc": query_gc.figures(sum(timings)),
        "db_bytes": db_file.stat().st_size,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "standings": latency_figures(timings), "standings_rows_mean": statistics.fmean(sizes),
        "point_query": baseline,
    }




def point_queries(db_file: Path, log: BigLog, queries: int, rng: random.Random
                  ) -> dict[str, float]:
    """Baseline: select one aggregate's events by originator_id (the primary key) on the same
    file, with a bare sqlite3 connection."""
    db = sqlite3.connect(db_file)
    statement = ("SELECT * FROM stored_events WHERE originator_id=? "
                 "ORDER BY originator_version ASC")
    timings = []
    for _ in range(queries):
        oid = rng.choice(log.aggregate_ids).hex
        t0 = time.perf_counter()
        found = db.execute(statement, (oid,)).fetchall()
        timings.append(time.perf_counter() - t0)
        assert found, oid
    db.close()
    return latency_figures(timings)


# -- 4. publish latency ---------------------------------------------------------------------------


async def publish_latency(nc: Client, store_url: str, repeats: int) -> dict[str, Any]:
    """Append a points deduction, wake the projection worker, and time until the standings
    message carrying that log position reaches a subscriber."""
    appender = open_ledger(store_url)
    demo.load_demo(appender)
    views = open_view_store(store_url)
    publisher = Publisher(nc, views, poll_interval=1.0)
    worker = ProjectionWorker(open_ledger(store_url), views, on_written=publisher.wake)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)), asyncio.create_task(publisher.run(stop))]

    arrivals: dict[int, float] = {}
    got = asyncio.Event()

    async def on_message(msg: Msg) -> None:
        position = int((msg.headers or {}).get("Paddock-Log-Position", "0"))
        arrivals.setdefault(position, time.perf_counter())
        got.set()

    subject = standings_subject(demo.ASLMS, "LMP2").rsplit(".", 1)[0] + ".>"
    sub = await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    await _until(lambda: _published_to(views, publisher.name) >= appender.head(), 30.0,
                 "initial publish")

    append_s, latencies = [], []
    for i in range(repeats):
        terms = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "4", points=Decimal(1))
        t0 = time.perf_counter()
        outcome = await asyncio.to_thread(
            appender.impose_penalty, demo.ASLMS, 5, terms, reference=f"bench-latency-{i}",
            reason="bench", effective_at=demo.R5_DECIDED + timedelta(minutes=i + 1),
            signed_by=demo.DEMO_STEWARD, actor="bench", source="bench")
        committed = time.perf_counter()
        worker.wake()
        position = outcome.positions[-1]
        deadline = committed + 10.0
        while position not in arrivals:
            got.clear()
            try:
                await asyncio.wait_for(got.wait(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                raise RuntimeError(f"no standings message for log position {position}") from None
        append_s.append(committed - t0)
        latencies.append(arrivals[position] - committed)
        await asyncio.sleep(0.02)

    await sub.unsubscribe()
    stop.set()
    await asyncio.gather(*tasks)
    views.close()
    appender.close()
    return {"append": latency_figures(append_s), "append_to_subscriber": latency_figures(latencies),
            "append_start_to_subscriber": latency_figures(
                [a + b for a, b in zip(append_s, latencies, strict=True)])}


def _published_to(views: Any, publisher: str) -> int:
    return int(views.published_position(publisher))


async def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not await asyncio.to_thread(check):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def bare_publish_latency(url: str, repeats: int, body_bytes: int) -> dict[str, Any]:
    """Baseline: core NATS publish → subscriber callback, two connections, same body size."""
    pub, sub_nc = await nats.connect(url), await nats.connect(url)
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def on_message(msg: Msg) -> None:
        arrived.put_nowait(time.perf_counter())

    sub = await sub_nc.subscribe("bench.latency", cb=on_message)
    await sub_nc.flush()
    body = b"x" * body_bytes
    latencies = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        await pub.publish("bench.latency", body)
        latencies.append(await asyncio.wait_for(arrived.get(), 5.0) - t0)
        await asyncio.sleep(0.02)
    await sub.unsubscribe()
    await pub.close()
    await sub_nc.close()
    return latency_figures(latencies)


def standings_message_bytes(store_url: str) -> int:
    ledger = open_ledger(store_url)
    try:
        view = ledger.standings(demo.ASLMS, class_id="LMP2")
    finally:
        ledger.close()
    return len(json.dumps(view, default=str))


# -- the run ------------------------------------------------------------------------------------


async def run(sizes: Sizes, workdir: Path, server: NatsServer, mode: str,
              parts: Sequence[str] = PARTS, *, default_collector: bool = False) -> Results:
    results = Results(mode, machine(), asdict(sizes))
    nc = await nats.connect(server.url, max_reconnect_attempts=0)
    if "ingest" in parts:
        await ingest_part(nc, sizes, workdir, results, default_collector=default_collector)
    if "projection" in parts:
        await projection_part(workdir, sizes, results)
    if "publish" in parts:
        await publish_part(nc, server, workdir, sizes, results)
    await nc.close()
    if "as-of" in parts:
        await as_of_part(workdir, sizes, results)
    return results


async def ingest_part(nc: Client, sizes: Sizes, workdir: Path, results: Results, *,
                      default_collector: bool = False) -> None:
    raw = results.raw
    say(f"ingest: preparing {sizes.messages} classification messages")
    workload = ingest_workload(sizes.messages, rounds_per_championship=sizes.rounds_per_championship)
    say(f"ingest: baseline (bare fetch+ack of {len(workload.classifications)} messages)")
    raw["ingest_baseline"] = await bare_fetch_ack(nc, workload)
    say("ingest: IngestWorker draining the stream")
    raw["ingest"] = await paddock_ingest(nc, workload, f"sqlite:///{workdir / 'ingest.db'}",
                                         settle_collector=not default_collector)
    say("ingest: floor (pydantic validation + eventsourcing save of the same events)")
    raw["ingest_floor"] = ingest_floor(workload, f"sqlite:///{workdir / 'floor.db'}")
    raw["ingest_floor_chained"] = ingest_floor(workload, f"sqlite:///{workdir / 'chained.db'}",
                                               chained=True)
    ours, base, floor = raw["ingest"], raw["ingest_baseline"], raw["ingest_floor"]
    ratio = ours["msgs_per_s"] / floor["msgs_per_s"]
    results.rows += [
        Row("ingest: classification messages", "msgs/s", ours["msgs_per_s"], floor["msgs_per_s"],
            FLOOR_NAME, f"ratio ≥ {INGEST_TARGET_RATIO}", ratio >= INGEST_TARGET_RATIO),
        Row("ingest: messages per CPU second (load-proof)", "msgs/cpu-s",
            _per_cpu_second(ours), _per_cpu_second(floor), FLOOR_NAME),
        Row("ingest: classification messages", "msgs/s", ours["msgs_per_s"], base["msgs_per_s"],
            "bare fetch(64)+ack"),
        Row("ingest: result rows", "rows/s", ours["rows_per_s"], base["rows_per_s"],
            "bare fetch(64)+ack"),
    ]
    say("ingest: decomposition (in-process service, validation only, commit per message)")
    raw["ingest_in_process"] = in_process_ingest(workload, f"sqlite:///{workdir / 'inproc.db'}")
    raw["validation_only"] = validation_only(workload)
    raw["commit_per_message"] = commit_per_message(workdir / "commits.db", workload)
    results.rows += [
        Row("  ref: process_batch alone, per CPU second", "msgs/cpu-s",
            _per_cpu_second(raw["ingest_in_process"]), _per_cpu_second(floor), FLOOR_NAME),
        Row("  ref: chained floor, per CPU second", "msgs/cpu-s",
            _per_cpu_second(raw["ingest_floor_chained"]), _per_cpu_second(floor), FLOOR_NAME),
    ]
    results.rows += [
        Row(f"  ref: {name}", "msgs/s", raw[key]["msgs_per_s"], floor["msgs_per_s"], FLOOR_NAME)
        for name, key in (("floor with Paddock's recorder (chain + index)", "ingest_floor_chained"),
                          ("IngestService.process_batch alone (no NATS)", "ingest_in_process"),
                          ("json.loads + pydantic alone", "validation_only"),
                          ("bare SQLite, 1 transaction/message", "commit_per_message"))
    ]


def _per_cpu_second(figures: dict[str, Any]) -> float:
    """Messages per second of this process's CPU time (all its threads): what the work costs,
    whatever else the machine runs meanwhile."""
    return float(figures["messages"]) / float(figures["cpu_seconds"])


async def projection_part(workdir: Path, sizes: Sizes, results: Results) -> None:
    raw = results.raw
    ingest_db = workdir / "ingest.db"
    if not ingest_db.exists():
        raise RuntimeError("the projection part reads the ingest part's log: run both")
    say("projection: catch-up from position 0")
    raw["projection"] = await projection_catch_up(f"sqlite:///{ingest_db}")
    reader = open_ledger(f"sqlite:///{ingest_db}")
    raw["raw_read"] = raw_notification_read(reader)
    raw["decoded_read"] = decoded_read(reader)
    reader.close()
    blob = mean_event_bytes(ingest_db)
    say(f"projection: bare SQLite insert baseline ({sizes.insert_rows:,} rows of {blob} bytes)")
    raw["sqlite_insert"] = bare_sqlite_insert(workdir / "bare.db", sizes.insert_rows, blob)
    proj = raw["projection"]["events_per_s"]
    results.rows += [
        Row("projection catch-up", "events/s", proj, raw["raw_read"]["events_per_s"],
            "raw notification read"),
        Row("projection catch-up", "events/s", proj, raw["sqlite_insert"]["rows_per_s"],
            "bare SQLite insert (rows/s)"),
        Row("  ref: Ledger.read_events (decoded)", "events/s",
            raw["decoded_read"]["events_per_s"], raw["raw_read"]["events_per_s"],
            "raw notification read"),
    ]


async def publish_part(nc: Client, server: NatsServer, workdir: Path, sizes: Sizes,
                       results: Results) -> None:
    raw = results.raw
    say(f"publish latency: {sizes.publishes} appends → subscriber")
    demo_url = f"sqlite:///{workdir / 'demo.db'}"
    raw["publish"] = await publish_latency(nc, demo_url, sizes.publishes)
    raw["publish_baseline"] = await bare_publish_latency(
        server.url, sizes.publishes, standings_message_bytes(demo_url))
    pub, pub_base = raw["publish"]["append_to_subscriber"], raw["publish_baseline"]
    results.rows += [
        Row("publish latency p50 (append → subscriber)", "ms", pub["p50_ms"], pub_base["p50_ms"],
            "bare NATS pub → sub"),
        Row("publish latency p99 (append → subscriber)", "ms", pub["p99_ms"], pub_base["p99_ms"],
            "bare NATS pub → sub"),
    ]


async def as_of_part(workdir: Path, sizes: Sizes, results: Results) -> None:
    raw = results.raw
    big_db = workdir / "big.db"
    raw["as_of"] = await asyncio.to_thread(as_of_queries, f"sqlite:///{big_db}", big_db,
                                           sizes.log_events, sizes.queries)
    q, point = raw["as_of"]["standings"], raw["as_of"]["point_query"]
    events = raw["as_of"]["events"]
    results.rows += [
        Row(f"as-of standings p50 ({events:,} events)", "ms", q["p50_ms"], point["p50_ms"],
            "SQLite point query"),
        Row(f"as-of standings p99 ({events:,} events)", "ms", q["p99_ms"], point["p99_ms"],
            "SQLite point query", f"< {QUERY_TARGET_P99_MS:g} ms",
            q["p99_ms"] < QUERY_TARGET_P99_MS),
        Row("first answer of a fresh Ledger (reads its partition)", "s",
            raw["as_of"]["fold_seconds"]),
        Row("bulk append of that log (Ledger.save, ~1000 events/tx)", "events/s",
            raw["as_of"]["build_events_per_s"]),
    ]


# -- output -------------------------------------------------------------------------------------


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("ms", "s"):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,.0f}"


def table(results: Results) -> str:
    header = ["metric", "unit", "ours", "baseline", "ratio", "target"]
    lines = []
    for r in results.rows:
        target = "—" if not r.target else f"{r.target}: {'met' if r.met else 'MISSED'}"
        baseline = "—" if r.baseline is None else f"{_number(r.baseline, r.unit)} ({r.baseline_name})"
        ratio = "—" if r.ratio is None else (f"{r.ratio:.3f}" if r.ratio < 10 else f"{r.ratio:,.0f}")
        lines.append([r.metric, r.unit, _number(r.ours, r.unit), baseline, ratio, target])
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    m = results.machine
    out += ["", (f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, "
                 f"SQLite {m['sqlite']}, eventsourcing {m['eventsourcing']}, "
                 f"pydantic {m['pydantic']}, nats-py {m['nats-py']}, {m['nats-server']}"),
            f"date: {m['date']}; mode: {results.mode}; sizes: "
            + ", ".join(f"{k}={v:,}" for k, v in results.sizes.items())]
    raw = results.raw
    shares = [("ingest", raw.get("ingest", {})), ("projection", raw.get("projection", {})),
              ("fold", raw.get("as_of", {}).get("fold_gc", {})),
              ("queries", raw.get("as_of", {}).get("queries_gc", {}))]
    out.append("time in the cyclic garbage collector: " + ", ".join(
        f"{name} {figures['gc_share']:.0%}" for name, figures in shares if "gc_share" in figures))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~30 seconds)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--rounds-per-championship", type=int, default=100,
                        help="rounds per synthetic season in the ingest phase (1..100, the "
                             "contract's limit; default 100)")
    parser.add_argument("--log-events", type=int, help="override the as-of log size")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable; projection needs ingest)")
    parser.add_argument("--default-collector", action="store_true",
                        help="keep CPython's collector settings instead of setting them as "
                             "`paddock serve` does (infra/collector.py), for comparison")
    args = parser.parse_args(argv)
    sizes = Sizes.of(args.quick, args.rounds_per_championship)
    mode = "quick" if args.quick else "full"
    if args.log_events:
        sizes = replace(sizes, log_events=args.log_events)
    if sizes != Sizes.of(args.quick, 100):
        mode += " (sizes overridden)"
    parts = tuple(args.only or PARTS)
    if parts != PARTS:
        mode += f" (only {', '.join(parts)})"
    if args.default_collector:
        mode += " (default collector)"
    configure_logging(json_logs=True, level="WARNING")  # the service's default level
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paddock-bench-") as tmp, NatsServer() as server:
        say(f"nats-server at {server.url}; stores in {tmp}")
        results = asyncio.run(run(sizes, Path(tmp), server, mode, parts,
                                  default_collector=args.default_collector))
    results.raw["total_seconds"] = time.perf_counter() - started
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(asdict(results), indent=2, default=str) + "\n",
                             encoding="utf-8")
        say(f"raw figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
