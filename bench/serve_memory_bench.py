"""`paddock serve` with every role on logs of growing size: its resident memory once its views
have caught up with the log (and its peak on the way), beside the same process with only the
query role, idle (what the service costs before it holds anything), in the same run.

    .venv/bin/python -m bench.serve_memory_bench --dir DIR            # 10k and 100k events
    .venv/bin/python -m bench.serve_memory_bench --dir DIR --full     # and 1M (catch-up: minutes)
    .venv/bin/python -m bench.serve_memory_bench --quick              # 10k

Each log (from `bench.build_log`, shared with the other benches through --dir) is copied first,
so the views the service writes never touch the shared file. Target (issue 10): RSS ≤ 300 MB
with all roles at 1M events. Results: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.query_bench import built_log, log_sizes, sized_parser
from tests.e2e.serve_process import ServeProcess
from tests.nats_server import NatsServer

PREFIX = "mbench"
TARGET_RSS_MB = 300.0
CATCH_UP_LIMIT = 3600.0  # seconds


@dataclass(frozen=True)
class Row:
    events: int
    caught_up_s: float
    rss_mb: float
    peak_mb: float
    idle_mb: float


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def projected_to(store: str) -> int:
    from infra.views.factory import open_view_store

    views = open_view_store(store)
    try:
        return views.position("projections")
    finally:
        views.close()


def head_of(store: str) -> int:
    from infra.bootstrap import open_ledger

    ledger = open_ledger(store, create=False)
    try:
        return ledger.head()
    finally:
        ledger.close()


def serve(directory: Path, name: str, store: str, server: NatsServer, roles: str) -> ServeProcess:
    log = directory / f"{name}.log"
    log.unlink(missing_ok=True)
    process = ServeProcess(log, "--store", store, "--nats-url", server.url, "--prefix", PREFIX,
                           "--roles", roles)
    process.wait_for(lambda lines: any(x.get("event") == "serve.started" for x in lines),
                     timeout=300, what="serve.started")
    return process


def measure(directory: Path, work: Path, events: int, server: NatsServer) -> Row:
    path, _ = built_log(directory, events)
    copy = work / f"serve-{events}.db"
    shutil.copyfile(path, copy)
    store = f"sqlite:///{copy}"
    idle = serve(work, f"idle-{events}", store, server, "queries")
    idle_mb = memory(idle.proc.pid)[0]
    idle.proc.terminate()
    idle.proc.wait(timeout=60)
    head = head_of(store)
    started = time.monotonic()
    full = serve(work, f"all-{events}", store, server,
                 "ingest,projections,publisher,queries,checkpoints")
    try:
        while projected_to(store) < head:
            if full.proc.poll() is not None or time.monotonic() - started > CATCH_UP_LIMIT:
                raise SystemExit(f"serve did not catch up with {events:,} events:\n{full.tail()}")
            time.sleep(1.0)
        caught_up = time.monotonic() - started
        rss, peak = memory(full.proc.pid)
    finally:
        full.proc.terminate()
        full.proc.wait(timeout=60)
        copy.unlink(missing_ok=True)
    return Row(events, caught_up, rss, peak, idle_mb)


def report(rows: Sequence[Row]) -> None:
    print(f"{'log events':>11} {'caught up':>10} {'RSS MB':>7} {'peak MB':>8} "
          f"{'idle serve MB':>14} {'ratio':>6}")
    for r in rows:
        print(f"{r.events:>11,} {r.caught_up_s:>8.0f} s {r.rss_mb:>7.0f} {r.peak_mb:>8.0f} "
              f"{r.idle_mb:>14.0f} {r.rss_mb / r.idle_mb:>5.1f}×")
    print(f"target: RSS ≤ {TARGET_RSS_MB:.0f} MB with every role at 1M events")


def main(argv: Sequence[str] | None = None) -> int:
    parser = sized_parser("python -m bench.serve_memory_bench", __doc__, "10k events")
    args = parser.parse_args(argv)
    sizes = log_sizes(args, [10_000])
    with (tempfile.TemporaryDirectory(prefix="paddock-mem-bench-") as temp,
          NatsServer() as server):
        directory = args.dir or Path(temp)
        directory.mkdir(parents=True, exist_ok=True)
        report([measure(directory, Path(temp), n, server) for n in sizes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
