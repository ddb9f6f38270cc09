"""CLI start-up: the CPU time of whole `paddock` processes beside `python -c pass`, same run.

    .venv/bin/python -m bench.cli_startup            # 20 runs of each command (make bench)
    .venv/bin/python -m bench.cli_startup --quick    # 5 runs (make bench-quick), ~15 s

Each command is a fresh process started by the installed console script, as a user starts it;
its CPU time (user + system) is the kernel's accounting of that child (os.wait4). Commands and
the baseline run in turn (A B A B ...) so drift on a busy machine hits both alike; the table
shows medians, and the ratio is the median of the pair-by-pair ratios. Target (issue 9 item 20):
`paddock --help` ≤ 0.15 s of CPU. `paddock standings` runs on a SQLite store holding the demo
season, made once in a temp dir before the timings. Results: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
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
BASELINE = (sys.executable, "-c", "pass")
HELP_TARGET_CPU = 0.15  # seconds


@dataclass(frozen=True)
class Sample:
    cpu: float
    wall: float


def run_once(argv: Sequence[str]) -> Sample:
    """One whole process: its user + system seconds (its own and its children's) and wall time."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {child.returncode}")
    return Sample(usage.ru_utime + usage.ru_stime, wall)


@dataclass(frozen=True)
class Row:
    name: str
    cpu: float
    wall: float
    baseline_cpu: float
    ratio: float


def measure(name: str, argv: Sequence[str], runs: int) -> Row:
    """`runs` pairs (command, baseline) after one unmeasured pair."""
    run_once(argv), run_once(BASELINE)
    pairs = [(run_once(argv), run_once(BASELINE)) for _ in range(runs)]
    return Row(name, statistics.median(a.cpu for a, _ in pairs),
               statistics.median(a.wall for a, _ in pairs),
               statistics.median(b.cpu for _, b in pairs),
               statistics.median(a.cpu / max(b.cpu, 1e-3) for a, b in pairs))


def demo_store(directory: Path) -> str:
    url = f"sqlite:///{directory / 'bench.db'}"
    subprocess.run([PADDOCK, "demo", "--store", url], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return url


def table(rows: list[Row]) -> str:
    lines = ["| command | CPU s (median) | wall s | `python -c pass` CPU s | ratio |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| `{r.name}` | {r.cpu:.3f} | {r.wall:.3f} | {r.baseline_cpu:.3f} | {r.ratio:.1f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5 runs of each instead of 20")
    parser.add_argument("--runs", type=int, help="runs of each command (overrides --quick)")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 20)
    with tempfile.TemporaryDirectory(prefix="paddock-cli-bench-") as directory:
        store = demo_store(Path(directory))
        rows = [measure("paddock --help", [PADDOCK, "--help"], runs),
                measure("paddock standings aslms-2023-24",
                        [PADDOCK, "standings", "aslms-2023-24", "--store", store], runs)]
    print(table(rows))
    help_cpu = rows[0].cpu
    verdict = "met" if help_cpu <= HELP_TARGET_CPU else "MISSED"
    print(f"\ntarget `paddock --help` ≤ {HELP_TARGET_CPU} s CPU: {help_cpu:.3f} s, {verdict} "
          f"({runs} runs each, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
