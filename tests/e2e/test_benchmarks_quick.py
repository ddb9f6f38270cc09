"""The benchmarks in their quick form, so they cannot rot between full runs (the service bench
had stopped running once decisions needed a signature, and nothing said so). Only that each runs
to the end and prints our figure beside its baseline; the figures themselves are judged in
docs/PERFORMANCE.md, never here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("module", "expected"), [
    ("bench.cli_startup", ["`paddock --help`", "`python -c pass` CPU s", "ratio"]),
    ("bench.router_bench", ["ViewRouter events/s", "minimal follower events/s", "ratio"]),
    ("bench.catchup_bench", ["projector events/s", "minimal follower events/s", "ratio",
                             "largest / smallest log"]),
    ("bench.resume_bench", ["start-up s", "events decoded", "before: fold from 0, s",
                            "bare point query ms", "largest / smallest log"]),
    ("bench.split_bench", ["one worker events/s", "two workers events/s", "ratio"]),
    ("bench.query_bench", ["standings wall", "point query", "growth 2,000 → 10,000 events"]),
    ("bench.query_service_bench", ["first ms", "warm p99", "echo p99", "p99 ratio"]),
    ("bench.serve_memory_bench", ["caught up", "RSS MB", "idle serve MB", "target"]),
    ("bench.service_bench", ["ingest: classification messages", "bare fetch(64)+ack",
                             "as-of standings p99", "ratio"]),
    ("bench.ingest_worker_profile", ["ingest worker: 200 messages", "event-loop thread",
                                     "appending thread: busy"]),
])
def test_benchmark_runs_in_its_quick_form(module: str, expected: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout, (text, done.stdout[-3000:])


@pytest.mark.postgres
def test_the_ingest_scaling_benchmark_runs_in_its_quick_form(postgres_url: str) -> None:
    """Two partitioned ingest worker processes against one, on PostgreSQL (issue 10)."""
    done = subprocess.run([sys.executable, "-m", "bench.ingest_scaling_bench", "--quick",
                           "--store", postgres_url], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("2 partitioned worker processes", "one worker process", "ratio", "load"):
        assert text in done.stdout, (text, done.stdout[-3000:])
