"""Ingest scaling: two partitioned ingest worker processes against one, on PostgreSQL.

    .venv/bin/python -m bench.ingest_scaling_bench --store postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.ingest_scaling_bench --quick      # smaller (tests/e2e quick form)
    .venv/bin/python -m bench.ingest_scaling_bench --workers 3  # N processes against one

Each run starts its own nats-server and, per measurement, a fresh schema in the given database
(dropped after). The worker processes are `paddock serve --roles ingest`, as deployed: they split
the ingest groups by lease (docs/SERVICE.md, Ingest groups). Once they hold their shares, the
seasons of many synthetic championships are sent and recorded; then the clock starts, the
classification messages (~40 rows each; many championships, so many groups) are published, and
it stops when the log holds all their facts. The figure is messages per second with N
processes; the baseline is the same with one process, in the same run; the target (issue 10)
is a ratio ≥ 1.6 for two. On a 2-core machine the two workers, PostgreSQL, nats-server and this
script share the cores: read the ratio with the load printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import nats
import psycopg
from nats.aio.client import Client

from bench.workload import ingest_workload
from infra.bootstrap import open_ledger
from infra.nats_ingest import IngestTopology
from services.timing_messages import OutgoingMessage
from tests.nats_server import NatsServer

PADDOCK = str(Path(sys.executable).with_name("paddock"))
DEFAULT_STORE = os.environ.get("PADDOCK_TEST_POSTGRES_URL",
                               "postgresql://postgres@127.0.0.1:5432/test")
TARGET = 1.6
EVENTS_PER_CLASSIFICATION = 3  # receipt, round opened, classification published


@dataclass(frozen=True)
class Sizes:
    messages: int
    rounds_per_championship: int

    @staticmethod
    def of(quick: bool) -> Sizes:
        return Sizes(300, 3) if quick else Sizes(2000, 5)


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """The store URL with a schema of its own, dropped afterwards."""
    parts = urlsplit(url)
    schema = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    base = urlunsplit(parts._replace(query=""))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield urlunsplit(parts._replace(query=urlencode({"schema": schema})))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Workers:
    """N `paddock serve --roles ingest` processes on one store and prefix."""

    def __init__(self, count: int, store: str, nats_url: str, prefix: str, logs: Path) -> None:
        self.logs = [logs / f"{prefix}-{i}.log" for i in range(count)]
        env = {**os.environ, "PADDOCK_LOG_FORMAT": "json", "PADDOCK_INGEST_CLAIM_EVERY": "0.5"}
        self.procs = [subprocess.Popen(
            [PADDOCK, "serve", "--roles", "ingest", "--store", store, "--nats-url", nats_url,
             "--prefix", prefix], stdout=subprocess.DEVNULL, stderr=log.open("ab"), env=env)
            for log in self.logs]

    def held(self) -> list[int]:
        """How many groups each process holds (its last `ingest.groups` line)."""
        out = []
        for log in self.logs:
            held: list[int] = []
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                if '"ingest.groups"' in line:
                    held = json.loads(line)["held"]
            out.append(len(held))
        return out

    def cpu_seconds(self) -> float:
        """CPU time the worker processes used so far (user + system, /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for proc in self.procs:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def check(self) -> None:
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited ({proc.returncode}):\n"
                                   + log.read_text(encoding="utf-8")[-2000:])

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def until(check: Callable[[], bool], what: str, workers: Workers,
                timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        workers.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} after {timeout:g} s")
        await asyncio.sleep(0.02)


async def publish(nc: Client, messages: Sequence[OutgoingMessage]) -> None:
    js = nc.jetstream()
    futures = [await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.message_id})
               for m in messages]
    await js.publish_async_completed()
    for future in futures:
        future.result()


async def measure(count: int, sizes: Sizes, store_url: str, server: NatsServer, logs: Path
                  ) -> dict[str, float]:
    """Messages per second with `count` worker processes, on a fresh schema and prefix."""
    prefix = f"b{uuid.uuid4().hex[:8]}"
    workload = ingest_workload(sizes.messages, rounds_per_championship=sizes.rounds_per_championship,
                               prefix=prefix)
    leases = IngestTopology().leases
    with fresh_schema(store_url) as store:
        ledger = open_ledger(store)
        nc = await nats.connect(server.url)
        workers = Workers(count, store, server.url, prefix, logs)
        try:
            share = -(-leases // count)
            await until(lambda: sum(workers.held()) == leases and max(workers.held()) <= share,
                        "split of the groups", workers)
            await publish(nc, workload.seasons)
            await until(lambda: ledger.head() >= 2 * len(workload.seasons), "seasons recorded",
                        workers)
            target = ledger.head() + EVENTS_PER_CLASSIFICATION * len(workload.classifications)
            started, cpu = time.perf_counter(), workers.cpu_seconds()
            await publish(nc, workload.classifications)
            published = time.perf_counter() - started
            await until(lambda: ledger.head() >= target, "classifications recorded", workers)
            elapsed, cpu = time.perf_counter() - started, workers.cpu_seconds() - cpu
            topology, js = IngestTopology(prefix=prefix), nc.jetstream()
            async with asyncio.timeout(60):  # the last acks are on their way
                while await topology.backlog(js) != (0, 0):
                    await asyncio.sleep(0.1)
            if ledger.head() != target:
                raise RuntimeError(f"{ledger.head()} events for target {target}")
        finally:
            workers.stop()
            await nc.close()
            ledger.close()
    return {"workers": count, "messages": len(workload.classifications),
            "championships": len(workload.seasons), "seconds": elapsed,
            "publish_seconds": published, "msgs_per_s": len(workload.classifications) / elapsed,
            "worker_cpu_seconds": cpu, "cores_used": cpu / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_scaling_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~1 minute)")
    parser.add_argument("--store", default=DEFAULT_STORE,
                        help="a PostgreSQL database URL (a schema is created per run)")
    parser.add_argument("--workers", type=int, default=2, help="processes against one (2)")
    args = parser.parse_args(argv)
    if not urlsplit(args.store).scheme.startswith("postgres") or not 2 <= args.workers <= 16:
        parser.error("--store must be a postgresql:// URL and --workers 2 to 16")
    sizes = Sizes.of(args.quick)
    with tempfile.TemporaryDirectory(prefix="paddock-bench-") as tmp, NatsServer() as server:
        say(f"nats-server at {server.url}; {sizes.messages} classification messages")
        one = asyncio.run(measure(1, sizes, args.store, server, Path(tmp)))
        load_one = load()
        say(f"1 process: {one['msgs_per_s']:,.0f} msgs/s (load {load_one})")
        many = asyncio.run(measure(args.workers, sizes, args.store, server, Path(tmp)))
        load_many = load()
        say(f"{args.workers} processes: {many['msgs_per_s']:,.0f} msgs/s (load {load_many})")
    ratio = many["msgs_per_s"] / one["msgs_per_s"]
    met = "met" if ratio >= TARGET or args.workers != 2 else "MISSED"
    print(f"metric | ours | baseline | ratio | target\n"
          f"ingest, {args.workers} partitioned worker processes (PostgreSQL) msgs/s | "
          f"{many['msgs_per_s']:,.0f} | {one['msgs_per_s']:,.0f} (one worker process) | "
          f"{ratio:.2f} | ≥ {TARGET} for two: {met}\n"
          f"messages {many['messages']:,.0f} over {many['championships']:,.0f} championships; "
          f"publishing took {one['publish_seconds']:.2f} / {many['publish_seconds']:.2f} s "
          f"(inside the timing); cores the workers got: {one['cores_used']:.2f} / "
          f"{many['cores_used']:.2f}; msgs per worker CPU second: "
          f"{one['messages'] / one['worker_cpu_seconds']:,.0f} / "
          f"{many['messages'] / many['worker_cpu_seconds']:,.0f}; load (1/5/15 min) after each: "
          f"{load_one} / {load_many}; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
