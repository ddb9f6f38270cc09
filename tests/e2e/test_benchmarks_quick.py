"""The benchmarks in their quick form, so they cannot rot between full runs (the service bench
had stopped running once decisions needed a signature, and nothing said so). Only that each runs
to the end and prints our figure beside its baseline; the figures themselves are judged in
docs/PERFORMANCE.md, never here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(module: str, expected: list[str], seconds: float) -> Any:
    """One benchmark's case; `seconds` (alone, on the CI machine) orders the run (conftest.py)."""
    return pytest.param(module, expected, marks=pytest.mark.slow(seconds), id=module)


@pytest.mark.parametrize(("module", "expected"), [
    bench("bench.cli_startup", ["`paddock --help`", "`python -c pass` CPU s", "ratio"], 7),
    bench("bench.router_bench", ["ViewRouter events/s", "minimal follower events/s", "ratio"], 3),
    bench("bench.catchup_bench", ["projector events/s", "minimal follower events/s", "ratio",
                                  "largest / smallest log"], 29),
    bench("bench.split_bench", ["one worker events/s", "two workers events/s", "ratio"], 7),
    bench("bench.query_bench", ["standings wall", "point query", "growth 2,000 → 10,000 events"],
          9),
    bench("bench.query_service_bench", ["first ms", "warm p99", "echo p99", "p99 ratio"], 16),
    bench("bench.serve_memory_bench", ["caught up", "RSS MB", "idle serve MB", "target"], 19),
    bench("bench.service_bench", ["ingest: classification messages", "bare fetch(64)+ack",
                                  "as-of standings p99", "ratio"], 50),
    bench("bench.resume_bench", ["start-up s", "events decoded", "before: fold from 0, s",
                                 "bare point query ms", "largest / smallest log"], 25),
    bench("bench.ingest_worker_profile", ["ingest worker: 200 messages", "event-loop thread",
                                          "appending thread: busy"], 20),
])
def test_benchmark_runs_in_its_quick_form(module: str, expected: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout, (text, done.stdout[-3000:])


@pytest.mark.postgres
@pytest.mark.slow(13)
def test_the_ingest_scaling_benchmark_runs_in_its_quick_form(postgres_url: str) -> None:
    """Two partitioned ingest worker processes against one, on PostgreSQL (issue 10)."""
    done = subprocess.run([sys.executable, "-m", "bench.ingest_scaling_bench", "--quick",
                           "--store", postgres_url], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("2 partitioned worker processes", "one worker process", "ratio", "load"):
        assert text in done.stdout, (text, done.stdout[-3000:])
