"""Projection catch-up from position 0 as the log grows (issue 10: flat, and at least half a
minimal follower).

    .venv/bin/python -m bench.catchup_bench [--quick] [--sizes 10000,100000,1000000]
                                            [--logs DIR] [--max-partitions N] [--batch 500]

For each size, the benchmark's synthetic log (bench/workload.py) in a SQLite file: reused from
`--logs DIR/log-<N>.db` (built there with `python -m bench.build_log` when missing, and shared
with bench.query_bench and the other benches' `--dir`), else built into a temporary directory.
Views go to fresh view stores of their own beside the log. Each measurement
runs in its own process (so its peak RSS is its own):
- ours: `Projector.catch_up` (the projection worker's steps), pages of 500 (`--batch`), and,
  while pages come full, the window of events folded before computing views at the
  projector's default as deployed (PADDOCK_PROJECTION_WINDOW, 2,000: infra/config.py), the
  partition cache at its default bound, into a fresh view store next to the log;
- baseline, same run, same log: a minimal follower that decodes the log page by page (the same
  reads, pages of `--batch`) and keeps a trivial view per aggregate (its last event type and
  position), writing the aggregates each page changed, and the position, in one transaction
  per page.
Both run with Python's cyclic collector set as `paddock serve` sets it for its workers
(infra/collector.py): with CPython's default young threshold the full collections rescan the
cached folds again and again, a cost that grows with the log (13 % of the CPU at 100k events)
and is not the service's.
Flat means ours at the largest log within 20 % of ours at the smallest; the target beside the
follower is a ratio of at least 0.5 (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 30_000)
FOLLOWER = "follower"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def projector_catch_up(url: str, batch: int, max_partitions: int | None) -> dict[str, Any]:
    from infra.bootstrap import open_ledger
    from infra.workers.projector import Projector

    ledger = open_ledger(url)
    views = fresh_view_store(url, "_catchup_bench")
    projector = Projector(ledger, views, batch=batch, max_partitions=max_partitions)
    started = time.perf_counter()
    progress = projector.catch_up()
    seconds = time.perf_counter() - started
    loads = projector.partition_loads
    views.drop()
    views.close()
    ledger.close()
    return {"events": progress.events, "seconds": seconds, "views_written": progress.views_written,
            "partition_loads": loads, "events_per_s": progress.events / seconds}


def follower_catch_up(url: str, batch: int) -> dict[str, Any]:
    from infra.bootstrap import open_ledger

    ledger = open_ledger(url)
    views = fresh_view_store(url, "_follower_bench")
    latest: dict[Any, tuple[str, int]] = {}
    started, after, events = time.perf_counter(), 0, 0
    while True:
        page = ledger.read_events(after, limit=batch)
        if not page:
            break
        changed = {}
        for position, event in page:
            latest[event.originator_id] = (type(event).__qualname__, position)
            changed[f"aggregate/{event.originator_id}"] = json.dumps(
                latest[event.originator_id])
        views.write(FOLLOWER, page[-1][0], changed, expected=after)
        after, events = page[-1][0], events + len(page)
    seconds = time.perf_counter() - started
    views.drop()
    views.close()
    ledger.close()
    return {"events": events, "seconds": seconds, "events_per_s": events / seconds}


def fresh_view_store(url: str, suffix: str) -> Any:
    from infra.views.factory import open_view_store

    views = open_view_store(url, suffix=suffix)
    views.drop()
    views.close()
    return open_view_store(url, suffix=suffix)


def measure(kind: str, url: str, batch: int, max_partitions: int | None) -> dict[str, Any]:
    """One measurement in a child process: its figures and its own peak RSS."""
    command = [sys.executable, "-m", "bench.catchup_bench", "--one", kind, "--store", url,
               "--batch", str(batch)]
    if max_partitions:
        command += ["--max-partitions", str(max_partitions)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} on {url} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def log_for(size: int, logs: Path | None, workdir: Path) -> str:
    if logs is not None:  # the logs the other benches share (built once, then reused)
        from bench.query_bench import built_log

        logs.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{built_log(logs, size)[0]}"
    from bench.workload import build_big_log
    from infra.bootstrap import open_ledger

    url = f"sqlite:///{workdir / f'log_{size}.db'}"
    say(f"building a {size:,}-event log")
    ledger = open_ledger(url)
    try:
        build_big_log(ledger, size)
    finally:
        ledger.close()
    return url


def run(sizes: Sequence[int], logs: Path | None, batch: int, max_partitions: int | None) -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="paddock-catchup-") as tmp:
        for size in sizes:
            url = log_for(size, logs, Path(tmp))
            say(f"catch-up over {size:,} events: projector, then follower")
            ours = measure("projector", url, batch, max_partitions)
            bare = measure(FOLLOWER, url, batch, max_partitions)
            rows.append((size, ours, bare))
    print("| log events | projector events/s | views written | partition loads | peak RSS MB "
          "| minimal follower events/s | follower RSS MB | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _, ours, bare in rows:
        print(f"| {ours['events']:,} | {ours['events_per_s']:,.0f} | {ours['views_written']:,} "
              f"| {ours['partition_loads']:,} | {ours['peak_rss_mb']:,.0f} "
              f"| {bare['events_per_s']:,.0f} | {bare['peak_rss_mb']:,.0f} "
              f"| {ours['events_per_s'] / bare['events_per_s']:.2f} |")
    (_, first, first_bare), (_, last, last_bare) = rows[0], rows[-1]
    print(f"largest / smallest log: projector {last['events_per_s'] / first['events_per_s']:.2f}, "
          f"follower {last_bare['events_per_s'] / first_bare['events_per_s']:.2f} "
          f"(batch {batch}, partition cache bound {max_partitions or 'default'})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catchup_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size_arguments(parser)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--max-partitions", type=int)
    parser.add_argument("--one", choices=["projector", FOLLOWER], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from infra.logging import configure_logging

    configure_logging(json_logs=True, level="WARNING")
    if args.one:
        from infra.collector import settle_after_start_up

        settle_after_start_up()  # the collector as `paddock serve` sets it, for both measurements
        figures = (projector_catch_up(args.store, args.batch, args.max_partitions)
                   if args.one == "projector" else follower_catch_up(args.store, args.batch))
        print(json.dumps({**figures, "peak_rss_mb": peak_rss_mb()}))
        return 0
    return run(sizes_asked(args), args.logs, args.batch, args.max_partitions)


def size_arguments(parser: argparse.ArgumentParser) -> None:
    """The log sizes a growth bench runs at, and where the shared logs are kept."""
    parser.add_argument("--quick", action="store_true", help="10,000 and 30,000 events")
    parser.add_argument("--sizes", help="comma-separated log sizes (default 10k,100k,1M)")
    parser.add_argument("--logs", type=Path, help="keep the built logs here (log-<N>.db, reused)")


def sizes_asked(args: argparse.Namespace) -> tuple[int, ...]:
    if args.sizes:
        return tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
    return QUICK_SIZES if args.quick else FULL_SIZES


if __name__ == "__main__":
    sys.exit(main())
