"""A cheaper `PullSubscription.fetch` for a busy consumer: one pull request, then the batch read
from the subscription's queue under one deadline.

nats-py's `fetch(n)` waits for each of the n messages with `Subscription.next_msg`, which makes
a uuid4 (an `os.urandom` call), a task and an `asyncio.wait_for` (another task, a timer) per
message: about 100 µs of the event loop's time per message, most of what bare fetch+ack costs,
taken from the thread appending the previous batch (they share the GIL). Here the messages the
request brings are taken from the same queue, in the same order, with the same handling of
status messages; only the waiting is done once per batch.

The fast path is the no-wait request (what the broker has now, up to `batch`, ended by a
"no messages" status when it has fewer). When it brings nothing, the consumer is idle and
nats-py's own `fetch` does the lingering wait: an idle consumer costs nothing worth saving.
This reads nats-py's subscription internals (`_sub`, `_nms`, `_deliver`); a nats-py without
them gets its own `fetch` (tests/integration/test_nats_fetch.py fails if so).
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import APIError

_ENDS_REQUEST = (api.StatusCode.NO_MESSAGES, api.StatusCode.REQUEST_TIMEOUT,
                 api.StatusCode.CONFLICT)
"""Statuses that end a pull request (or a stale one from an earlier request): no more
messages will come for it."""


def has_fast_path(psub: JetStreamContext.PullSubscription) -> bool:
    """Whether this nats-py's pull subscription has the internals `fetch_batch` reads."""
    sub = getattr(psub, "_sub", None)
    return (isinstance(getattr(psub, "_nms", None), str)
            and isinstance(getattr(psub, "_deliver", None), str)
            and isinstance(getattr(sub, "_pending_queue", None), asyncio.Queue)
            and isinstance(getattr(sub, "_pending_size", None), int))


async def fetch_batch(psub: JetStreamContext.PullSubscription, batch: int,
                      timeout: float) -> list[Msg]:
    """Up to `batch` messages, in the consumer's order, as `psub.fetch(batch, timeout)`
    returns them (nats' TimeoutError when none came within `timeout`)."""
    if not has_fast_path(psub):
        return await psub.fetch(batch, timeout=timeout)
    msgs = _waiting(psub, batch)  # left in the queue by an earlier, expired request
    if len(msgs) < batch:
        await psub._nc.publish(psub._nms, _request(batch - len(msgs)), psub._deliver)
        try:
            async with asyncio.timeout(timeout):
                await _receive(psub, msgs, batch)
        except TimeoutError:
            pass
    if msgs:
        return msgs
    try:
        return await psub.fetch(batch, timeout=timeout)  # idle: nats-py's lingering request
    except TimeoutError as error:  # nats-py lets asyncio's through when its wait_for times out
        if isinstance(error, NatsTimeout):
            raise
        raise NatsTimeout from error


def _request(batch: int) -> bytes:
    """A no-wait pull request: what the consumer has now, up to `batch`, then a status. No
    `expires`: with one the server would hold the request open until it expires."""
    return json.dumps({"batch": batch, "no_wait": True}).encode()


def _waiting(psub: JetStreamContext.PullSubscription, batch: int) -> list[Msg]:
    queue = psub._sub._pending_queue
    msgs: list[Msg] = []
    while len(msgs) < batch and not queue.empty():
        msg = _taken(psub, queue.get_nowait())
        if msg is not None:
            msgs.append(msg)
    return msgs


async def _receive(psub: JetStreamContext.PullSubscription, msgs: list[Msg], batch: int) -> None:
    """Append the request's messages to `msgs` until `batch` are there or a status ends it."""
    queue = psub._sub._pending_queue
    while len(msgs) < batch:
        raw = await queue.get()
        status = JetStreamContext.is_status_msg(raw)
        msg = _taken(psub, raw)
        if msg is not None:
            msgs.append(msg)
        elif status in _ENDS_REQUEST:
            return


def _taken(psub: JetStreamContext.PullSubscription, msg: Msg) -> Msg | None:
    """Account for a message taken off the queue, as `next_msg` does; None for a status
    message (heartbeats and request ends are skipped; any other status is an error)."""
    sub = psub._sub
    sub._pending_size -= len(msg.data)
    sub._pending_queue.task_done()
    status = JetStreamContext.is_status_msg(msg)
    if not status:
        return msg
    if status == api.StatusCode.CONTROL_MESSAGE or status in _ENDS_REQUEST:
        return None
    raise APIError.from_msg(msg)
