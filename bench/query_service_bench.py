"""The NATS query service on logs of growing size: `paddock serve --roles queries` as a process,
its first answer once it is ready, then standings of N different championships (cold: each read
from the store), then warm answers (a working set of 50 of them, cached, asked ten times each),
and its memory after answering them all; beside a bare nats-py echo responder answering a body
of the same size, in the same run.

    .venv/bin/python -m bench.query_service_bench                # logs of 10k and 100k events
    .venv/bin/python -m bench.query_service_bench --full         # and 1M (built once: long)
    .venv/bin/python -m bench.query_service_bench --quick        # 10k, 100 championships

Logs come from `bench.build_log` (shared with bench.query_bench through --dir). Targets (issue
10): first answer ≤ 100 ms after ready on the 1M-event log; warm p99 ≤ 20 ms; RSS ≤ 300 MB
after answering for 1,000 different championships. Results: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench.query_bench import built_log, log_sizes, sized_parser
from tests.e2e.serve_process import ServeProcess
from tests.nats_server import NatsServer

PREFIX = "qbench"
TARGET_FIRST_MS, TARGET_P99_MS, TARGET_RSS_MB = 100.0, 20.0, 300.0
WORKING_SET, WARM_ROUNDS = 50, 10
"""Warm: the 50 championships asked last (their folds are cached), ten times each."""


@dataclass(frozen=True)
class Row:
    events: int
    championships: int
    first_ms: float
    cold_p50_ms: float
    warm_p50_ms: float
    warm_p99_ms: float
    rss_mb: float
    echo_p50_ms: float
    echo_p99_ms: float


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def championships(path: Path, wanted: int) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT DISTINCT partition FROM stored_events_partitions WHERE "
                          "partition >= 'championship:' AND partition < 'championship;' "
                          "LIMIT ?", (wanted,)).fetchall()
    return [str(r[0]).removeprefix("championship:") for r in rows]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def timed(nc: Client, subject: str, body: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    reply = await nc.request(subject, body, timeout=60)
    return (time.perf_counter() - started) * 1000, reply.data


async def echo_figures(url: str, size: int, requests: int) -> tuple[float, float]:
    """The same request/reply round trip to a responder that does nothing."""
    nc = await nats.connect(url)
    body = b"x" * size

    async def answer(msg: Msg) -> None:
        await msg.respond(body)

    await nc.subscribe("echo.bench", cb=answer)
    timings = [(await timed(nc, "echo.bench", b"{}"))[0] for _ in range(requests)]
    await nc.close()
    return statistics.median(timings), percentile(timings, 0.99)


async def ask_all(url: str, names: list[str], first: dict[str, str]) -> tuple[float, list[float],
                                                                            list[float], int]:
    nc = await nats.connect(url)
    subject = f"{PREFIX}.query.standings"
    first_ms, reply = await timed(nc, subject, json.dumps(first).encode())
    if b'"error"' in reply[:20]:
        raise SystemExit(f"the query service refused the first query: {reply[:500]!r}")
    cold = [(await timed(nc, subject, json.dumps({"championship": c}).encode()))[0] for c in names]
    working_set = names[-WORKING_SET:]  # the last asked: in the service's cache
    warm = [(await timed(nc, subject, json.dumps({"championship": c}).encode()))[0]
            for _ in range(WARM_ROUNDS) for c in working_set]
    await nc.close()
    return first_ms, cold, warm, len(reply)


def measure(directory: Path, events: int, wanted: int, server: NatsServer) -> Row:
    path, point = built_log(directory, events)
    names = championships(path, wanted)
    log = directory / f"serve-{events}.log"
    log.unlink(missing_ok=True)  # a line of an earlier run is no sign of this one
    serve = ServeProcess(log, "--store", f"sqlite:///{path}",
                         "--nats-url", server.url, "--prefix", PREFIX, "--roles", "queries")
    try:
        serve.wait_for(lambda lines: any(x.get("event") == "serve.started" for x in lines),
                       timeout=120, what="serve.started")
        first = {"championship": point["championship"], "as_of": point["as_of"],
                 "known_at": point["known_at"]}
        first_ms, cold, warm, size = asyncio.run(ask_all(server.url, names, first))
        memory = rss_mb(serve.proc.pid)
    finally:
        serve.proc.terminate()
        serve.proc.wait(timeout=30)
    echo_p50, echo_p99 = asyncio.run(echo_figures(server.url, size, len(names)))
    return Row(events, len(names), first_ms, statistics.median(cold), statistics.median(warm),
               percentile(warm, 0.99), memory, echo_p50, echo_p99)


def report(rows: Sequence[Row]) -> None:
    print(f"{'log events':>11} {'champ.':>6} {'first ms':>9} {'cold p50':>9} {'warm p50':>9} "
          f"{'warm p99':>9} {'RSS MB':>7} {'echo p50':>9} {'echo p99':>9} {'p99 ratio':>9}")
    for r in rows:
        print(f"{r.events:>11,} {r.championships:>6} {r.first_ms:>9.1f} {r.cold_p50_ms:>9.1f} "
              f"{r.warm_p50_ms:>9.1f} {r.warm_p99_ms:>9.1f} {r.rss_mb:>7.0f} "
              f"{r.echo_p50_ms:>9.2f} {r.echo_p99_ms:>9.2f} {r.warm_p99_ms / r.echo_p99_ms:>8.1f}×")
    print(f"targets: first answer ≤ {TARGET_FIRST_MS:.0f} ms, warm p99 ≤ {TARGET_P99_MS:.0f} ms, "
          f"RSS ≤ {TARGET_RSS_MB:.0f} MB after 1,000 championships (on the 1M-event log)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = sized_parser("python -m bench.query_service_bench", __doc__,
                          "10k events, 100 championships")
    parser.add_argument("--championships", type=int, help="how many to ask for (default 1000)")
    args = parser.parse_args(argv)
    sizes = log_sizes(args, [10_000])
    wanted = args.championships or (100 if args.quick else 1000)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # serve runs as an installed package does
    with tempfile.TemporaryDirectory(prefix="paddock-qs-bench-") as temp, NatsServer() as server:
        directory = args.dir or Path(temp)
        directory.mkdir(parents=True, exist_ok=True)
        report([measure(directory, n, wanted, server) for n in sizes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
