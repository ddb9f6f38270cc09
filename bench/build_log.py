"""Build the benchmark's synthetic log into any store, so anyone can reproduce the as-of figures
on their own SQLite file or PostgreSQL schema (issue 10).

    python -m bench.build_log --events 1000000 --store sqlite:///big.db
    python -m bench.build_log --events 100000 --store 'postgresql://postgres@127.0.0.1:5432/test?schema=big'

Progress goes to stderr; the last line on stdout is one JSON object naming a championship and an
as-of/known-at pair inside its season (what the benchmark queries), the events written and the
store (password masked). The store must be empty: a benchmark log mixed with real facts would
measure neither.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

MAX_EVENTS = 10_000_000  # ~10 GB of SQLite: beyond it, no run on a 2-core machine ends


class BuildLogError(Exception):
    """The log cannot be built as asked (bad size, a store that is not empty)."""


def build(store_url: str, events: int, seed: int,
          say: Any = lambda text: print(text, file=sys.stderr)) -> dict[str, Any]:
    """Write about `events` facts into the empty store at `store_url`; the query point."""
    from bench.workload import build_big_log, query_point
    from infra.bootstrap import open_ledger
    from infra.config import redact_url
    from projections.canonical import iso_utc

    if not 1 <= events <= MAX_EVENTS:
        raise BuildLogError(f"--events {events}: give 1 to {MAX_EVENTS:,}")
    ledger = open_ledger(store_url)
    try:
        if (head := ledger.head()) > 0:
            raise BuildLogError(f"the store {redact_url(store_url)} already holds {head:,} events: "
                                "build into an empty store (a new file or schema)")
        started, last = time.perf_counter(), [time.perf_counter()]

        def progress(written: int) -> None:
            if time.perf_counter() - last[0] > 5:
                last[0] = time.perf_counter()
                say(f"  built {written:,} events")

        log = build_big_log(ledger, events, seed=seed, progress=progress)
    finally:
        ledger.close()
    say(f"built {log.events:,} events ({len(log.championships):,} championships) "
        f"in {time.perf_counter() - started:.1f} s")
    championship, as_of, known_at = query_point(log, random.Random(seed))
    return {"championship": championship, "as_of": iso_utc(as_of), "known_at": iso_utc(known_at),
            "events": log.events, "championships": len(log.championships),
            "store": redact_url(store_url)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.build_log", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, required=True, help="about this many events")
    parser.add_argument("--store", required=True, help="sqlite:///FILE or postgresql://…")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)
    from eventsourcing.persistence import PersistenceError

    from infra.secrets import mask, remember_url

    remember_url(args.store)

    try:
        print(json.dumps(build(args.store, args.events, args.seed), sort_keys=True))
    except BuildLogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except PersistenceError as error:
        print(f"error: the store refused the log: {mask(str(error))}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
