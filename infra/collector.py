"""Python's cyclic garbage collector, set for a long-running service (issue 10).

Ingest allocates tens of thousands of short-lived containers per batch (each message's rows and
events) while the fold of the log only grows. With the default threshold (a young collection
every 700 allocations) much of a batch outlived a collection, was promoted, and the full
collections then scanned the whole fold again: 18–28 % of ingest time went to the collector
(measured with `gc.callbacks` in bench.service_bench). Nearly everything here is freed by
reference counting; the collector is only needed for the rare cycle, so it runs less often and
never looks at what start-up built (modules, classes, the fold so far).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)


def settle_after_start_up() -> None:
    """Collect once, freeze what is alive now out of every later collection's scan, and
    collect the young generation every `YOUNG_THRESHOLD` allocations."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
