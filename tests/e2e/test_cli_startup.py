"""CLI start-up imports only what the command uses (issue 9 item 20), checked without timing:
the modules a fresh interpreter holds after `paddock ...` ran. The figures: bench/cli_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import SEASONS, CliRunner

# Runs the CLI's entry point as the console script does, then lists every module it loaded.
PROBE = """
import json, sys
from infra.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""
HEAVY = ("nats", "eventsourcing", "pydantic", "psycopg", "services.contracts", "services.ledger")


def loaded_after(tmp_path: Path, *argv: str) -> set[str]:
    listing = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(listing), *argv], check=False,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert listing.exists(), done.stderr
    return set(json.loads(listing.read_text()))


def packages(modules: set[str], wanted: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == w or m.startswith(w + ".") for w in wanted))


@pytest.mark.parametrize("argv", [("--help",), ("serve", "--help"), ("standings", "--help"),
                                  ("penalty", "impose", "--help"), ("standings",)])
def test_help_and_usage_errors_import_nothing_heavy(tmp_path: Path, argv: tuple[str, ...]) -> None:
    assert packages(loaded_after(tmp_path, *argv), HEAVY) == []


def test_standings_on_sqlite_imports_neither_nats_nor_psycopg(paddock: CliRunner,
                                                              tmp_path: Path) -> None:
    assert paddock("season", "register", str(SEASONS / "aslms-2023-24.toml")).code == 0
    store = f"sqlite:///{tmp_path / 'e2e.db'}"
    modules = loaded_after(tmp_path, "standings", "aslms-2023-24", "--store", store)
    assert "services.ledger" in modules  # the probe did run the query
    assert packages(modules, ("nats", "psycopg", "pydantic", "services.contracts")) == []
