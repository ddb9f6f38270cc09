"""Run the `paddock` command as a user does: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PADDOCK = str(Path(sys.executable).with_name("paddock"))
SEASONS = Path(__file__).resolve().parents[2] / "services" / "seasons"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


CliRunner = Callable[..., Run]


@pytest.fixture
def paddock(tmp_path: Path) -> CliRunner:
    """`paddock(*args)` runs the CLI against a store in this test's temp dir."""
    store = f"sqlite:///{tmp_path / 'e2e.db'}"

    def run(*args: str, store_url: str | None = store, env: dict[str, str] | None = None) -> Run:
        full_env = {k: v for k, v in os.environ.items() if k != "PADDOCK_STORE"}
        full_env.update(env or {})
        argv = [PADDOCK, *args]
        if store_url is not None and args and args[0] not in ("--help",):
            argv += ["--store", store_url]
        done = subprocess.run(argv, check=False, capture_output=True, text=True, env=full_env, cwd=tmp_path,
                              timeout=120)
        return Run(done.returncode, done.stdout, done.stderr)

    return run
