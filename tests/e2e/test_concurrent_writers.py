"""Issue 9 item 5: eight `paddock` processes writing to one fresh PostgreSQL schema at once.
A conflict between them (two creating the tables, two opening the store) is retried and never
reaches the user: every command exits 0, every fact is stored once, the chain stays linear."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from infra.bootstrap import open_ledger
from infra.cli.main import main
from tests.e2e.conftest import PADDOCK, SEASONS

pytestmark = pytest.mark.postgres
WRITERS = 8
ASLMS = SEASONS / "aslms-2023-24"
COMMANDS = [
    *(["season", "register", str(SEASONS / f"{name}.toml")]
      for name in ("aslms-2023-24", "gtwc-asia-2023", "lemans-2024", "wec-2024")),
    *(["import", "alkamel", str(next(ASLMS.glob(f"R{n}_*hour4.csv"))),
       "--championship", "aslms-2023-24", "--round", str(n)] for n in (1, 2)),
]


def facts(store: str) -> list[tuple[str, object, int]]:
    """What the log holds, whatever order the writers recorded it in."""
    return sorted((type(e).__qualname__, str(e.originator_id), e.originator_version)
                  for _, e in open_ledger(store).read_events(0))


def writer(store: str, start: threading.Barrier, failures: list[str]) -> None:
    start.wait()
    for command in COMMANDS:
        done = subprocess.run([PADDOCK, *command, "--store", store], capture_output=True,
                              text=True, check=False, timeout=120)
        if done.returncode != 0:
            failures.append(f"{' '.join(command[:2])} exit {done.returncode}: {done.stderr}")


@pytest.mark.slow(33)
def test_concurrent_cli_writers_all_succeed_once(postgres_store: str, tmp_path: Path) -> None:
    start, failures = threading.Barrier(WRITERS), list[str]()
    threads = [threading.Thread(target=writer, args=(postgres_store, start, failures))
               for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, f"{len(failures)} of {WRITERS * len(COMMANDS)} failed:\n" + "\n".join(failures)

    reference = f"sqlite:///{tmp_path / 'one-writer.db'}"
    for command in COMMANDS:  # the same commands, one writer: the facts to expect, once each
        assert main([*command, "--store", reference]) == 0
    assert facts(postgres_store) == facts(reference)
    verify = subprocess.run([PADDOCK, "audit", "verify", "--store", postgres_store],
                            capture_output=True, text=True, check=False, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
