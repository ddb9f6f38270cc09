"""Run the tests while CPU-bound processes compete for every core (`make test-under-load`).

    python -m tests.under_load                      # the README's test command, `make test`
    python -m tests.under_load tests/e2e/test_crash_recovery.py -x   # pytest with these arguments

Starts two busy loops per core (`--per-core`), runs the tests beside them, reports, and kills the
loops whatever happens (they also stop by themselves once this script is gone). A test that waits
on a timer instead of on what it can observe fails here. Exit status: the tests'.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

MARKER = "paddock-under-load-burner"
# A pure busy loop that ends when its parent (this script) is gone, even after a SIGKILL.
BURNER = (f"import os\nparent = os.getppid()  # {MARKER}\n"
          "while os.getppid() == parent:\n    for _ in range(1_000_000):\n        pass\n")


def start_burners(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop_burners(burners: Sequence[subprocess.Popen[bytes]]) -> None:
    for burner in burners:
        burner.kill()
    for burner in burners:
        burner.wait()


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so the burners are killed on the way out


def run_under_load(command: Sequence[str], burners: int) -> int:
    """`command`'s exit status, run while `burners` busy loops compete with it."""
    signal.signal(signal.SIGTERM, _stop_on_signal)
    started = time.monotonic()
    loops = start_burners(burners)
    try:
        print(f"under load: {burners} busy loops on {os.cpu_count()} cores; running "
              f"{' '.join(command)}", file=sys.stderr, flush=True)
        code = subprocess.call(list(command))
    finally:
        stop_burners(loops)
    verdict = "passed" if code == 0 else f"FAILED (exit {code})"
    print(f"under load: {' '.join(command)} {verdict} in {time.monotonic() - started:.0f} s "
          f"beside {burners} busy loops", file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.under_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-core", type=int, default=2, help="busy loops per core (2)")
    args, pytest_args = parser.parse_known_args(argv)
    command = ([str(Path(sys.executable).with_name("pytest")), *pytest_args] if pytest_args
               else ["make", "test"])
    return run_under_load(command, args.per_core * (os.cpu_count() or 1))


if __name__ == "__main__":
    sys.exit(main())
