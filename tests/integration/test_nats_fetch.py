"""infra/nats_fetch.py against a real nats-server: the batch read gives what nats-py's fetch
gives (the consumer's messages in order, at most `batch`, a timeout when idle)."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from infra.nats_fetch import fetch_batch, has_fast_path


async def pull(nc: Client, prefix: str) -> tuple[JetStreamContext, JetStreamContext.PullSubscription]:
    js = nc.jetstream()
    stream = f"{prefix.upper()}_FETCH"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.fetch.>"]))
    await js.add_consumer(stream, ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT,
                                                 ack_wait=30.0))
    return js, await js.pull_subscribe_bind("d", stream)


async def publish(js: JetStreamContext, prefix: str, numbers: range) -> None:
    for n in numbers:
        await js.publish(f"{prefix}.fetch.{n}", str(n).encode())


async def test_batches_come_in_stream_order_and_at_most_the_batch(nc: Client,
                                                                   nats_prefix: str) -> None:
    js, psub = await pull(nc, nats_prefix)
    assert has_fast_path(psub), "this nats-py's internals changed: fetch_batch used its fetch"
    await publish(js, nats_prefix, range(150))
    got: list[int] = []
    sizes = []
    while len(got) < 150:
        msgs = await fetch_batch(psub, 64, timeout=5.0)
        sizes.append(len(msgs))
        got += [int(m.data) for m in msgs]
        for m in msgs:
            await m.ack()
    assert got == list(range(150))
    assert max(sizes) <= 64
    await nc.flush()
    info = await psub.consumer_info()
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_fewer_than_the_batch_are_returned_without_waiting_out_the_timeout(
        nc: Client, nats_prefix: str) -> None:
    js, psub = await pull(nc, nats_prefix)
    await publish(js, nats_prefix, range(5))
    async with asyncio.timeout(20):  # the request must not linger for its 60 s
        msgs = await fetch_batch(psub, 64, timeout=60.0)
    assert [int(m.data) for m in msgs] == list(range(5))


async def test_an_idle_consumer_times_out_then_gives_what_comes_next(nc: Client,
                                                                     nats_prefix: str) -> None:
    js, psub = await pull(nc, nats_prefix)
    with pytest.raises(NatsTimeout):
        await fetch_batch(psub, 64, timeout=0.3)
    waiting = asyncio.create_task(fetch_batch(psub, 64, timeout=30.0))
    await publish(js, nats_prefix, range(3))
    msgs = await waiting
    more = [] if len(msgs) == 3 else await fetch_batch(psub, 64, timeout=5.0)
    assert [int(m.data) for m in msgs + more] == [0, 1, 2]
