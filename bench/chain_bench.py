"""What the hash chain costs an append: N events through the chained application recorder and
through eventsourcing's own (the baseline), same backend, same run, fresh store each time.

    .venv/bin/python -m bench.chain_bench                  # SQLite (+ PostgreSQL if reachable)
    .venv/bin/python -m bench.chain_bench --events 2000 --batches 1,20

Each figure is the median of `--repeat` runs, chained and plain runs interleaved. Also printed:
how fast `audit verify` walks the chained log. PostgreSQL: PADDOCK_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), a fresh schema per run, dropped after.

On PostgreSQL, also: the same events appended by one writer, then by two writer processes (each
its own connection) of two different partitions, then of one partition (the baseline: they take
turns on its lock, as every writer did on the table lock before the chain was split). On a
2-core machine running PostgreSQL too, CPU bounds that gain; `--held MS` adds MS milliseconds
inside each append's transaction, after its locks are taken (`pg_sleep`: what a round trip to a
database across a network costs a transaction), which shows what the locks serialise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from domain.partitions import IndexEntry
from infra.chain import RECORDER_TOPIC, chain_of
from infra.chain.index import INDEX_KEYWORD
from infra.chain.postgres import ChainedPostgresApplicationRecorder
from infra.store import store_settings
from services.ledger import Ledger

POSTGRES_URL = os.environ.get("PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
STATE = (b'{"rows":[' + b",".join(b'{"car":"%d","laps":120,"time":"4:01:02.345"}' % i
                                 for i in range(24)) + b"]}")  # ~1 KB, like a small classification


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="chain-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'log.db'}"


@contextmanager
def postgres_store() -> Iterator[str]:
    import psycopg

    schema = f"chain_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def append_seconds(store_url: str, *, chained: bool, events: int, batch: int) -> tuple[float, float]:
    """Seconds to append `events` in transactions of `batch`; and to verify them (chained only)."""
    settings = store_settings(store_url)
    if not chained:
        settings.pop(RECORDER_TOPIC)
    factory = InfrastructureFactory.construct(Environment(Ledger.name, settings))
    try:
        recorder: ApplicationRecorder = factory.application_recorder()
        batches = [[StoredEvent(uuid.uuid4(), 1, "bench:Appended", STATE) for _ in range(batch)]
                   for _ in range(events // batch)]
        started = time.perf_counter()
        for stored in batches:
            recorder.insert_events(stored, **indexed(len(stored), "bench:a"))
        appended = time.perf_counter() - started
        chain = chain_of(recorder)
        if chain is None:
            return appended, 0.0
        started = time.perf_counter()
        verdict = chain.walk_chain()
        assert verdict.ok and verdict.events == len(batches) * batch
        return appended, time.perf_counter() - started
    finally:
        factory.close()


def indexed(count: int, partition: str) -> dict[str, list[IndexEntry]]:
    """The partition index entries the chained recorders require (the Ledger makes them)."""
    return {INDEX_KEYWORD: [IndexEntry((partition,), None, None)] * count}


class HeldRecorder(ChainedPostgresApplicationRecorder):
    """The chained recorder whose appends stay in their transaction BENCH_HELD_MS longer, their
    partitions locked."""

    def _append(self, curs: Any, contents: list[tuple[int, str, bytes]]) -> None:
        super()._append(curs, contents)
        curs.execute("SELECT pg_sleep(%s)", (float(os.environ["BENCH_HELD_MS"]) / 1000,))


def _writer(store_url: str, partition: str, batches: int, batch: int, held: float,
            ready: Any, go: Any, ends: Any) -> None:
    """One writer process: its own connection, appending `batches` transactions to a partition
    once every writer is ready; reports when it finished (CLOCK_MONOTONIC: one clock for all)."""
    settings = store_settings(store_url)
    if held:
        os.environ["BENCH_HELD_MS"] = str(held)
        settings[RECORDER_TOPIC] = f"{__name__}:HeldRecorder"
    factory = InfrastructureFactory.construct(Environment(Ledger.name, settings))
    try:
        recorder = factory.application_recorder()
        stored = [[StoredEvent(uuid.uuid4(), 1, "bench:Appended", STATE) for _ in range(batch)]
                  for _ in range(batches)]
        ready.release()
        go.wait()
        for events in stored:
            recorder.insert_events(events, **indexed(batch, partition))
        ends.put(time.monotonic())
    finally:
        factory.close()


def writers_seconds(store_url: str, partitions: tuple[str, ...], events: int, batch: int,
                    held: float) -> float:
    """Seconds for len(partitions) processes (threads would share one interpreter lock), each
    appending events/len(partitions) events to its partition in transactions of `batch`, all
    started together."""
    context = multiprocessing.get_context("spawn")
    ready, go, ends = context.Semaphore(0), context.Event(), context.Queue()
    Ledger(env=store_settings(store_url)).close()  # the tables, created before the race
    processes = [context.Process(target=_writer, args=(
        store_url, p, events // len(partitions) // batch, batch, held, ready, go, ends))
        for p in partitions]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    started = time.monotonic()
    go.set()
    finished: float = max(ends.get() for _ in processes)
    for process in processes:
        process.join()
    return finished - started


def measure_writers(events: int, batch: int, repeat: int, held: float
                    ) -> tuple[float, float, float]:
    """Median seconds on PostgreSQL: one writer; two of different partitions; two of one."""
    runs: dict[tuple[str, ...], list[float]] = {("a",): [], ("a", "b"): [], ("a", "a"): []}
    for _ in range(repeat):
        for partitions, seconds in runs.items():
            with postgres_store() as url:
                seconds.append(writers_seconds(url, partitions, events, batch, held))
    one, two, same = (statistics.median(s) for s in runs.values())
    return one, two, same


def measure(store: Callable[[], AbstractContextManager[str]], events: int, batch: int, repeat: int
            ) -> tuple[float, float, float]:
    """Median seconds: plain append, chained append, chained verify."""
    plain, chained, verify = [], [], []
    for _ in range(repeat):
        with store() as url:
            plain.append(append_seconds(url, chained=False, events=events, batch=batch)[0])
        with store() as url:
            seconds, walked = append_seconds(url, chained=True, events=events, batch=batch)
            chained.append(seconds)
            verify.append(walked)
    return statistics.median(plain), statistics.median(chained), statistics.median(verify)


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batches", default="1,10", help="events per transaction, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--held", type=float, default=0.0, metavar="MS",
                        help="milliseconds each PostgreSQL append stays in its transaction, "
                             "locks held (the writers' comparison only)")
    args = parser.parse_args()
    backends = [("sqlite", sqlite_store)]
    if postgres_reachable():
        backends.append(("postgres", postgres_store))
    print(f"{args.events} events of {len(STATE)} B, median of {args.repeat} runs")
    print(f"{'backend':9} {'batch':>5} {'baseline ev/s':>14} {'chained ev/s':>13} {'ratio':>6} "
          f"{'verify ev/s':>12}")
    for name, store in backends:
        for batch in (int(b) for b in args.batches.split(",")):
            events = args.events - args.events % batch
            plain, chained, verify = measure(store, events, batch, args.repeat)
            print(f"{name:9} {batch:>5} {events / plain:>14,.0f} {events / chained:>13,.0f} "
                  f"{chained / plain:>5.2f}x {events / verify:>12,.0f}")
    if len(backends) > 1:
        held = f", each append held {args.held:g} ms" if args.held else ""
        print(f"\nPostgreSQL, writers appending the same total at once{held} "
              "(ev/s; ratio to one writer)")
        print(f"{'batch':>5} {'one writer':>11} {'two, 2 partitions':>18} {'ratio':>6} "
              f"{'two, 1 partition':>17} {'ratio':>6}")
        for batch in (int(b) for b in args.batches.split(",")):
            events = args.events - args.events % (2 * batch)
            one, two, same = measure_writers(events, batch, args.repeat, args.held)
            print(f"{batch:>5} {events / one:>11,.0f} {events / two:>18,.0f} {one / two:>5.2f}x "
                  f"{events / same:>17,.0f} {one / same:>5.2f}x")


if __name__ == "__main__":
    main()
