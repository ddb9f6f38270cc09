"""`make test-under-load`: the tests run while busy loops compete, and the loops never outlive it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.under_load import MARKER, run_under_load

HEAD, TAIL = MARKER[:5], MARKER[5:]  # split, so the counter does not count itself
COUNT_BURNERS = f"""
import pathlib, sys
found = 0
for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
    try:
        found += ({HEAD!r} + {TAIL!r}) in cmdline.read_text(errors="replace")
    except OSError:
        pass
pathlib.Path(sys.argv[1]).write_text(str(found))
sys.exit(int(sys.argv[2]))
"""


def burners_running() -> int:
    found = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found += MARKER in cmdline.read_text(errors="replace")
        except OSError:
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
