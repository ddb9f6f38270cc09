"""`make test-under-load`: the tests run while busy loops compete, and the loops never outlive it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.under_load import MARKER, run_under_load

HEAD, TAIL = MARKER[:5], MARKER[5:]  # split, so the counter does not count itself
# Counts the busy loops that are children of its own parent (the test process), so that other
# runs on the machine (a parallel worker, another `make test-under-load`) do not change the count.
COUNT_BURNERS = f"""
import os, pathlib, sys
parent, found = os.getppid(), 0
for proc in pathlib.Path("/proc").glob("[0-9]*"):
    try:
        ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        found += ppid == parent and ({HEAD!r} + {TAIL!r}) in (proc / "cmdline").read_text(errors="replace")
    except (OSError, IndexError, ValueError):
        pass
pathlib.Path(sys.argv[1]).write_text(str(found))
sys.exit(int(sys.argv[2]))
"""


def parent_of(proc: Path) -> int:
    """The parent pid in /proc/PID/stat (after the command name, which may hold spaces)."""
    return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])


def burners_running() -> int:
    """The busy loops this test process started and that are still alive."""
    found = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            found += parent_of(proc) == os.getpid() and MARKER in (proc / "cmdline").read_text(
                errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="counts processes in /proc")
@pytest.mark.parametrize("status", [0, 3])
def test_the_command_runs_beside_the_busy_loops_which_are_then_killed(tmp_path: Path,
                                                                      status: int) -> None:
    before = burners_running()
    seen = tmp_path / "seen"
    code = run_under_load([sys.executable, "-c", COUNT_BURNERS, str(seen), str(status)], burners=2)
    assert code == status
    assert int(seen.read_text()) == before + 2
    assert burners_running() == before


def test_make_has_the_target() -> None:
    repo = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "-n", "test-under-load"], cwd=repo, capture_output=True,
                         text=True, check=False)
    assert dry.returncode == 0, dry.stderr
    assert "-m tests.under_load" in dry.stdout
