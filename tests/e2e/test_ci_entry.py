""".ci/run as CI runs it, with `make` and `chromium` replaced by recorders on PATH: lint and the
strict typecheck run before the suite, the suite runs last with PostgreSQL and the browser test
mandatory, and the first failure stops the run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"
RECORDER = """#!/bin/sh
echo "$* postgres=$PADDOCK_REQUIRE_POSTGRES browser=${PADDOCK_REQUIRE_BROWSER:-}" >> "$CALLS"
[ "$1" != "$FAIL_ON" ]
"""


def run_ci(tmp_path: Path, fail_on: str = "") -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("make", "chromium"):  # chromium present: no apt-get
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    outer = {k: v for k, v in os.environ.items() if not k.startswith("PADDOCK_REQUIRE_")}  # CI's own
    env = {**outer, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls),
           "FAIL_ON": fail_on}
    done = subprocess.run(["bash", str(CI_RUN)], env=env, capture_output=True, timeout=60,
                          check=False)
    return done.returncode, calls.read_text().splitlines()


def test_ci_lints_and_typechecks_then_runs_the_suite_last(tmp_path: Path) -> None:
    code, calls = run_ci(tmp_path)
    assert code == 0
    assert calls == ["lint postgres=1 browser=", "typecheck postgres=1 browser=",
                     "test postgres=1 browser=1"]


@pytest.mark.parametrize(("failing", "ran"), [("lint", ["lint"]), ("typecheck", ["lint", "typecheck"])])
def test_ci_stops_at_the_first_failure(tmp_path: Path, failing: str, ran: list[str]) -> None:
    code, calls = run_ci(tmp_path, fail_on=failing)
    assert code != 0
    assert [c.split()[0] for c in calls] == ran
