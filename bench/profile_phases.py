"""Where the time of a benchmark phase goes: the phase's blocking work run under cProfile.

    .venv/bin/python -m bench.profile_phases ingest [--messages 1000] [--rounds 100]
    .venv/bin/python -m bench.profile_phases projection [--messages 1000]
    .venv/bin/python -m bench.profile_phases query [--log-events 1000000] [--queries 200]
    .venv/bin/python -m bench.profile_phases publish [--repeats 30]

The ingest worker and the projection worker do their work in threads (`asyncio.to_thread`), where
a profiler started in the event loop's thread sees nothing; so this runs that work directly:
`IngestService.process` on the benchmark's deliveries, `Projector.catch_up`, `Ledger.standings`.
`publish` times each step between an append and the subscriber instead (it spans threads, the
event loop and the server). Prints the top functions by own time, then the share of the phase
spent in each named step (steps may contain each other: the indentation says so).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import nats
from nats.aio.msg import Msg

from bench.service_bench import GcTimer, latency_figures
from bench.workload import build_big_log, ingest_workload
from domain.decisions import DecisionKind, DecisionTerms
from infra.bootstrap import open_ledger
from infra.logging import configure_logging
from infra.nats_subjects import standings_subject
from infra.views.factory import open_view_store
from infra.workers.projector import Projector
from infra.workers.publisher import Publisher
from services import contracts as c
from services import demo
from services.ingest import Delivery, IngestService
from tests.nats_server import NatsServer

T = TypeVar("T")
Step = tuple[str, str, str]  # label, file suffix, function name

INGEST_STEPS: list[Step] = [
    ("IngestService.process_batch (all)", "services/ingest.py", "process_batch"),
    ("  _validate: json.loads + pydantic", "services/ingest.py", "_validate"),
    ("    json.loads", "json/__init__.py", "loads"),
    ("    pydantic validate_python", "", "<method 'validate_python' of 'pydantic_core._pydantic_core.SchemaValidator' objects>"),
    ("  _footprint (what a message reads/writes)", "services/ingest.py", "_footprint"),
    ("  _commit_run", "services/ingest.py", "_commit_run"),
    ("    _stage (per message, before the save)", "services/ingest.py", "_stage"),
    ("    _received: receipts of the run (one partition read)", "services/ingest.py", "_received"),
    ("      _receipt: read a receipt found", "services/ingest.py", "_receipt"),
    ("      row_records: contract rows → stored records", "services/ingest.py", "row_records"),
    ("        EncodedRows: canonical JSON, once", "services/row_json.py", "__init__"),
    ("      check_rows", "domain/classification.py", "check_rows"),
    ("      Ledger.publish_classification", "services/ledger.py", "publish_classification"),
    ("        Ledger.definition", "services/ledger.py", "definition"),
    ("        Ledger._round (the round aggregate, from the fold)", "services/ledger.py", "_round"),
    ("        rows_digest", "services/ledger.py", "rows_digest"),
    ("        _publication_time", "services/ledger.py", "_publication_time"),
    ("    Application.save (one per run of messages)", "eventsourcing/application.py", "save"),
    ("      Mapper.to_stored_event (transcoding)", "eventsourcing/persistence.py", "to_stored_event"),
    ("      SQLite execute (insert, select)", "", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("      SQLite commit (fsync)", "", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("  partition folds brought up to date (reads)", "services/partition_folds.py", "_catch_up"),
    ("  repository reads (Repository.get)", "eventsourcing/application.py", "get"),
    ("    Mapper.to_domain_event (decoding)", "eventsourcing/persistence.py", "to_domain_event"),
]

PROJECTION_STEPS: list[Step] = [
    ("Projector.catch_up (all)", "infra/workers/projector.py", "catch_up"),
    ("  Ledger.read_events (select + decode)", "services/ledger.py", "read_events"),
    ("    Mapper.to_domain_event (decoding)", "eventsourcing/persistence.py", "to_domain_event"),
    ("  LiveFold.advance (per partition)", "projections/partition_folds.py", "advance"),
    ("    LiveFold._route (routing)", "projections/partition_folds.py", "_route"),
    ("    LedgerFold.apply", "projections/ledger.py", "apply"),
    ("    partition folded again (evicted)", "projections/partition_folds.py", "load"),
    ("    live_views", "projections/live_views.py", "live_views"),
    ("      season_at (rounds as they stood)", "projections/standings_view.py", "season_at"),
    ("        round_state (rounds not remembered)", "projections/round_state.py", "round_state"),
    ("      standings_view (given the season)", "projections/standings_view.py", "standings_view"),
    ("        class_standings", "domain/standings.py", "class_standings"),
    ("        driver_standings", "domain/standings.py", "driver_standings"),
    ("        position_known_at (scan of the head)", "projections/ledger.py", "position_known_at"),
    ("      invitations_view", "projections/invitations_view.py", "invitations_view"),
    ("      canonical_json", "projections/canonical.py", "canonical_json"),
    ("  view store write (one transaction)", "infra/views/sqlite.py", "write"),
]

STEP_STEPS: list[Step] = [
    ("Projector.step (all)", "infra/workers/projector.py", "step"),
    *PROJECTION_STEPS[1:],
]

QUERY_STEPS: list[Step] = [
    ("Ledger.standings (all)", "services/ledger.py", "standings"),
    ("  Ledger.state (incremental: nothing new)", "services/ledger.py", "state"),
    ("  standings_view", "projections/standings_view.py", "standings_view"),
    ("    position_known_at (scan of the head)", "projections/ledger.py", "position_known_at"),
    ("    season_at", "projections/standings_view.py", "season_at"),
    ("      round_state", "projections/round_state.py", "round_state"),
    ("        _adjustments (decisions per car)", "projections/round_state.py", "_adjustments"),
    ("        _decisions_in_force", "projections/round_state.py", "_decisions_in_force"),
    ("    class_standings", "domain/standings.py", "class_standings"),
    ("    driver_standings", "domain/standings.py", "driver_standings"),
]


def profiled(fn: Callable[[], T]) -> tuple[T, pstats.Stats, float]:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    try:
        result = fn()
    finally:
        profiler.disable()
    wall = time.perf_counter() - started
    return result, pstats.Stats(profiler, stream=io.StringIO()), wall


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    """Cumulative seconds and calls of the functions named `name` in files ending in `suffix`
    (outermost calls only: a recursive function is not counted twice)."""
    total, calls = 0.0, 0
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    for (file, _, func), (_, primitive, _, ct, _) in table.items():
        if func == name and file.replace("\\", "/").endswith(suffix):
            total += ct
            calls += primitive
    return total, calls


def report(title: str, stats: pstats.Stats, wall: float, steps: list[Step], top: int = 25) -> None:
    out = sys.stdout
    out.write(f"\n== {title}: {wall:.2f} s under the profiler ==\n")
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    out.write("\n".join(line for line in buffer.getvalue().splitlines()[-(top + 3):]) + "\n")
    base, _ = cumulative(stats, steps[0][1], steps[0][2])
    out.write(f"\n{'step':58} {'seconds':>8} {'share':>6} {'calls':>9}\n")
    for label, suffix, name in steps:
        seconds, calls = cumulative(stats, suffix, name)
        share = seconds / base if base else 0.0
        out.write(f"{label:58} {seconds:8.3f} {share:6.1%} {calls:9,}\n")


# -- phases ---------------------------------------------------------------------------------------


def ingest(workdir: Path, messages: int, rounds: int) -> None:
    workload = ingest_workload(messages, rounds_per_championship=rounds)
    ledger = open_ledger(f"sqlite:///{workdir / 'ingest.db'}")
    service = IngestService(ledger)
    for m in workload.seasons:
        assert service.process(Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id})).status == "accepted"
    deliveries = [Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                  for m in workload.classifications]
    half = len(deliveries) // 2
    batches = [deliveries[i:i + 64] for i in range(0, len(deliveries), 64)]
    started = time.perf_counter()
    plain = [r for b in batches[:half // 64] for r in service.process_batch(b)]
    rate_plain = len(plain) / (time.perf_counter() - started)
    results, stats, wall = profiled(
        lambda: [r for b in batches[half // 64:] for r in service.process_batch(b)])
    assert all(r.status == "accepted" for r in plain + results), results[:3]
    print(f"ingest: {len(results)} classification messages ({workload.rows / messages:.1f} rows "
          f"each, {rounds} rounds per championship) in batches of 64; {rate_plain:.0f} msgs/s "
          f"unprofiled (the first {len(plain)}), {len(results) / wall:.0f} msgs/s profiled")
    report("IngestService.process_batch", stats, wall, INGEST_STEPS)
    ledger.close()

    # What if the long-lived objects (the fold, caches) were kept out of the cyclic collector's
    # full collections? gc.freeze() after every batch, on a fresh store, against the same run
    # without it; both unprofiled, with the collector's time measured.
    def run(name: str, freeze: bool) -> None:
        fresh = IngestService(open_ledger(f"sqlite:///{workdir / name}"))
        for m in workload.seasons:
            fresh.process(Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id}))
        with GcTimer() as timer:
            started = time.perf_counter()
            for b in batches:
                fresh.process_batch(b)
                if freeze:
                    gc.freeze()
            seconds = time.perf_counter() - started
        gc.unfreeze()
        fresh.ledger.close()
        print(f"  {'gc.freeze() after each batch' if freeze else 'default collector':30} "
              f"{len(deliveries) / seconds:6.0f} msgs/s, "
              f"{timer.seconds / seconds:4.0%} of the time in the cyclic collector")

    print(f"\nwhat-if (not the shipped code), {len(deliveries)} messages in-process:")
    run("gc-default.db", False)
    run("gc-frozen.db", True)

    bodies = [d.payload for d in deliveries]
    print("\nvalidation alone, msgs/s (the service does the first):")
    for label, check in (
        ("json.loads + MESSAGE.validate_python", lambda b: c.MESSAGE.validate_python(json.loads(b))),
        ("MESSAGE.validate_json (bytes)", c.MESSAGE.validate_json),
        ("json.loads only", json.loads),
    ):
        started = time.perf_counter()
        for body in bodies:
            check(body)
        print(f"  {label:40} {len(bodies) / (time.perf_counter() - started):8,.0f}")


def projection(workdir: Path, messages: int, rounds: int) -> None:
    url = f"sqlite:///{workdir / 'ingest.db'}"
    workload = ingest_workload(messages, rounds_per_championship=rounds)
    ledger = open_ledger(url)
    service = IngestService(ledger)
    for m in [*workload.seasons, *workload.classifications]:
        service.process(Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id}))
    views = open_view_store(url)
    projector = Projector(open_ledger(url), views, batch=500)
    progress, stats, wall = profiled(projector.catch_up)
    print(f"projection: {progress.events} events, {progress.views_written} views written, "
          f"{progress.events / wall:.0f} events/s profiled")
    report("Projector.catch_up", stats, wall, PROJECTION_STEPS)

    views.close()


def query(workdir: Path, log_events: int, queries: int) -> None:
    from bench.workload import query_point

    url = f"sqlite:///{workdir / 'big.db'}"
    writer = open_ledger(url)
    log = build_big_log(writer, log_events)
    writer.close()
    ledger = open_ledger(url)
    started = time.perf_counter()
    ledger.state()
    print(f"query: {log.events:,} events folded in {time.perf_counter() - started:.1f}s")
    rng = random.Random(7)
    points = [query_point(log, rng) for _ in range(queries)]

    def timed() -> dict[str, float]:
        seconds = []
        for championship, a, k in points:
            t0 = time.perf_counter()
            ledger.standings(championship, as_of=a, known_at=k)
            seconds.append(time.perf_counter() - t0)
        return latency_figures(seconds)

    plain = timed()
    _, stats, wall = profiled(lambda: [ledger.standings(ch, as_of=a, known_at=k)
                                       for ch, a, k in points])
    print(f"query: {queries} standings queries, unprofiled p50 {plain['p50_ms']:.1f} ms, "
          f"p99 {plain['p99_ms']:.1f} ms; {wall / queries * 1000:.1f} ms each profiled")
    report("Ledger.standings", stats, wall, QUERY_STEPS)

    # And if the fold, built once, were moved out of the cyclic collector's sight (gc.freeze)?
    gc.freeze()
    frozen = timed()
    gc.unfreeze()
    print(f"what-if: gc.freeze() after the fold: p50 {frozen['p50_ms']:.1f} ms, "
          f"p99 {frozen['p99_ms']:.1f} ms")


async def publish(workdir: Path, repeats: int) -> None:
    """Each step between an append and the subscriber, run one after the other by hand."""
    url = f"sqlite:///{workdir / 'demo.db'}"
    appender = open_ledger(url)
    demo.load_demo(appender)
    views = open_view_store(url)
    projector = Projector(open_ledger(url), views)
    projector.catch_up()
    with NatsServer() as server:
        nc = await nats.connect(server.url)
        publisher = Publisher(nc, views)
        await publisher.publish_pending()
        arrived: dict[int, float] = {}

        async def on_message(msg: Msg) -> None:
            arrived.setdefault(int((msg.headers or {})["Paddock-Log-Position"]), time.perf_counter())

        await nc.subscribe(standings_subject(demo.ASLMS, "LMP2").rsplit(".", 1)[0] + ".>",
                           cb=on_message)
        await nc.flush()
        steps: dict[str, list[float]] = {
            "append (Ledger.impose_penalty, commit)": [],
            "projector.step (read, fold, views, write)": [],
            "publish_pending start → subscriber callback": [],
            "publish_pending (all views: KV get, publish, KV put)": [],
            "profiled projector.step": [],
        }
        profiler = cProfile.Profile()
        for i in range(2 * repeats):  # timed without the profiler, then profiled
            profiling = i >= repeats
            terms = DecisionTerms(DecisionKind.POINTS_DEDUCTION, "4", points=Decimal(1))
            t0 = time.perf_counter()
            outcome = appender.impose_penalty(
                demo.ASLMS, 5, terms, reference=f"profile-{i}", reason="bench",
                effective_at=demo.R5_DECIDED + timedelta(minutes=i + 1), signed_by=demo.DEMO_STEWARD, actor="bench",
                source="bench")
            t1 = time.perf_counter()
            if profiling:
                profiler.enable()
            batch = projector.step()
            if profiling:
                profiler.disable()
            t2 = time.perf_counter()
            await publisher.publish_pending()
            t3 = time.perf_counter()
            position = outcome.positions[-1]
            while position not in arrived:
                await asyncio.sleep(0.0005)
            assert batch is not None
            if profiling:
                steps["profiled projector.step"].append(t2 - t1)
                continue
            for name, value in zip(list(steps)[:4],
                                   (t1 - t0, t2 - t1, arrived[position] - t2, t3 - t2),
                                   strict=True):
                steps[name].append(value)
        await nc.close()
    print(f"publish: {repeats} appends, each step in ms (p50 / p99):")
    for name, values in steps.items():
        f = latency_figures(values)
        print(f"  {name:55} {f['p50_ms']:8.2f} / {f['p99_ms']:8.2f}")
    stats = pstats.Stats(profiler, stream=io.StringIO())
    report("Projector.step after each append", stats, sum(steps["profiled projector.step"]),
           STEP_STEPS, top=15)
    views.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_phases", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["ingest", "projection", "query", "publish"])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--log-events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    configure_logging(json_logs=True, level="WARNING")
    with tempfile.TemporaryDirectory(prefix="paddock-profile-") as tmp:
        workdir = Path(tmp)
        if args.phase == "ingest":
            ingest(workdir, args.messages, args.rounds)
        elif args.phase == "projection":
            projection(workdir, args.messages, args.rounds)
        elif args.phase == "query":
            query(workdir, args.log_events, args.queries)
        else:
            asyncio.run(publish(workdir, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
