"""The README's commands, taken out of the Markdown and run the way a new user runs them.

- ```sh blocks are scripts: every line (a trailing `\\` joins the next) is run in order, in one
  fresh directory, by `ReadmeSession`. A line ending in `&`, a `nats-server` and `paddock serve`
  run for ever: they are started, the next line runs once they say they are ready, and they are
  stopped with SIGTERM at the end (`paddock serve` must then exit 0).
- ```text blocks are the usage synopsis (placeholders, `[optional]`, `a|b`), and inline
  `paddock …` spans are mentions: both are checked against the argument parser (every command
  word exists, every `--flag` belongs to that command) by `usage_problems`.
- `make X` is checked with `make -n X` in the repository: `make test` is this suite (running it
  here would recurse) and `make demo` writes ./paddock.db in the working tree; both recipes are
  run for real by the tests of what they call.

What is rewritten, so that a run never touches anything of yours: the NATS address
`127.0.0.1:4222` becomes the address of the nats-server the README starts (on a free port, with
`-a 127.0.0.1 -p -1` added), and paths under /tmp/ go under the run's directory. Files the README
assumes you have (`R1.csv`) are copied in from the real season data (`PROVIDED`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import logged

REPO = Path(__file__).resolve().parents[1]
SEASON_FILES = REPO / "services" / "seasons" / "aslms-2023-24"
PROVIDED = {"R1.csv": SEASON_FILES / "R1_sepang_2023-12-02_race1_hour4.csv"}
README_NATS = "nats://127.0.0.1:4222"
FOREVER = {("paddock", "serve"): "serve.started"}  # command words → the log line saying ready
NATS_READY = "Server is ready"
NATS_LISTENING = re.compile(r"Listening for client connections on (\S+):(\d+)")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`((?:\.venv/bin/)?(?:paddock|make) [^`]+)`")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMENT = re.compile(r"\s+#\s.*$")


@dataclass(frozen=True)
class Command:
    """One command of the README: where it is (line number) and its text."""

    line: int
    text: str
    kind: str  # "run" (```sh), "usage" (```text or an inline span)


def readme_commands(markdown: str) -> list[Command]:
    """Every command in document order: fenced sh and text blocks, and inline spans."""
    found: list[Command] = []
    outside = markdown
    for block in FENCE.finditer(markdown):
        lang, body = block.group(1), block.group(2)
        first = markdown.count("\n", 0, block.start(2)) + 1
        if lang in ("sh", "text"):
            found += _block_commands(body, first, "run" if lang == "sh" else "usage")
        outside = outside.replace(block.group(0), "\n" * block.group(0).count("\n"), 1)
    for span in INLINE.finditer(outside):
        line = outside.count("\n", 0, span.start()) + 1
        found.append(Command(line, " ".join(span.group(1).split()), "usage"))
    return sorted(found, key=lambda c: c.line)


def _block_commands(body: str, first: int, kind: str) -> list[Command]:
    commands: list[Command] = []
    pending, start = "", first
    for number, raw in enumerate(body.splitlines(), start=first):
        text = raw.strip()
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = COMMENT.sub("", pending + text).strip()
        pending = ""
        if text and not text.startswith("#"):
            commands.append(Command(start, text, kind))
    return commands


# -- usage: the synopsis and the mentions, against the argument parser ---------------------------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def usage_problems(text: str, root: argparse.ArgumentParser) -> list[str]:
    """What in a usage line the CLI would refuse: an unknown command word or flag."""
    words = COMMENT.sub("", text).split()
    if not words or Path(words[0]).name != "paddock":
        return []
    problems: list[str] = []
    parent, parser, path = root, root, ["paddock"]
    for number, segment in enumerate(" ".join(words[1:]).split(" | ")):
        tokens = segment.split()
        if number and tokens and re.fullmatch(r"[a-z][a-z-]*", tokens[0]):  # `keys list | …`
            parser, path = parent, path[:-1]  # a lowercase word after ` | `: a sibling command
        while (choices := _subcommands(parser)) and tokens and not tokens[0].startswith("-"):
            if tokens[0] not in choices:
                problems.append(f"`{' '.join(path)} {tokens[0]}`: no such command "
                                f"(known: {', '.join(choices)})")
                return problems
            parent, parser = parser, choices[tokens[0]]
            path.append(tokens.pop(0))
        known = parser._option_string_actions
        problems += [f"`{' '.join(path)}` has no option {flag}"
                     for flag in FLAG.findall(" ".join(tokens)) if flag not in known]
    return problems


# -- run: the sh blocks, in order, in one fresh directory -----------------------------------------


@dataclass
class Background:
    """A command that runs for ever, started by the session; its output goes to `log`."""

    text: str
    process: subprocess.Popen[bytes]
    log: Path
    must_exit_cleanly: bool


@dataclass
class ReadmeSession:
    """Runs the README's sh lines one after the other in `cwd`, as the user would."""

    cwd: Path
    venv: Path
    timeout: float = 180.0
    nats_url: str | None = None
    background: list[Background] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.cwd / ".venv").symlink_to(self.venv, target_is_directory=True)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PADDOCK_STORE", "NATS_URL", "PADDOCK_PREFIX", "PADDOCK_ROLES")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        if self.nats_url:
            env["NATS_URL"] = self.nats_url
        return env

    def run(self, command: Command) -> str | None:
        """Run one line; None when it did what the README says, else what went wrong."""
        words = shlex.split(command.text, comments=True)
        detached = words[-1] == "&"
        words = [self._rewrite(w) for w in (words[:-1] if detached else words)]
        self.transcript.append(f"README.md:{command.line}: {shlex.join(words)}")
        name = Path(words[0]).name
        if name == "make":
            return self._finish(command, ["make", "-n", *words[1:]], cwd=REPO)
        if name == "nats-server":
            return self._start_nats(command, words)
        self._provide(words)
        ready = FOREVER.get((name, words[1] if len(words) > 1 else ""))
        if ready or detached:
            return self._start(command, words, ready)
        return self._finish(command, words, cwd=self.cwd)

    def _rewrite(self, word: str) -> str:
        if README_NATS in word:
            if self.nats_url is None:
                raise AssertionError(f"the README uses {README_NATS} before starting a nats-server")
            word = word.replace(README_NATS, self.nats_url)
        if word.startswith("/tmp/"):
            word = str(self.cwd / "tmp" / word.removeprefix("/tmp/"))
        return word

    def _provide(self, words: list[str]) -> None:
        for word in words:
            if word in PROVIDED and not (self.cwd / word).exists():
                shutil.copyfile(PROVIDED[word], self.cwd / word)

    def _finish(self, command: Command, argv: list[str], cwd: Path) -> str | None:
        try:
            done = subprocess.run(argv, cwd=cwd, env=self.env(), capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"README.md:{command.line}: `{command.text}`: {error}"
        self.transcript.append(done.stdout[-2000:] + done.stderr[-2000:])
        if done.returncode:
            return (f"README.md:{command.line}: `{command.text}` exited {done.returncode}:\n"
                    f"{done.stderr[-2000:] or done.stdout[-2000:]}")
        return None

    def _spawn(self, command: Command, argv: list[str], *, clean_exit: bool) -> Background:
        log = self.cwd / f"background-{len(self.background)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(argv, cwd=self.cwd, env=self.env(), stdout=out,
                                       stderr=subprocess.STDOUT)
        started = Background(command.text, process, log, clean_exit)
        self.background.append(started)
        return started

    def _wait(self, started: Background, ready: str) -> str | None:
        """The text of the log once `ready` is in it; None if the process ended first."""
        if not logged(started.log, ready, started.process, timeout=self.timeout):
            return None
        return started.log.read_text(encoding="utf-8", errors="replace")

    def _start(self, command: Command, argv: list[str], ready: str | None) -> str | None:
        started = self._spawn(command, argv, clean_exit=ready is not None)
        if ready and self._wait(started, ready) is None:
            return (f"README.md:{command.line}: `{command.text}` never said {ready!r}:\n"
                    f"{started.log.read_text(errors='replace')[-2000:]}")
        return None

    def _start_nats(self, command: Command, words: list[str]) -> str | None:
        for i, word in enumerate(words[:-1]):  # its JetStream store directory must exist
            if word in ("-sd", "--store_dir"):
                Path(words[i + 1]).mkdir(parents=True, exist_ok=True)
        started = self._spawn(command, [*words, "-a", "127.0.0.1", "-p", "-1"], clean_exit=False)
        text = self._wait(started, NATS_READY)
        found = NATS_LISTENING.search(text or "")
        if not found:
            return (f"README.md:{command.line}: `{command.text}` did not start:\n"
                    f"{started.log.read_text(errors='replace')[-2000:]}")
        self.nats_url = f"nats://{found.group(1)}:{found.group(2)}"
        return None

    def close(self) -> list[str]:
        """SIGTERM what runs for ever, newest first; what did not stop cleanly."""
        problems = []
        for started in reversed(self.background):
            if started.process.poll() is None:
                started.process.send_signal(signal.SIGTERM)
            try:
                code = started.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                started.process.kill()
                code = started.process.wait()
            if started.must_exit_cleanly and code != 0:
                problems.append(f"`{started.text}` exited {code} on SIGTERM:\n"
                                f"{started.log.read_text(errors='replace')[-2000:]}")
        self.background.clear()
        return problems
