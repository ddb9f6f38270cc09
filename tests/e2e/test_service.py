"""The whole service as an operator runs it: `paddock serve` (all roles) in a subprocess, the
season sent with `paddock produce`, a late subscriber, a live update, a query over NATS."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from infra.nats_subjects import bucket_name, query_subject, standings_subject
from services import contracts as c
from services.demo import DEMO_STEWARD
from services.message_signing import signed
from services.timing_messages import message
from tests.e2e.conftest import CliRunner
from tests.waiting import DEADLINE, logged

pytestmark = pytest.mark.nats
PADDOCK = str(Path(sys.executable).with_name("paddock"))
GT_KEY = "standings.aslms-2023-24.GT"


@pytest.fixture
def service(tmp_path: Path, nats_url: str, nats_prefix: str) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "serve.log").open("wb")
    keys = subprocess.run([PADDOCK, "keys", "demo", "--store", f"sqlite:///{tmp_path / 'e2e.db'}"],
                          capture_output=True, check=False)  # the demo decisions are signed
    assert keys.returncode == 0, keys.stderr
    proc = subprocess.Popen(
        [PADDOCK, "serve", "--store", f"sqlite:///{tmp_path / 'e2e.db'}", "--nats-url", nats_url,
         "--prefix", nats_prefix, "--grace", "5"],
        stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PADDOCK_LOG_FORMAT": "json"},
    )
    try:
        assert logged(tmp_path / "serve.log", "serve.started", proc), (tmp_path / "serve.log").read_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def produce(paddock: CliRunner, nats_url: str, prefix: str, *extra: str) -> list[dict[str, object]]:
    run = paddock("produce", "--nats-url", nats_url, "--prefix", prefix, "--json", *extra, store_url=None)
    assert run.code == 0, run.err + run.out
    return list(json.loads(run.out))


async def wait_for_kv(nats_url: str, prefix: str, key: str, until: object) -> dict[str, object]:
    nc = await nats.connect(nats_url)
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                kv = await nc.jetstream().key_value(bucket_name(prefix=prefix))
                body = json.loads((await kv.get(key)).value or b"{}")
            except NatsError:  # bucket or key not there yet
                body = {}
            if body and until(body):  # type: ignore[operator]
                return dict(body)
            await asyncio.sleep(0.2)
        raise AssertionError(f"{key} never reached the expected state")
    finally:
        await nc.close()


def gt(body: dict[str, object]) -> list[tuple[str, object]]:
    """The first two of a class message (or of a class block): car and points."""
    block = body["classes"][0] if "classes" in body else body  # type: ignore[index]
    return [(r["car"], r["points"]) for r in block["rows"]][:2]  # type: ignore[index]


async def test_serve_produce_subscribe_and_query(service: subprocess.Popen[bytes], paddock: CliRunner,
                                                 nats_url: str, nats_prefix: str) -> None:
    replies = await asyncio.to_thread(produce, paddock, nats_url, nats_prefix)
    assert {r["status"] for r in replies} == {"accepted"}
    again = await asyncio.to_thread(produce, paddock, nats_url, nats_prefix, "--resend", "1")
    assert {r["status"] for r in again} == {"duplicate"}

    # A subscriber joining after the season gets the current state from the KV bucket at once.
    late = await wait_for_kv(nats_url, nats_prefix, GT_KEY, lambda b: gt(b) == [("91", 76), ("88", 74)])
    position = int(late["log_position"])  # type: ignore[call-overload]

    # Live updates afterwards, in log order: the stewards disqualify #91 at R5.
    nc = await nats.connect(nats_url)
    updates: asyncio.Queue[Msg] = asyncio.Queue()
    await nc.subscribe(standings_subject("aslms-2023-24", "GT", prefix=nats_prefix), cb=updates.put)
    dsq = message(signed(c.PenaltyImposedV1.model_validate({
        "championship": "aslms-2023-24", "round": 5, "car": "91", "decision": "disqualification",
        "reference": "R5-late-dsq", "effective_at": "2024-03-01T12:00:00Z"}), DEMO_STEWARD),
        nats_prefix)
    ack = await nc.jetstream().publish(dsq.subject, dsq.body, headers={"Nats-Msg-Id": "late-dsq-1"})
    assert not ack.duplicate
    update = await asyncio.wait_for(updates.get(), DEADLINE)
    fresh = json.loads(update.data)
    assert int(update.headers["Paddock-Log-Position"]) > position
    assert gt(fresh)[0] == ("88", 74)
    rows = {r["car"]: r for r in fresh["classes"][0]["rows"]}
    assert rows["91"]["rounds"][-1]["status"] == "disqualified"
    assert rows["91"]["points"] == 76 - 18  # its R5 second place (18 points) is gone

    # The same question over NATS and on the command line gets the same answer.
    reply = await nc.request(query_subject("standings", prefix=nats_prefix),
                             json.dumps({"championship": "aslms-2023-24", "class": "GT",
                                         "as_of": "2024-02-11T19:00:00+04:00",
                                         "known_at": "2030-01-01T00:00:00Z"}).encode(), timeout=DEADLINE)
    answer = json.loads(reply.data)
    assert gt(answer) == [("91", 73), ("88", 67)]
    await nc.close()

    service.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(service.wait, 60) == 0
