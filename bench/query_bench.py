"""One championship's standings as a user asks for them, on logs of growing size: the whole
`paddock standings CH --as-of T --known-at K --json` process, beside a bare Python process that
runs one SQLite point query on the same file, in the same run.

    .venv/bin/python -m bench.query_bench                 # logs of 10k and 100k events
    .venv/bin/python -m bench.query_bench --full          # and 1M (builds it once: long)
    .venv/bin/python -m bench.query_bench --quick         # 2k and 10k, 3 runs (the test suite)

Logs are built with `bench.build_log` into --dir (default: a temp dir; give a directory to keep
them between runs: a log is rebuilt only if its file is missing). Each command runs in turn with
the baseline (A B A B ...); the table shows medians of wall and CPU time (user + system,
what a loaded machine distorts least) and the largest peak RSS.
Targets (issue 10): ≤ 0.5 s wall and ≤ 150 MB peak RSS at 1M events, and the largest log within
1.5× of the smallest (cost independent of the log's size). Results: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PADDOCK = str(Path(sys.executable).with_name("paddock"))
TARGET_WALL, TARGET_RSS_MB, TARGET_GROWTH = 0.5, 150.0, 1.5
POINT_QUERY = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
               "print(db.execute('SELECT length(state) FROM stored_events WHERE rowid = ?', "
               "(int(sys.argv[2]),)).fetchone())")


CACHED_BYTECODE = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Processes run as an installed package does: with their modules' bytecode cached (written by
the first, unmeasured run), not compiled from source every time."""


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


def run_once(argv: Sequence[str]) -> Sample:
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=CACHED_BYTECODE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        error = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed: {error[-2000:]}")
    if child.stderr:
        child.stderr.close()
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(frozen=True)
class Row:
    events: int
    wall: float
    cpu: float
    rss_mb: float
    baseline_wall: float
    baseline_rss_mb: float

    @property
    def ratio(self) -> float:
        return self.wall / self.baseline_wall


def built_log(directory: Path, events: int) -> tuple[Path, dict[str, str]]:
    """The log of about `events` events in `directory`, built unless already there."""
    path = directory / f"log-{events}.db"
    point = directory / f"log-{events}.json"
    if not (path.is_file() and point.is_file()):
        path.unlink(missing_ok=True)
        print(f"building a log of {events:,} events in {path} …", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, "-m", "bench.build_log", "--events", str(events),
                              "--store", f"sqlite:///{path}"], check=True, capture_output=True,
                             text=True).stdout
        point.write_text(out.strip().splitlines()[-1])
    return path, json.loads(point.read_text())


def measure(directory: Path, events: int, runs: int) -> Row:
    path, point = built_log(directory, events)
    ours = [PADDOCK, "standings", point["championship"], "--as-of", point["as_of"],
            "--known-at", point["known_at"], "--json", "--store", f"sqlite:///{path}"]
    bare = [sys.executable, "-c", POINT_QUERY, str(path), str(max(1, events // 2))]
    run_once(ours)  # the file into the page cache, as for the baseline's first run
    samples, baseline = [], []
    for _ in range(runs):
        samples.append(run_once(ours))
        baseline.append(run_once(bare))
    return Row(events, statistics.median(s.wall for s in samples),
               statistics.median(s.cpu for s in samples), max(s.rss_mb for s in samples),
               statistics.median(s.wall for s in baseline), max(s.rss_mb for s in baseline))


def report(rows: Sequence[Row]) -> None:
    print(f"{'log events':>12}  {'standings wall':>14}  {'CPU':>7}  {'peak RSS':>9}  "
          f"{'point query':>11}  {'its RSS':>8}  {'ratio':>6}")
    for r in rows:
        print(f"{r.events:>12,}  {r.wall:>12.3f} s  {r.cpu:>5.2f} s  {r.rss_mb:>6.0f} MB  "
              f"{r.baseline_wall:>9.3f} s  {r.baseline_rss_mb:>5.0f} MB  {r.ratio:>5.1f}×")
    growth = rows[-1].wall / rows[0].wall
    print(f"growth {rows[0].events:,} → {rows[-1].events:,} events: {growth:.2f}× the wall time "
          f"(target ≤ {TARGET_GROWTH}×); largest log: {rows[-1].wall:.3f} s (target ≤ "
          f"{TARGET_WALL} s at 1M), {rows[-1].rss_mb:.0f} MB (target ≤ {TARGET_RSS_MB:.0f} MB)")


def sized_parser(prog: str, doc: str | None, quick: str) -> argparse.ArgumentParser:
    """The options of the benchmarks over logs of growing size (this one and the service's)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=quick)
    size.add_argument("--full", action="store_true", help="10k, 100k and 1M events")
    parser.add_argument("--dir", type=Path, help="keep the built logs here (reused)")
    return parser


def log_sizes(args: argparse.Namespace, quick: list[int]) -> list[int]:
    return quick if args.quick else [10_000, 100_000, 1_000_000] if args.full else [10_000, 100_000]


def main(argv: Sequence[str] | None = None) -> int:
    parser = sized_parser("python -m bench.query_bench", __doc__, "2k and 10k events, 3 runs")
    parser.add_argument("--runs", type=int, help="runs of each command (default 3 quick, 7)")
    args = parser.parse_args(argv)
    sizes = log_sizes(args, [2_000, 10_000])
    runs = args.runs or (3 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="paddock-query-bench-") as temp:
        directory = args.dir or Path(temp)
        directory.mkdir(parents=True, exist_ok=True)
        report([measure(directory, n, runs) for n in sizes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
