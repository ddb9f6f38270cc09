"""`python -m bench.build_log` (issue 10): anyone can build the benchmark's log into their own
store and query the point it names, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def build_log(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.build_log", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_log_it_builds_answers_the_query_it_names(store_url: str, paddock: CliRunner) -> None:
    done = build_log("--events", "2000", "--store", store_url)
    assert done.returncode == 0, done.stderr
    point = json.loads(done.stdout.strip().splitlines()[-1])
    assert point["events"] >= 2000 and point["championships"] >= 1
    answer = paddock("standings", point["championship"], "--as-of", point["as_of"],
                     "--known-at", point["known_at"], "--json", store_url=store_url)
    assert answer.code == 0, answer.err
    view = answer.json()
    assert view["championship"] == point["championship"]
    assert view["as_of"] == point["as_of"] and view["known_at"] == point["known_at"]


def test_it_refuses_a_store_that_already_holds_events(sqlite_store: str) -> None:
    assert build_log("--events", "500", "--store", sqlite_store).returncode == 0
    again = build_log("--events", "500", "--store", sqlite_store)
    assert again.returncode == 1
    assert "already holds" in again.stderr and "empty store" in again.stderr


@pytest.mark.parametrize("events", ["0", "-5", "10000001"])
def test_it_refuses_a_size_out_of_bounds_and_creates_nothing(tmp_path: Path, events: str) -> None:
    db = tmp_path / "never.db"
    done = build_log("--events", events, "--store", f"sqlite:///{db}")
    assert done.returncode == 1
    assert f"--events {events}" in done.stderr
    assert not db.exists()
