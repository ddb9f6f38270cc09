"""The publisher: live views newer than its published position → NATS subjects and the KV bucket.

Which views are published, and how each is split, is the catalog's (projections/catalog.py):
a view published per class becomes one message per class, any other view one message, whole.
Today that means, for each view the projection worker wrote after the publisher's position, in
log-position order:
- `standings/<championship>` becomes one message per class on
  `<prefix>.standings.<championship>.<class>`. Its body is the standings view narrowed to that
  class (every top-level field, `classes` holding the one class): byte-identical to the canonical
  JSON of `standings_view(state, championship, T, T, class_id)`.
- `invitations/<event>` goes whole to `<prefix>.invitations.<event>`.
- `entry-list/<event>` goes whole to `<prefix>.entry-list.<event>`.
Each body is also put in the KV bucket (`standings.<championship>.<class>`, `invitations.<event>`,
`entry-list.<event>`) so a late joiner reads the current state at once. Headers: `Paddock-Log-Position` (the log
position the state reflects: the body's `log_position`), `Paddock-As-Of`, `Paddock-Known-At`,
`Paddock-View`, and `Nats-Msg-Id` = `<view name>@<log position>[/<class>]`. A live view's body
is a function of the log prefix up to its `log_position`, so one id always names one content,
whatever batch (tracking position) the projection worker wrote it in.

Exactly-once on the stream, by two lines of defence:
1. a message whose body equals the key's current KV value, apart from `as_of`, `known_at` and
   `log_position`, is not sent again: only changes of state are published;
2. the stream publish comes before the KV put, with a msg id the stream deduplicates within its
   duplicate window: a crash between the two republishes under the same id and is dropped.
The published position is stored after everything of a position is out, so a crash anywhere
republishes at most that position, and those messages are caught by (1) or (2).

With several projection workers each writing its own partition groups at its own pace, a view
may be stored at a position below one already published; so the publisher publishes only up to
the position every group has reached (`infra.views.tracking.settled`): a view stored at or below
it is never stored again at or below it. And of several `serve` processes, one publishes at a
time: the holder of the publisher's lease (`Leadership`); another takes over when it dies.

View store calls block (SQLite, PostgreSQL): they run in worker threads (`asyncio.to_thread`),
which the view stores allow (one connection behind a lock).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from infra.nats_subjects import (
    DEFAULT_PREFIX,
    bucket_name,
    state_key,
    state_stream_name,
    state_subject,
    state_subjects,
)
from infra.views import StoredView, ViewStore
from infra.views.tracking import settled
from infra.workers.fence import Fence, StoppingError
from infra.workers.group_claims import Leadership
from infra.workers.outage import StoreOutage, is_outage
from projections.canonical import canonical_json
from projections.catalog import CATALOG, PER_CLASS, Catalog, View
from projections.standings_view import narrow_to_class

log = structlog.get_logger("paddock.publisher")

DUPLICATE_WINDOW = 15 * 60.0  # seconds: a restart within this republishes without duplicates
TRANSIENT = (NatsError, OSError, TimeoutError)


@dataclass(frozen=True)
class StateMessage:
    """One state publication: where it goes, its bytes, and its headers."""

    subject: str
    key: str
    body: bytes
    headers: dict[str, str]

    @property
    def msg_id(self) -> str:
        return self.headers["Nats-Msg-Id"]


def reflected_position(view: StoredView, data: dict[str, Any]) -> int:
    """The log position a view's state reflects: its body's, else where it was stored."""
    return int(data.get("log_position", view.position))


def _headers(view: StoredView, data: dict[str, Any], suffix: str = "") -> dict[str, str]:
    position = reflected_position(view, data)
    return {
        "Nats-Msg-Id": f"{view.name}@{position}{suffix}",
        "Paddock-View": view.name,
        "Paddock-Log-Position": str(position),
        "Paddock-As-Of": str(data["as_of"]),
        "Paddock-Known-At": str(data["known_at"]),
    }


def per_class_messages(view: StoredView, kind: View, key: str, prefix: str) -> list[StateMessage]:
    """One message per class, each the view narrowed to that class (every top-level field)."""
    data = json.loads(view.body)
    messages = []
    for block in data["classes"]:
        class_id = str(block["class"])
        messages.append(StateMessage(
            subject=state_subject(kind, key, class_id, prefix=prefix),
            key=state_key(kind, key, class_id),
            body=canonical_json(narrow_to_class(data, class_id)).encode(),
            headers=_headers(view, data, f"/{class_id}"),
        ))
    return messages


def whole_view_message(view: StoredView, subject: str, key: str) -> StateMessage:
    """A view published as it is stored (a target event's invitations or entry list)."""
    return StateMessage(subject=subject, key=key, body=view.body.encode(),
                        headers=_headers(view, json.loads(view.body)))


def messages_for(view: StoredView, prefix: str = DEFAULT_PREFIX,
                 catalog: Catalog = CATALOG) -> list[StateMessage]:
    """The messages a stored view becomes, as the catalog splits it; none for a view the
    catalog does not publish."""
    found = catalog.live(view.name)
    if found is None:
        log.warning("view not published: unknown kind", view=view.name)
        return []
    kind, key = found
    assert kind.publication is not None  # catalog.live answers published views only
    if kind.publication.split == PER_CLASS:
        return per_class_messages(view, kind, key, prefix)
    return [whole_view_message(view, state_subject(kind, key, prefix=prefix), state_key(kind, key))]


def by_position(views: list[StoredView]) -> Iterator[tuple[int, list[StoredView]]]:
    ordered = sorted(views, key=lambda v: (v.position, v.name))
    for position, group in itertools.groupby(ordered, key=lambda v: v.position):
        yield position, list(group)


class Publisher:
    """Publishes changed views; `run` polls, `wake` (from the event loop) cuts the wait short."""

    def __init__(self, nc: Client, view_store: ViewStore, name: str = "publisher",
                 prefix: str = DEFAULT_PREFIX, *, poll_interval: float = 1.0,
                 duplicate_window: float = DUPLICATE_WINDOW, fence: Fence | None = None,
                 catalog: Catalog = CATALOG, leadership: Leadership | None = None) -> None:
        self.js = nc.jetstream()
        self.catalog = catalog
        self.fence = fence or Fence()
        self.outage = StoreOutage(name)
        self.view_store = view_store
        self.name = name
        self.prefix = prefix
        self.bucket = bucket_name(prefix=prefix)
        self.stream = state_stream_name(prefix=prefix)
        self.poll_interval = poll_interval
        self.duplicate_window = duplicate_window
        self._kv: KeyValue | None = None
        self._wake = asyncio.Event()
        self.leadership = leadership

    def wake(self) -> None:
        """New views were written: publish now rather than at the next poll."""
        self._wake.set()

    async def ensure(self) -> KeyValue:
        """Create the state stream and the KV bucket if they do not exist yet."""
        if self._kv is None:
            await self._ensure_stream()
            self._kv = await self._ensure_bucket()
        return self._kv

    async def _ensure_stream(self) -> None:
        wanted = state_subjects(prefix=self.prefix, catalog=self.catalog)
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(StreamConfig(
                name=self.stream, subjects=wanted,
                duplicate_window=self.duplicate_window, storage=StorageType.FILE,
                description="Paddock standings, invitation and entry-list states, as published",
            ))
            return
        # a stream created by an earlier version lacks the subjects of newer views (entry lists):
        # without them a publish there finds no stream
        subjects = list(info.config.subjects or [])
        missing = [s for s in wanted if s not in subjects]
        if missing:
            await self.js.update_stream(dataclasses.replace(info.config,
                                                            subjects=[*subjects, *missing]))
            log.info("state stream subjects added", stream=self.stream, subjects=missing)

    async def _ensure_bucket(self) -> KeyValue:
        try:
            return await self.js.key_value(self.bucket)
        except BucketNotFoundError:
            return await self.js.create_key_value(
                bucket=self.bucket, history=1,
                description="Paddock latest standings, invitation and entry-list states",
            )

    async def publish_pending(self, stop: asyncio.Event | None = None) -> int:
        """Publish everything written after the published position (a burst); returns how many
        messages the stream took as new. Stops between positions once `stop` is set."""
        kv = await self.ensure()
        started, sent = time.perf_counter(), 0
        start = done = await self.fence.run(self.view_store.published_position, self.name)
        while not _is_set(stop) and (pending := await self._changed_since(done)):
            for position, views in by_position(pending):
                sent += await self._publish_position(kv, views)
                await self.fence.run(self.view_store.set_published, self.name, position)
                done = position
                if _is_set(stop):
                    break
        if done != start:
            log.info("published", publisher=self.name, from_position=start, to_position=done,
                     messages=sent, duration_ms=round((time.perf_counter() - started) * 1000, 2))
        return sent

    async def _changed_since(self, position: int) -> list[StoredView]:
        return await self.fence.run(self._settled_since, position)

    def _settled_since(self, position: int) -> list[StoredView]:
        """The views stored after `position` and at or below the settled position."""
        until = settled(self.view_store.tracking())
        return self.view_store.changed_since(position, until)

    async def _leads(self) -> bool:
        return self.leadership is None or await self.fence.run(self.leadership.lead)

    async def _publish_position(self, kv: KeyValue, views: list[StoredView]) -> int:
        sent = 0
        for view in views:
            for message in messages_for(view, self.prefix, self.catalog):
                sent += await self._publish(kv, message)
        return sent

    async def _publish(self, kv: KeyValue, message: StateMessage) -> int:
        if _same_state(await _current(kv, message.key), message.body):
            return 0
        ack = await self.js.publish(message.subject, message.body, headers=dict(message.headers))
        await kv.put(message.key, message.body)
        return 0 if ack.duplicate else 1

    async def run(self, stop: asyncio.Event) -> None:
        """Publish, then wait for a wake-up or the poll interval, until `stop` is set."""
        log.info("publisher started", publisher=self.name, prefix=self.prefix)
        while not stop.is_set():
            self._wake.clear()
            pause = self.poll_interval
            try:
                if await self._leads():
                    await self.publish_pending(stop)
                self.outage.succeeded()
            except StoppingError:
                break
            except TRANSIENT as error:
                log.warning("publish failed; retrying", publisher=self.name, error=repr(error))
            except Exception as error:  # the view store is down: wait, then try again
                if not is_outage(error):
                    raise
                pause = self.outage.failed(error)
            await self._idle(stop, pause)
        if self.leadership is not None:
            await asyncio.to_thread(self.leadership.close)
        log.info("publisher stopped", publisher=self.name)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


async def _current(kv: KeyValue, key: str) -> bytes | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    return entry.value


_HEADER_FIELDS = ("as_of", "known_at", "log_position")


def _same_state(current: bytes | None, body: bytes) -> bool:
    """Equal apart from the times and position it was computed at: nothing to tell anyone.
    (A standings view is rewritten whole when one class changes; the other classes stay put.)"""
    return current is not None and (current == body or _content(current) == _content(body))


def _content(raw: bytes) -> dict[str, Any]:
    state = json.loads(raw)
    for field in _HEADER_FIELDS:
        state.pop(field, None)
    return dict(state)


def _is_set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()
