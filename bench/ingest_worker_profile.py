"""What the ingest worker costs beside the service's own work (issue 10, ingest target).

    .venv/bin/python -m bench.ingest_worker_profile [--messages 2000] [--profile]
    .venv/bin/python -m bench.ingest_worker_profile --quick      # 200 messages (tests/e2e)

An IngestWorker drains the benchmark's classification messages (bench.service_bench's ingest
workload, batches of 64, SQLite, a local nats-server) while this measures, over the drain:
- the event-loop thread's CPU time per message (`time.thread_time`): fetch, acks, answers;
- how busy the thread appending (`IngestService.process_batch`) keeps itself: its wall time as
  a share of the drain's, and its CPU time per message. A share below 100 % is time in which no
  batch was being appended: the worker's own gaps, or the machine's other load;
- with `--profile`, cProfile of the event-loop thread (a profiler sees only its own thread; the
  service's side is `bench.profile_phases ingest`).
The rate and CPU figures are for comparing code on one machine, alternated, not for the
PERFORMANCE table (that is `bench.service_bench --only ingest`, against the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

from bench.service_bench import FETCH_BATCH, publish_all
from bench.workload import ingest_workload
from infra.bootstrap import open_ledger
from infra.collector import settle_after_start_up
from infra.logging import configure_logging
from infra.nats_ingest import IngestTopology
from infra.workers.ingest_worker import IngestWorker
from services.ingest import Delivery, IngestResult, IngestService, Validated
from tests.nats_server import NatsServer


class TimedService(IngestService):
    """The service, with the wall and CPU time its appending thread spends in `process_batch`."""

    wall = cpu = 0.0

    def process_batch(self, deliveries: list[Delivery],
                      validated: list[Validated] | None = None) -> list[IngestResult]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return super().process_batch(deliveries, validated)
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.thread_time() - cpu


async def drain(url: str, workdir: Path, messages: int, profile: bool) -> None:
    nc = await nats.connect(url)
    workload = ingest_workload(messages, rounds_per_championship=100)
    topology = IngestTopology()
    service = TimedService(open_ledger(f"sqlite:///{workdir / 'ingest.db'}"))
    progress = asyncio.Event()
    worker = IngestWorker(nc, service, topology, batch=FETCH_BATCH, on_appended=progress.set)
    await topology.ensure(nc.jetstream())
    await publish_all(nc.jetstream(), [(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                                       for m in workload.seasons])
    await worker.run_until_idle(idle=0.3)
    settle_after_start_up()
    await publish_all(nc.jetstream(), [(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                                       for m in workload.classifications])
    total, before = len(workload.classifications), worker.handled
    service.wall = service.cpu = 0.0
    profiler = cProfile.Profile()
    stop = asyncio.Event()
    started, cpu, loop_cpu = time.perf_counter(), time.process_time(), time.thread_time()
    if profile:
        profiler.enable()
    task = asyncio.create_task(worker.run(stop))
    while worker.handled - before < total:
        progress.clear()
        await asyncio.wait_for(progress.wait(), 30.0)
    await nc.flush()
    profiler.disable()
    loop_cpu = time.thread_time() - loop_cpu
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    await task
    service.ledger.close()
    await nc.close()
    per = 1e6 / total
    print(f"ingest worker: {total} messages, {total / elapsed:.0f} msgs/s, "
          f"{total / cpu:.0f} msgs per CPU second")
    print(f"  event-loop thread: {loop_cpu * per:.0f} µs of CPU per message")
    print(f"  appending thread: busy {service.wall / elapsed:.0%} of the drain; "
          f"{service.wall * per:.0f} µs wall, {service.cpu * per:.0f} µs CPU per message")
    if profile:
        stats: Any = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_worker_profile",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile the event loop's thread")
    parser.add_argument("--quick", action="store_true", help="200 messages")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages = 200
    configure_logging(json_logs=True, level="WARNING")
    with tempfile.TemporaryDirectory(prefix="paddock-worker-") as tmp, NatsServer() as server:
        asyncio.run(drain(server.url, Path(tmp), args.messages, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
