"""Projection worker start-up at a tracked position as the log grows (issue 10: start-up reads
nothing proportional to the log).

    .venv/bin/python -m bench.resume_bench [--quick] [--sizes 10000,100000,1000000] [--logs DIR]
                                           [--fold-max N]

For each size, the benchmark's synthetic log (bench/workload.py, shared with the other benches
through `--logs DIR/log-<N>.db`, built there when missing). A fresh view store is marked as
tracking every partition group at the log's head (no views: start-up does not read them), as a
store left by a worker that stopped there. Each measurement runs in its own process:
- ours: `Projector.load()`, what a restarted worker (or one taking over groups) does before its
  first step: where time stands and the facts waiting for it from the partition index, the
  target events' definitions (the dependencies), nothing else of the log;
- before (same run): folding the log from position 0 to the head page by page, as the
  projector did until this change (`LiveFold.skip` over `read_indexed` pages), for logs up to
  `--fold-max` events;
- baseline (same run): a bare SQLite point query in a fresh connection, the cost of reading
  nothing proportional to the log.
Flat means ours at the largest log within 1.5× of ours at the smallest.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.catchup_bench import (
    fresh_view_store,
    log_for,
    peak_rss_mb,
    say,
    size_arguments,
    sizes_asked,
)

NAME = "projections"


def resume(url: str) -> dict[str, Any]:
    from infra.bootstrap import open_ledger
    from infra.config import partition_groups
    from infra.views.tracking import group_key
    from infra.workers.projector import Projector

    ledger = open_ledger(url)
    views = fresh_view_store(url, "_resume_bench")
    head, groups = ledger.head(), partition_groups()
    views.write_tracked({group_key(NAME, g, groups): (0, head) for g in range(groups)}, head, {})
    decoded = count_decoded(ledger)
    started = time.perf_counter()
    projector = Projector(ledger, views, NAME)
    projector.load()
    seconds = time.perf_counter() - started
    assert projector.loaded and projector.position == head
    views.drop()
    views.close()
    ledger.close()
    return {"seconds": seconds, "events_decoded": decoded[0], "head": head}


def fold(url: str) -> dict[str, Any]:
    from infra.bootstrap import open_ledger
    from infra.workers.partition_reader import partition_loader
    from projections.partition_folds import LiveFold

    ledger = open_ledger(url)
    head = ledger.head()
    started = time.perf_counter()
    live = LiveFold(partition_loader(ledger))
    while live.position < head:
        rows = ledger.read_indexed(live.position, limit=1000, until=head)
        live.skip([(p, e) for p, e, _ in rows], [tuple(parts) for _, _, parts in rows])
    seconds = time.perf_counter() - started
    ledger.close()
    return {"seconds": seconds, "events_decoded": head, "head": head}


def point_query(url: str) -> dict[str, Any]:
    path = url.removeprefix("sqlite:///")
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("SELECT length(state) FROM stored_events WHERE rowid = ?", (1,)).fetchone()
    db.close()
    return {"seconds": time.perf_counter() - started}


def count_decoded(ledger: Any) -> list[int]:
    """Counts the events the ledger decodes from here on (every read goes through these)."""
    count = [0]
    for name in ("read_events", "read_partitions"):
        original = getattr(ledger, name)

        def counted(*args: Any, _read: Any = original, **kwargs: Any) -> Any:
            found = _read(*args, **kwargs)
            count[0] += len(found)
            return found
        setattr(ledger, name, counted)
    return count


KINDS = {"resume": resume, "fold": fold, "point": point_query}


def measure(kind: str, url: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.resume_bench", "--one", kind, "--store",
                           url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} on {url} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(sizes: Sequence[int], logs: Path | None, fold_max: int) -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="paddock-resume-") as tmp:
        for size in sizes:
            url = log_for(size, logs, Path(tmp))
            say(f"start-up at the head of {size:,} events")
            ours = measure("resume", url)
            before = measure("fold", url) if size <= fold_max else None
            rows.append((ours, before, measure("point", url)))
    print("| log events | start-up s | events decoded | peak RSS MB | before: fold from 0, s "
          "| bare point query ms | before / ours |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for ours, before, bare in rows:
        was = f"{before['seconds']:.2f}" if before else "—"
        ratio = f"{before['seconds'] / ours['seconds']:,.0f}×" if before else "—"
        print(f"| {ours['head']:,} | {ours['seconds']:.3f} | {ours['events_decoded']:,} "
              f"| {ours['peak_rss_mb']:,.0f} | {was} | {bare['seconds'] * 1000:.2f} | {ratio} |")
    growth = rows[-1][0]["seconds"] / rows[0][0]["seconds"]
    verdict = "met" if growth <= 1.5 else "MISSED"
    print(f"largest / smallest log: start-up {growth:.2f} (target ≤ 1.5: {verdict})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.resume_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size_arguments(parser)
    parser.add_argument("--fold-max", type=int, default=1_000_000,
                        help="measure the fold from 0 only up to this size")
    parser.add_argument("--one", choices=sorted(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        from infra.logging import configure_logging

        configure_logging(json_logs=True, level="warning")
        result = KINDS[args.one](args.store)
        print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
        return 0
    return run(sizes_asked(args), args.logs, args.fold_max)


if __name__ == "__main__":
    raise SystemExit(main())
