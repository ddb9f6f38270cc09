"""What a new user meets at the terminal (issue 9 item 19): --version, output cut short by
`| head`, penalty flags named, the role a new key is for, labelled table columns."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.conftest import PADDOCK, SEASONS, CliRunner

ASLMS = "aslms-2023-24"
PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a process its reader cut short


def test_version_is_the_installed_package_version(paddock: CliRunner) -> None:
    run = paddock("--version", store_url=None)
    assert run.code == 0, run.err
    assert run.out == f"paddock {version('paddock')}\n"


def closed_reader(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `argv` with its stdout a pipe whose reader is gone before it writes, as `| head -0`."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, text=True, cwd=cwd,
                              timeout=60, check=False)
    finally:
        os.close(write)


# argparse itself ignores a failed write of --help (exit 0); the commands exit 141.
@pytest.mark.parametrize(("argv", "code"), [(["standings", ASLMS], PIPE_CLOSED), (["--help"], 0),
                                            (["history", ASLMS], PIPE_CLOSED)])
def test_a_reader_that_stops_early_gets_no_traceback(paddock: CliRunner, tmp_path: Path,
                                                       argv: list[str], code: int) -> None:
    assert paddock("season", "register", str(SEASONS / f"{ASLMS}.toml")).code == 0
    store = ["--store", f"sqlite:///{tmp_path / 'e2e.db'}"] if argv[0] != "--help" else []
    done = closed_reader([PADDOCK, *argv, *store], tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(("kind", "flag", "value"), [("laps", "--laps", "1"), ("time", "--seconds", "30"),
                                                      ("points", "--points", "5")])
def test_a_penalty_kind_names_the_flag_it_needs(paddock: CliRunner, tmp_path: Path, kind: str,
                                                 flag: str, value: str) -> None:
    base = ("penalty", "impose", "--championship", ASLMS, "--round", "1", "--car", "4",
            "--kind", kind, "--effective-at", "2023-12-03")
    missing = paddock(*base)
    assert missing.code == 1
    assert f"--kind {kind} needs {flag}" in missing.err, missing.err
    zero = paddock(*base, flag, "0")
    assert zero.code == 1 and f"{flag}:" in zero.err, zero.err
    extra = paddock(*base[:-4], "--kind", "dsq", "--effective-at", "2023-12-03", flag, value)
    assert extra.code == 1 and f"--kind dsq takes no {flag}" in extra.err, extra.err
    assert not (tmp_path / "e2e.db").exists()  # refused before the log was opened


def test_keys_generate_prints_the_register_command_for_the_role_given(paddock: CliRunner,
                                                                       tmp_path: Path) -> None:
    made = paddock("keys", "generate", "--out", str(tmp_path / "jane.nk"), "--role", "official",
                   "--person", "Jane O'Hara")
    assert made.code == 0, made.err
    command = next(line for line in made.out.splitlines() if line.startswith("next: "))
    argv = shlex.split(command.removeprefix("next: "))
    assert argv[:3] == ["paddock", "keys", "register"] and argv[-2:] == ["--role", "official"]
    assert paddock(*argv[1:]).code == 0
    listed = paddock("keys", "list", "--json").json()
    assert [(k["person"], k["role"]) for k in listed] == [("Jane O'Hara", "official")]


def test_keys_generate_without_a_role_asks_for_one(paddock: CliRunner, tmp_path: Path) -> None:
    made = paddock("keys", "generate", "--out", str(tmp_path / "k.nk"))
    assert made.code == 0, made.err
    assert re.search(r"--role \{official\|steward\}", made.out), made.out
    assert "--role steward" not in made.out


def test_every_standings_column_has_a_label(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    text = paddock("standings", ASLMS, "--class", "LMP3").out
    header = next(line for line in text.splitlines() if line.startswith("Pos"))
    rule = text.splitlines()[text.splitlines().index(header) + 1]
    assert len(header.split()) == len(rule.split()), (header, rule)
    assert header.split()[-1] == "Tie-break"
    timeline = paddock("audit", "timeline", ASLMS).out.splitlines()
    header = next(line for line in timeline if "Effective at" in line)
    assert header.startswith("Retro")
