"""`paddock serve` as a subprocess whose JSON log a test can wait on (no fixed sleeps)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PADDOCK = str(Path(sys.executable).with_name("paddock"))
LogLine = dict[str, Any]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """One `paddock serve` run; its structlog JSON lines go to `log`."""

    def __init__(self, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.signalled_at = datetime.now(UTC)
        with log.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [PADDOCK, "serve", *args], stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "PADDOCK_LOG_FORMAT": "json", **(env or {})})

    def lines(self) -> list[LogLine]:
        out = []
        for raw in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                out.append({"event": "<not json>", "text": raw})
        return out

    def events(self) -> list[str]:
        return [str(line.get("event")) for line in self.lines()]

    def wait_for(self, found: Callable[[list[LogLine]], bool], timeout: float = 30.0,
                 what: str = "a log line") -> None:
        """Poll the log until `found` holds; fails early if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found(self.lines()):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited ({self.proc.returncode}) before {what}:\n"
                                     + self.tail())
            time.sleep(0.05)
        raise AssertionError(f"no {what} after {timeout}s:\n{self.tail()}")

    def wait_event(self, event: str, timeout: float = 30.0, after: int = 0) -> None:
        self.wait_for(lambda lines: any(line.get("event") == event for line in lines[after:]),
                      timeout, f"'{event}'")

    def stop_within(self, sig: int, seconds: float) -> tuple[int, float]:
        """Send `sig`; the exit code and how long the process took to exit (kills it after
        `seconds` so a test never hangs)."""
        started = time.monotonic()
        self.signalled_at = datetime.now(UTC)
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            return -1, time.monotonic() - started
        return code, time.monotonic() - started

    def logged_after_signal(self, event: str) -> float:
        """Seconds from the signal `stop_within` sent to the first `event` logged after it
        (by the log's own timestamps: what the service did, not the interpreter's exit)."""
        for line in self.lines():
            if line.get("event") == event:
                when = datetime.fromisoformat(str(line["timestamp"]))
                if when >= self.signalled_at:
                    return (when - self.signalled_at).total_seconds()
        raise AssertionError(f"no '{event}' after the signal:\n{self.tail()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
