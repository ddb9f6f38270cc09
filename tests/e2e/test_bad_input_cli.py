"""Hostile and mistaken input through the installed CLI (issue 9, items 7-12): every case exits
with its status and one line on stderr naming what was wrong, prints no control character and
no credential, and changes nothing (the log head, the files around it)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import PADDOCK, SEASONS, Run

ASLMS = "aslms-2023-24"
R3 = SEASONS / ASLMS / "R3_dubai_2024-02-04_race_hour4.csv"
SECRET = "S3cr3t-pw"


@dataclass
class Store:
    dir: Path
    db: Path
    seed: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def head(self) -> int:
        conn = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
        finally:
            conn.close()


def cli(*args: str, store: str | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 60, as_user: tuple[str, ...] | list[str] = ()) -> Run:
    argv = [*as_user, PADDOCK, *args, *(["--store", store] if store else [])]
    full_env = {k: v for k, v in os.environ.items() if k != "PADDOCK_STORE"} | (env or {})
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def refused(run: Run, code: int, *fragments: str) -> None:
    """Exit `code`, one line on stderr naming the problem; no traceback, no raw control char."""
    assert run.code == code, (run.code, run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    for fragment in fragments:
        assert fragment in run.err, (fragment, run.err)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in run.err.strip()), run.err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The demo season and a registered steward key, made once for the module."""
    base = tmp_path_factory.mktemp("template")
    store = Store(base, base / "paddock.db", base / "steward.nk")
    assert cli("demo", "--json", store=store.url).code == 0
    made = cli("keys", "generate", "--out", str(store.seed), "--json")
    assert made.code == 0, made.err
    key = made.json()["public_key"]
    assert cli("keys", "register", key, "--person", "Jane Steward", "--role", "steward",
               store=store.url).code == 0
    return store


@pytest.fixture
def store(template: Store, tmp_path: Path) -> Store:
    """A copy of the template for one test (the process that wrote it has exited: no WAL)."""
    copy = Store(tmp_path, tmp_path / "paddock.db", tmp_path / "steward.nk")
    shutil.copy(template.db, copy.db)
    shutil.copy(template.seed, copy.seed)
    return copy


def column(line: str, name: str, value: str, header: str) -> str:
    fields = line.split(",")
    fields[header.split(",").index(name)] = value
    return ",".join(fields)


# -- item 7: classification files -------------------------------------------------------------

HOSTILE_FIELDS = [
    ("NUMBER", "\u200b91", r"'\u200b91'", "not a car number"),  # zero-width space
    ("NUMBER", "\uff19\uff11", "'９１'", "not a car number"),  # fullwidth digits
    ("NUMBER", "\u0669\u0661", "'٩١'", "not a car number"),  # Arabic-Indic digits
    ("NUMBER", "<b>91</b>", "'<b>91</b>'", "not a car number"),
    ("NUMBER", "../91", "'../91'", "not a car number"),
    ("NUMBER", "12345", "'12345'", "not a car number"),
    ("LAPS", "1" + "0" * 26, "'1" + "0" * 26 + "'", "is more than 10000"),
    ("LAPS", "1" + "0" * 5000, "LAPS", "longer than 120 characters"),  # past int()'s digit limit
    ("TOTAL_TIME", "9999999999:00'00.000", "TOTAL_TIME", "longer than a race can last"),
    ("TEAM", "Evil\x1b[2J\x1b[31mTeam", r"'Evil\x1b[2J\x1b[31mTeam'", "control character"),
    ("TEAM", "a\x00b", r"'a\x00b'", "control character"),
    ("DRIVER_1", "C1 \x9b31m", r"\x9b", "control character"),
    ("VEHICLE", "Oreca\u202e07", r"\u202e", "control character"),
    ("DIVISION", "bell\x07", r"'bell\x07'", "DIVISION"),  # a column Paddock does not even use
    ("TEAM", "T" * 121, "longer than 120 characters", "TEAM"),
]


@pytest.mark.parametrize(("name", "value", "shown", "problem"), HOSTILE_FIELDS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(HOSTILE_FIELDS)])
def test_hostile_fields_of_a_classification_file(store: Store, name: str, value: str, shown: str,
                                                 problem: str) -> None:
    lines = R3.read_text(encoding="utf-8").splitlines()
    lines[4] = column(lines[4], name, value, lines[0])
    bad = store.dir / "R3_hostile.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    head = store.head()
    run = cli("import", "alkamel", str(bad), "--championship", ASLMS, "--round", "3",
              "--published-at", "2024-03-01T00:00:00Z", store=store.url)
    refused(run, 1, "R3_hostile.csv:5: ", name, shown, problem)
    assert store.head() == head


def test_a_100000_row_file_is_refused_quickly_and_so_is_row_301(store: Store) -> None:
    lines = R3.read_text(encoding="utf-8").splitlines()
    huge = store.dir / "huge.csv"
    huge.write_text("\n".join([lines[0], *[lines[1]] * 100_000]) + "\n", encoding="utf-8")
    head = store.head()
    started = time.monotonic()
    run = cli("import", "alkamel", str(huge), "--championship", ASLMS, "--round", "3",
              "--published-at", "2024-03-01T00:00:00Z", store=store.url)
    elapsed = time.monotonic() - started
    refused(run, 1, "huge.csv: ", "larger than 2048 KB")
    assert elapsed < 10, f"{elapsed:.1f} s to refuse it"
    rows = [f"{n},{n},T,LMP2,Classified,1,1.0" for n in range(1, 302)]
    many = store.dir / "many.csv"
    many.write_text("\n".join(["POSITION,NUMBER,TEAM,CLASS,STATUS,LAPS,TOTAL_TIME", *rows]) + "\n")
    refused(cli("import", "alkamel", str(many), "--championship", ASLMS, "--round", "3",
                store=store.url), 1, "many.csv:302: ", "more than 300 result rows")
    assert store.head() == head


PENALTY_AMOUNTS = [
    (["--kind", "time", "--seconds", "1E+999999"], "seconds: '1E+999999' is out of range"),
    (["--kind", "time", "--seconds", "1e30"], "seconds: '1E+30' is out of range"),
    (["--kind", "time", "--seconds", "172801"], "out of range (0 to 172800)"),
    (["--kind", "time", "--seconds", "9999999999:00'00"], "out of range"),
    (["--kind", "time", "--seconds", "5.0000001"], "more than 6 decimals"),
    (["--kind", "time", "--seconds", "NaN"], "not a finite number"),
    (["--kind", "laps", "--laps", "1" + "0" * 26], "laps: 1" + "0" * 26 + " is out of range"),
    (["--kind", "points", "--points", "1E+999999"], "points: '1E+999999' is out of range"),
    (["--kind", "points", "--points", "0.001"], "more than 2 decimals"),
    (["--kind", "time", "--seconds", "5", "--car", "\u200b3"], r"'\u200b3' is not a car number"),
    (["--kind", "time", "--seconds", "5", "--reason", "ok\x1b[2J"], r"--reason: 'ok\x1b[2J'"),
]


@pytest.mark.parametrize(("extra", "message"), PENALTY_AMOUNTS,
                         ids=[" ".join(e[:4]) for e, _ in PENALTY_AMOUNTS])
def test_penalty_amounts_beyond_physical_limits(store: Store, extra: list[str], message: str) -> None:
    car = [] if "--car" in extra else ["--car", "3"]
    head = store.head()
    run = cli("penalty", "impose", "--championship", ASLMS, "--round", "5", *car, *extra,
              "--effective-at", "2024-02-12T10:00:00Z", "--sign-with", str(store.seed),
              store=store.url)
    refused(run, 1, message)
    assert store.head() == head


NUMBERS = [
    (["audit", "timeline", ASLMS, "--retroactive-after", "inf"], 1, "--retroactive-after: inf is out of range"),
    (["audit", "timeline", ASLMS, "--retroactive-after", "nan"], 1, "--retroactive-after: nan is out of range"),
    (["audit", "timeline", ASLMS, "--retroactive-after", "1e300"], 1, "is out of range (0 to 87840)"),
    (["audit", "checkpoint", "--position", "9" * 23], 2, "log positions run from 1 to"),
    (["organiser", "capacity", "lemans-2024", "--places", "9" * 23, "--effective-at", "2024-01-01"],
     1, "≥ 0 and ≤ 1000"),
    (["produce", "--resend", "100000000", "--nats-url", "nats://127.0.0.1:1"], 1, "--resend: 100000000"),
    (["produce", "--timeout", "nan", "--nats-url", "nats://127.0.0.1:1"], 1, "--timeout: nan"),
    (["serve", "--grace", "nan", "--nats-url", "nats://127.0.0.1:1"], 1, "--grace above 0"),
    (["serve", "--checkpoint-every", "inf", "--nats-url", "nats://127.0.0.1:1"], 1, "not inf"),
]


@pytest.mark.parametrize(("args", "code", "message"), NUMBERS, ids=[" ".join(a[:3]) for a, _, _ in NUMBERS])
def test_numbers_on_the_command_line_are_bounded(store: Store, args: list[str], code: int,
                                                 message: str) -> None:
    head = store.head()
    refused(cli(*args, store=store.url, timeout=20), code, message)
    assert store.head() == head


CONTROL_ARGUMENTS = [
    ["entry", "--championship", ASLMS, "--car", "3", "--team", "Evil\x1b]0;owned\x07",
     "--class", "LMP3", "--effective-at", "2024-01-01"],
    ["invitation", "lemans-2024", "aslms-2023-24/gt-champion", "confirmed", "--reason", "a\x9bb",
     "--effective-at", "2024-02-20T10:00:00Z"],
    ["standings", "\x1b[2J" + ASLMS],
    ["history", ASLMS, "--car", "91\u202e"],
]


@pytest.mark.parametrize("args", CONTROL_ARGUMENTS, ids=[a[0] for a in CONTROL_ARGUMENTS])
def test_control_characters_in_arguments_are_refused(store: Store, args: list[str]) -> None:
    head = store.head()
    refused(cli(*args, store=store.url), 1, "contains the control character")
    assert store.head() == head


def test_control_characters_already_stored_are_escaped_on_output(store: Store) -> None:
    """A log written before the bounds (or by another tool) may hold them: tables escape them."""
    from infra.bootstrap import open_ledger
    from infra.cli.args import parse_when

    at = parse_when("2024-01-01", option="x")
    assert at is not None
    open_ledger(store.url).declare_entry(
        ASLMS, {"car": "91", "team": "Pure\x1b[2J\x1b[31mRxcing\x9b", "class": "GT", "drivers": []},
        effective_at=at, actor="old-version", source="test")
    text = cli("standings", ASLMS, "--class", "GT", store=store.url)
    assert text.code == 0, text.err
    assert "\x1b" not in text.out and "\x9b" not in text.out
    assert r"Pure\x1b[2J\x1b[31mRxcing\x9b" in text.out
    as_json = cli("standings", ASLMS, "--class", "GT", "--json", store=store.url)
    assert "\x1b" not in as_json.out and "\x9b" not in as_json.out
    teams = {r["team"] for r in as_json.json()["classes"][0]["rows"]}
    assert "Pure\x1b[2J\x1b[31mRxcing\x9b" in teams  # still valid JSON, same value


# -- item 8: season files ---------------------------------------------------------------------

SEASON_FILES = [
    ("deep.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deep"),
    ("deeper.toml", "kind = 'championship'\n" + "x = " + "[" * 40 + "]" * 40 + "\n",
     "nested more than 32 levels"),
    ("big.toml", "# padding\n" * 30_000, "at most 200000 characters"),
    ("ansi.toml", (SEASONS / f"{ASLMS}.toml").read_text().replace(
        'name = "', 'name = "\\u001b[2J', 1), r"'\x1b[2J"),
]


@pytest.mark.parametrize(("name", "text", "message"), SEASON_FILES, ids=[s[0] for s in SEASON_FILES])
def test_hostile_season_files(store: Store, name: str, text: str, message: str) -> None:
    path = store.dir / name
    path.write_text(text, encoding="utf-8")
    head = store.head()
    refused(cli("season", "register", str(path), store=store.url), 1, name, message)
    assert store.head() == head


# -- item 9: credentials ----------------------------------------------------------------------


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Store URLs carrying the password, one test each (so that parallel workers share them out):
# the shared server on a closed port, its missing database and schema, and malformed URLs.
SECRET_URLS: dict[str, Callable[[str], str]] = {
    "closed port": lambda base: base.replace(":5432/", f":{closed_port()}/"),
    "missing database": lambda base: base.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}",
    "missing schema": lambda base: f"{base}?schema=no_such_schema_{uuid.uuid4().hex[:8]}",
    "mysql": lambda base: f"mysql://u:{SECRET}@host/db",
    "no host": lambda base: f"postgresql://u:{SECRET}@/nohost",
    "port not a number": lambda base: f"postgresql://u:{SECRET}@host:notaport/db",
    "port out of range": lambda base: f"postgresql://u:{SECRET}@127.0.0.1:99999/db",
    "unclosed bracket": lambda base: f"postgresql://u:{SECRET}@[::1/db",
}


@pytest.mark.slow(9)
@pytest.mark.parametrize("kind", SECRET_URLS)
def test_no_error_prints_the_store_password(postgres_url: str, store: Store, kind: str) -> None:
    base = postgres_url.split("?")[0].replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")
    url = SECRET_URLS[kind](base)
    commands = [["standings", ASLMS], ["season", "register", str(SEASONS / f"{ASLMS}.toml")],
                ["demo"], ["audit", "verify"], ["audit", "checkpoint"], ["projections", "status"],
                ["audit", "report", ASLMS, "--out", str(store.dir / "r.html")]]
    for command in commands:
        for how in ("flag", "env"):
            env = {"PADDOCK_LOG_LEVEL": "debug"}
            if how == "env":
                env["PADDOCK_STORE"] = url
            run = cli(*command, store=url if how == "flag" else None, env=env, cwd=store.dir)
            assert run.code != 0, (url, command, run.out)
            assert SECRET not in run.out + run.err, (url, command, run.err)
            assert "Traceback" not in run.err, (url, command, run.err)


# -- item 10: --out ---------------------------------------------------------------------------


def _char_device(path: Path) -> Path:
    """A private copy of /dev/full's device node: if it were replaced, nothing real is lost."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _targets(base: Path) -> Iterator[tuple[str, Path, str]]:
    yield "directory", (base / "dir"), "is a directory"
    yield "device", _char_device(base / "full"), "not a regular file"
    yield "fifo", _fifo(base / "fifo"), "not a regular file"
    yield "link to device", _symlink(base / "link-dev", base / "full"), "not a regular file"
    yield "link to directory", _symlink(base / "link-dir", base / "dir"), "is a directory"
    yield "missing parent", base / "nowhere" / "x.out", "does not exist"


OUT_COMMANDS = [
    ["audit", "report", ASLMS],
    ["audit", "checkpoint"],
    ["nats-config"],
    ["keys", "generate"],
]


@pytest.mark.parametrize("command", OUT_COMMANDS, ids=[" ".join(c[:2]) for c in OUT_COMMANDS])
def test_out_refuses_anything_but_a_regular_file_or_a_new_path(store: Store, command: list[str]) -> None:
    (store.dir / "dir").mkdir()
    store_arg = store.url if command[0] == "audit" else None
    for kind, target, message in list(_targets(store.dir)):
        before = os.lstat(target) if os.path.lexists(target) else None
        run = cli(*command, "--out", str(target), store=store_arg, timeout=20)
        refused(run, 1, "--out", message)
        after = os.lstat(target) if os.path.lexists(target) else None
        assert (before and after and before.st_mode == after.st_mode
                and before.st_ino == after.st_ino) or before is after is None, kind
        assert not (store.dir / "nowhere").exists()
    assert sorted(p.name for p in store.dir.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", OUT_COMMANDS[:3], ids=[" ".join(c[:2]) for c in OUT_COMMANDS[:3]])
def test_out_replaces_a_regular_file_atomically_and_follows_a_link_to_one(
        store: Store, command: list[str]) -> None:
    store_arg = store.url if command[0] == "audit" else None
    old = store.dir / "old.out"
    old.write_text("previous\n")
    link = _symlink(store.dir / "link.out", old)
    for target in (store.dir / "new.out", old, link):
        run = cli(*command, "--out", str(target), store=store_arg)
        assert run.code == 0, run.err
        assert target.read_text() != "previous\n" and target.stat().st_size > 0
    assert link.is_symlink() and link.resolve() == old.resolve()
    assert not [p for p in store.dir.iterdir() if p.name.endswith(".tmp")]


# -- item 11: stores that are not there or not stores ---------------------------------------

READ_COMMANDS = [
    ["standings", ASLMS], ["history", ASLMS], ["invitations", "lemans-2024"],
    ["entry-list", "lemans-2024"], ["audit", "explain", ASLMS, "--car", "91"],
    ["audit", "timeline", ASLMS], ["audit", "diff", ASLMS, "--from", "2024-01-01", "--to", "2024-02-01"],
    ["keys", "list"], ["projections", "rebuild"], ["projections", "status"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=[" ".join(c[:2]) for c in READ_COMMANDS])
def test_read_commands_on_a_missing_store_create_nothing(tmp_path: Path, command: list[str]) -> None:
    refused(cli(*command, cwd=tmp_path), 3, "no event log at paddock.db")
    missing = tmp_path / "sub" / "nope.db"
    missing.parent.mkdir()
    refused(cli(*command, store=f"sqlite:///{missing}", cwd=tmp_path), 3, f"no event log at {missing}")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub"]


def test_audit_report_on_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    refused(cli("audit", "report", ASLMS, "--out", str(tmp_path / "r.html"), cwd=tmp_path), 3,
            "no event log at paddock.db")
    assert list(tmp_path.iterdir()) == []


def test_files_that_are_not_stores(tmp_path: Path) -> None:
    text = tmp_path / "passwd"
    shutil.copy("/etc/passwd", text)
    digest = hashlib.sha256(text.read_bytes()).hexdigest()
    empty = tmp_path / "empty.db"
    empty.touch()
    cases = [
        ("sqlite:////etc/passwd", ["standings", ASLMS], "/etc/passwd is not a SQLite database"),
        (f"sqlite:///{text}", ["standings", ASLMS], "is not a SQLite database"),
        (f"sqlite:///{text}", ["season", "register", str(SEASONS / f"{ASLMS}.toml")],
         "is not a SQLite database"),
        (f"sqlite:///{tmp_path}", ["standings", ASLMS], "is a directory"),
        (f"sqlite:///{tmp_path}", ["season", "register", str(SEASONS / f"{ASLMS}.toml")],
         "is a directory"),
        (f"sqlite:///{empty}", ["history", ASLMS], "holds no event log"),
        (f"sqlite:///{text}", ["audit", "verify"], "is not a SQLite database"),
        (f"sqlite:///{text}", ["audit", "checkpoint"], "is not a SQLite database"),
        (f"sqlite:///{text}", ["projections", "rebuild"], "is not a SQLite database"),
        (f"sqlite:///{tmp_path}", ["audit", "verify"], "is a directory"),
    ]
    for url, command, message in cases:
        refused(cli(*command, store=url, cwd=tmp_path), 3, message)
    assert hashlib.sha256(text.read_bytes()).hexdigest() == digest
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "passwd"]


def test_an_unreadable_store_file() -> None:
    """Run as an unprivileged user (root reads any file), so the file really is unreadable."""
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    if as_user and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    base = Path(tempfile.mkdtemp(prefix="paddock-unreadable-"))
    try:
        base.chmod(0o755)
        locked = base / "locked.db"
        shutil.copy(SEASONS / f"{ASLMS}.toml", locked)
        locked.chmod(0)
        refused(cli("standings", ASLMS, store=f"sqlite:///{locked}", cwd=base, as_user=as_user), 3,
                f"cannot read the event log {locked}: Permission denied")
        assert sorted(p.name for p in base.iterdir()) == ["locked.db"]
    finally:
        shutil.rmtree(base)


# -- item 12: PostgreSQL stores that cannot be opened ---------------------------------------


@pytest.mark.slow(8)
@pytest.mark.postgres
def test_postgres_missing_database_schema_or_server_fail_fast(postgres_url: str) -> None:
    import psycopg

    base = postgres_url.split("?")[0]
    database = f"no_such_db_{uuid.uuid4().hex[:8]}"
    schema = f"no_such_schema_{uuid.uuid4().hex[:8]}"
    cases = [
        (base.rsplit("/", 1)[0] + f"/{database}", f'database "{database}" does not exist'),
        (f"{base}?schema={schema}", f'CREATE SCHEMA "{schema}"'),
        (base.replace(":5432/", f":{closed_port()}/"), "cannot connect to PostgreSQL at 127.0.0.1"),
    ]
    for url, message in cases:
        for command in (["standings", ASLMS], ["season", "register", str(SEASONS / f"{ASLMS}.toml")],
                        ["audit", "verify"], ["projections", "status"]):
            started = time.monotonic()
            run = cli(*command, store=url)
            elapsed = time.monotonic() - started
            refused(run, 3, message)
            # fast: no retry loop, no connect timeout; beside a process that only starts (a
            # loaded machine slows both alike, waiting for a server does not; the command also
            # imports the store driver: twice the start-up)
            started = time.monotonic()
            assert cli(*command, "--help").code == 0
            start_up = time.monotonic() - started
            assert elapsed < 2 * start_up + 3, f"{url}: {elapsed:.1f} s (start-up {start_up:.1f} s)"
    with psycopg.connect(base, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None


@pytest.mark.postgres
def test_postgres_read_on_an_empty_schema_creates_no_table(postgres_store: str) -> None:
    import psycopg

    refused(cli("standings", ASLMS, store=postgres_store), 3, "holds no event log")
    base, schema = postgres_store.split("?schema=")
    with psycopg.connect(base) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
    assert tables == []


def test_a_postgres_server_that_never_answers_fails_within_the_connect_timeout() -> None:
    """A socket that listens and never speaks: bounded by the 5 s connect timeout, then named."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        run = cli("standings", ASLMS, store=f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/test")
        elapsed = time.monotonic() - started
    refused(run, 3, f"cannot connect to PostgreSQL at 127.0.0.1:{port}", "timeout expired")
    assert SECRET not in run.err
    assert elapsed < 15, f"{elapsed:.1f} s"
