"""Waiting on what a test can observe (a line in a process's log), with a generous deadline."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

DEADLINE = 120.0  # seconds: generous, so a loaded machine is slow, not failing


def logged(log: Path, text: str, process: subprocess.Popen[bytes] | None = None,
           timeout: float = DEADLINE) -> bool:
    """True once `text` is in the log file; False if the process ended first or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(encoding="utf-8", errors="replace"):
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.05)
    return False
