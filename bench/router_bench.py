"""Routing cost per event as the log grows (issue 10: constant cost per event).

    .venv/bin/python -m bench.router_bench [--events 100000] [--quick]

Builds the benchmark's synthetic log in memory, then routes it event by event through the
projection worker's `ViewRouter` (which views may each event change), timing each fifth of the
log. Baseline, in the same run on the same events: a minimal follower that only records each
aggregate's owner in a dict. Flat rates from the first fifth to the last mean the cost per event
does not grow with the log.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.workload import build_big_log
from infra.bootstrap import open_ledger
from projections.ledger import HeadIndex
from projections.live_views import ViewRouter, owner_of

PARTS = 5


def rates(events: Sequence[Any], step: Callable[[Any], object]) -> list[float]:
    """Events per second over each fifth of `events`."""
    size = len(events) // PARTS
    found = []
    for part in range(PARTS):
        started = time.perf_counter()
        for event in events[part * size:(part + 1) * size]:
            step(event)
        found.append(size / (time.perf_counter() - started))
    return found


def minimal_follower() -> Callable[[Any], object]:
    owners: dict[Any, str] = {}

    def follow(event: Any) -> None:
        owner = owner_of(event)
        if owner is not None:
            owners[event.originator_id] = owner

    return follow


def head_index_rates(size: int, late_every: int) -> list[float]:
    """Adds (one in `late_every` stamped before the previous ten) each followed by a query, as
    the projection worker asks "known at" after folding: events per second by fifth."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 1, 1, tzinfo=UTC)
    index, moments = HeadIndex(), []
    for position in range(1, size + 1):
        step = position - 10 if late_every and position % late_every == 0 else position
        moments.append((start + timedelta(seconds=step), position))

    def add_and_ask(moment: tuple[Any, int]) -> None:
        index.add(*moment)
        index.position_at(moment[0])

    return rates(moments, add_and_ask)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.router_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 events")
    args = parser.parse_args(argv)
    events_wanted = 10_000 if args.quick else args.events
    ledger = open_ledger("memory://")
    build_big_log(ledger, events_wanted)
    events = [event for _, event in ledger.read_events(0)]
    ours = rates(events, ViewRouter().route)
    baseline = rates(events, minimal_follower())
    size = len(events) // PARTS
    print("| events routed | ViewRouter events/s | minimal follower events/s | ratio |")
    print("|---|---:|---:|---:|")
    for part, (mine, bare) in enumerate(zip(ours, baseline, strict=True)):
        print(f"| {part * size:,}–{(part + 1) * size:,} | {mine:,.0f} | {bare:,.0f} | {mine / bare:.2f} |")
    print(f"last fifth / first fifth: ViewRouter {ours[-1] / ours[0]:.2f}, "
          f"follower {baseline[-1] / baseline[0]:.2f} ({len(events):,} events)")
    size = len(events)
    late, in_order = head_index_rates(size, late_every=100), head_index_rates(size, late_every=0)
    print(f"head index, {size:,} adds each followed by a query, 1 in 100 stamped late: "
          f"{late[0]:,.0f}/s first fifth, {late[-1]:,.0f}/s last fifth "
          f"(baseline all in order: {in_order[-1]:,.0f}/s; ratio {late[-1] / in_order[-1]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
