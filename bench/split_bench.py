"""Two projection workers splitting the partition groups vs one, catching up the same log on
PostgreSQL (issue 10: two workers ≥ 1.6× one).

    .venv/bin/python -m bench.split_bench [--quick] [--events 30000] [--groups 16] [--repeat 3]

The benchmark's synthetic log (bench/workload.py) is built into a fresh PostgreSQL schema
(PADDOCK_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test), dropped after.
Each worker is a process of its own (two threads of one interpreter would share its lock), that
opens its ledger and view store, says it is ready, and starts on a word from the bench, so the
wall time is catch-up only:
- baseline, same run, same log: one worker owning every group (`Projector.catch_up`);
- ours: two workers at once, each owning half the groups (g % 2 == k, the share the leases of
  infra/workers/group_claims.py settle on for two live workers), into the same view tables; wall
  time from the word until both are caught up.
Each reads and routes the whole log (T and the dependencies are the whole prefix's) and computes
and writes only its groups' views; the ratio is two workers' events/s over one's, median of
`--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.chain_bench import postgres_reachable, postgres_store

SUFFIX = "_split_bench"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def one_worker(url: str, groups: int, owned: frozenset[int], batch: int) -> dict[str, Any]:
    """In the child: open everything, say ready, wait for the word, catch up, report."""
    from infra.bootstrap import open_ledger
    from infra.views.factory import open_view_store
    from infra.workers.projector import Projector

    ledger, views = open_ledger(url), open_view_store(url, suffix=SUFFIX)
    projector = Projector(ledger, views, batch=batch, groups=groups, owned=owned)
    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu = time.perf_counter(), time.process_time()
    progress = projector.catch_up()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    views.close()
    ledger.close()
    return {"events": progress.events, "views_written": progress.views_written,
            "seconds": seconds, "cpu": cpu}


def run_workers(url: str, groups: int, workers: int, batch: int) -> dict[str, float]:
    """`workers` processes splitting the groups; the wall time from the word to the last done."""
    from infra.views.factory import open_view_store

    fresh = open_view_store(url, suffix=SUFFIX)
    fresh.reset()
    fresh.close()
    children = []
    for k in range(workers):
        owned = ",".join(str(g) for g in range(groups) if g % workers == k)
        children.append(subprocess.Popen(
            [sys.executable, "-m", "bench.split_bench", "--one", owned, "--store", url,
             "--groups", str(groups), "--batch", str(batch)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise RuntimeError(f"a worker failed ({child.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    events = reports[0]["events"]
    return {"events": events, "wall": wall, "events_per_s": events / wall,
            "views_written": sum(r["views_written"] for r in reports),
            "cpu": sum(r["cpu"] for r in reports), "cpus": [r["cpu"] for r in reports]}


def build(url: str, events: int) -> None:
    from bench.workload import build_big_log
    from infra.bootstrap import open_ledger

    say(f"building a {events:,}-event log in PostgreSQL")
    ledger = open_ledger(url)
    try:
        build_big_log(ledger, events)
    finally:
        ledger.close()


def run(events: int, groups: int, repeat: int, batch: int) -> int:
    if not postgres_reachable():
        print("PostgreSQL is not reachable (PADDOCK_TEST_POSTGRES_URL): nothing measured",
              file=sys.stderr)
        return 1
    ones, twos = [], []
    with postgres_store() as url:
        build(url, events)
        for round_ in range(repeat):
            say(f"run {round_ + 1} of {repeat}: one worker, then two")
            ones.append(run_workers(url, groups, 1, batch))
            twos.append(run_workers(url, groups, 2, batch))
    one = statistics.median(r["events_per_s"] for r in ones)
    two = statistics.median(r["events_per_s"] for r in twos)
    print(f"PostgreSQL, {ones[0]['events']:,} events, {groups} partition groups, batch {batch}, "
          f"median of {repeat}")
    print("| workers | wall s | events/s | views written | CPU s (each worker) |")
    print("|---:|---:|---:|---:|---:|")
    for name, rows in (("1", ones), ("2", twos)):
        middle = sorted(rows, key=lambda r: r["events_per_s"])[len(rows) // 2]
        cpus = " + ".join(f"{c:.2f}" for c in middle["cpus"])
        print(f"| {name} | {middle['wall']:.2f} | {middle['events_per_s']:,.0f} "
              f"| {middle['views_written']:,} | {cpus} |")
    cpu_one = statistics.median(r["cpu"] for r in ones)
    busiest = statistics.median(max(r["cpus"]) for r in twos)
    print(f"one worker events/s {one:,.0f}; two workers events/s {two:,.0f}; "
          f"ratio {two / one:.2f} (target ≥ 1.6)")
    print(f"CPU: the busier of two workers needs {busiest / cpu_one:.2f} of one worker's CPU "
          f"time, so with a free core each the ratio would be {cpu_one / busiest:.2f} "
          "(the rest of each worker's time is reading and routing the whole log)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.split_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3,000 events, one run")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--groups", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from infra.logging import configure_logging

    configure_logging(json_logs=True, level="WARNING")
    if args.one is not None:
        owned = frozenset(int(g) for g in args.one.split(",") if g)
        print(json.dumps(one_worker(args.store, args.groups, owned, args.batch)))
        return 0
    if args.quick:
        return run(3_000, args.groups, 1, args.batch)
    return run(args.events, args.groups, args.repeat, args.batch)


if __name__ == "__main__":
    sys.exit(main())
