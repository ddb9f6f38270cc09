"""The ingest worker: fetch from the durable consumer, append through the Ledger (in a thread),
answer the producer, dead-letter what is rejected, and only then acknowledge.

The ingest stream has one durable consumer per partition group (infra/nats_ingest.py). A worker
given `claims` works only on the groups it holds a lease on (infra/workers/group_claims.py),
re-settled every `claim_every` seconds: it takes a fair share, and a dead worker's groups once
their leases are released. Before it fetches from a group it has just taken, it waits until the
messages the previous holder had fetched and not acknowledged are due again (at most the ack
wait), so that they are redelivered to it before the ones behind them: a group's messages are
handled in stream order. A worker without `claims` works on every group (one worker alone;
several such workers share each consumer, as before issue 10, without the order). A worker's
batches are appended one at a time (one Ledger), whichever group they come from; the rest of a
batch's work is kept out of that turn so the appends follow each other without a gap: the next
batch is fetched (infra/nats_fetch.py: one wait per batch, not per message) and validated (in
another thread) while one is appended, and a batch is answered (infra/workers/ingest_answers.py)
while the next is appended.

A message is acknowledged only after its facts
(and its receipt) are durably appended; a redelivery finds the receipt and is a duplicate. While
a batch is worked on, in-progress acks keep the broker from redelivering it, so the ack wait can
be short and a killed worker's batch comes back promptly. A message with a malformed header is
rejected alone (`bad_header`); nothing one message carries may stop the rest of its batch.

A store outage is our fault, not the producer's: the messages in hand are handed back to the
broker (nak with a delay, never dead-lettered), the worker stops fetching and probes the store
with a growing pause until it answers, then goes on (`infra.workers.outage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from infra.config import LEASE_SECONDS
from infra.nats_fetch import fetch_batch
from infra.nats_ingest import IngestTopology
from infra.workers.fence import Fence, StoppingError
from infra.workers.group_claims import GroupClaims
from infra.workers.group_tasks import GroupTasks
from infra.workers.ingest_answers import Answers
from infra.workers.outage import StoreOutage, is_outage
from services.ingest import REJECTED, IngestResult, IngestService
from services.ingest_headers import REPLY_TO

REPLY_HEADER = REPLY_TO
CLAIM_EVERY = LEASE_SECONDS
"""Seconds between two settlements of a worker's claims (the lease period): with the ack wait,
the bound on how long a dead worker's groups wait for a new holder."""
log = structlog.get_logger("paddock.ingest")
REDELIVERY_MARGIN = 2.0
"""Seconds past the ack wait before a new holder of a group fetches: nats-server queues expired
messages for redelivery on a timer, which a loaded machine delays (0.5 s was seen too short at
load 12: new messages came before the expired ones, out of the group's order)."""


class IngestWorker:
    def __init__(self, nc: Client, service: IngestService, topology: IngestTopology, *,
                 batch: int = 64, poison_after: int = 5, retry_delay: float = 0.5,
                 on_appended: Callable[[], None] = lambda: None,
                 fence: Fence | None = None, claims: GroupClaims | None = None,
                 claim_every: float = CLAIM_EVERY) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.service = service
        self.topology = topology
        self.batch = batch
        self.answers = Answers(nc, self.js, topology,
                               poison_after=min(poison_after, topology.max_deliver),
                               retry_delay=retry_delay)
        self.on_appended = on_appended
        self.fence = fence or Fence()
        self.claims = claims
        self.claim_every = claim_every
        self.outage = StoreOutage("ingest")
        self._pause = 0.0
        self._turn = asyncio.Lock()  # one batch at a time through the service
        self._ahead = asyncio.Lock()  # one batch at a time validated (ahead of its turn)
        self._probe = asyncio.Lock()  # one store probe at a time during an outage
        self._last_work = 0.0
        self.handled = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; the batches in flight are finished before returning, and
        the leases given back after."""
        await self.topology.ensure(self.js)
        tasks = GroupTasks(lambda group, done: self._work_group(group, stop, done, wait=True),
                           "ingest-group")
        try:
            if self.claims is None:
                for group in range(self.topology.leases):
                    tasks.start(group)
            while not stop.is_set():
                if self.claims is not None:
                    await self._settle_claims(tasks)
                await _sleep_unless(stop, self.claim_every)
                failure = tasks.failure()
                if failure is not None:
                    raise failure
        finally:
            await tasks.stop()
            if self.claims is not None:
                await asyncio.to_thread(self.claims.close)

    async def _settle_claims(self, tasks: GroupTasks) -> None:
        """Settle the claims: start the groups taken, stop (then give up) those over the share,
        stop all when the leases were lost with their store connection."""
        assert self.claims is not None
        claims = self.claims
        try:
            plan = await asyncio.to_thread(claims.settle)
        except Exception as error:  # noqa: BLE001 - the store is down: no group until it is back
            await tasks.stop()
            await asyncio.to_thread(claims.close)  # start afresh: hold nothing not worked on
            log.warning("ingest.claims_failed", error=repr(error))
            return
        if plan.lost:
            await tasks.stop()
            log.warning("ingest.leases_lost", reason="the store connection holding them closed")
            return
        await tasks.stop(list(plan.give_up))
        for group in plan.give_up:
            await asyncio.to_thread(claims.release, group)
        await tasks.stop([g for g in tasks.groups if g not in claims.held])
        for group in sorted(claims.held):  # what is held is worked on, whatever happened before
            tasks.start(group)
        if plan.start or plan.give_up:
            log.info("ingest.groups", taken=list(plan.start), given_up=list(plan.give_up),
                     held=tasks.groups, live_workers=plan.live)

    async def _work_group(self, group: int, stop: asyncio.Event, done: asyncio.Event, *,
                          wait: bool, idle: float | None = None) -> None:
        """Fetch and handle one group's messages until `stop` or `done` is set (or, with
        `idle`, until no worker's group had a message for that long)."""
        if wait and not await self._after_previous_holder(group, done):
            return
        psub = await self._bind(group, stop, done)
        if psub is None:
            return
        failures = 0
        try:
            while not stop.is_set() and not done.is_set():
                if self.outage.down and not await self._store_is_back(stop):
                    continue
                try:
                    await self._fetch_and_handle(psub, timeout=min(idle or 0.5, 0.5))
                    failures = 0
                except (NatsError, OSError) as error:  # broker trouble: back off, keep going
                    failures += 1
                    log.warning("ingest.broker_error", error=repr(error), failures=failures)
                    await _sleep_unless(stop, min(10.0, 0.2 * 2 ** failures))
                if idle is not None and _now() - self._last_work >= idle:
                    return
        finally:
            with contextlib.suppress(NatsError, OSError):
                await psub.unsubscribe()

    async def _bind(self, group: int, stop: asyncio.Event, done: asyncio.Event
                    ) -> JetStreamContext.PullSubscription | None:
        """The group's pull subscription, retried while the broker is unreachable (None: told
        to stop meanwhile): a rebalance during a broker outage must not stop the worker."""
        failures = 0
        while not stop.is_set() and not done.is_set():
            try:
                return await self.js.pull_subscribe_bind(self.topology.durable_of(group),
                                                         self.topology.stream)
            except (NatsError, OSError) as error:
                failures += 1
                log.warning("ingest.broker_error", error=repr(error), group=group,
                            failures=failures)
                await _sleep_unless(done, min(10.0, 0.2 * 2 ** failures))
        return None

    async def _after_previous_holder(self, group: int, done: asyncio.Event) -> bool:
        """Wait until the messages a previous holder fetched and never acknowledged are due
        again (at most the ack wait, plus `REDELIVERY_MARGIN` for the server to queue them):
        redelivered first, they keep the group's order. False if told to stop meanwhile."""
        durable = self.topology.durable_of(group)
        deadline = _now() + self.topology.ack_wait + REDELIVERY_MARGIN
        while not done.is_set():
            try:
                unacked = (await self.js.consumer_info(self.topology.stream, durable)
                           ).num_ack_pending
            except (NatsError, OSError) as error:  # unknown: wait as if some were held
                unacked = None
                log.warning("ingest.broker_error", error=repr(error), group=group)
            if unacked == 0 or _now() >= deadline:
                return True
            log.info("ingest.group_waits", group=group, unacknowledged=unacked)
            await _sleep_unless(done, 0.25)
        return False

    async def _store_is_back(self, stop: asyncio.Event) -> bool:
        """After a pause, ask the store for its head; True once it answers (one group's task
        probes, the others wait for its answer)."""
        async with self._probe:
            if not self.outage.down:
                return True
            await _sleep_unless(stop, self._pause)
            try:
                await self.fence.run(self.service.ledger.head)
            except StoppingError:
                return False
            except Exception as error:
                if not is_outage(error):
                    raise
                self._pause = self.outage.failed(error)
                return False
            self.outage.succeeded()
            return True

    async def run_until_idle(self, idle: float = 0.5) -> int:
        """Burst mode: handle messages of every group until none arrives for `idle` seconds."""
        await self.topology.ensure(self.js)
        before = self.handled
        self._last_work = _now()
        never = asyncio.Event()
        await asyncio.gather(*(self._work_group(group, never, never, wait=False, idle=idle)
                               for group in range(self.topology.leases)))
        return self.handled - before

    async def _fetch_and_handle(self, psub: JetStreamContext.PullSubscription, timeout: float) -> int:
        try:
            msgs: list[Msg] = in_stream_order(await fetch_batch(psub, self.batch, timeout))
        except (NatsTimeout, TimeoutError):
            return 0
        async with self._in_progress(msgs):
            await self._handle(msgs, time.perf_counter())
        self._last_work = _now()
        return len(msgs)

    @contextlib.asynccontextmanager
    async def _in_progress(self, msgs: list[Msg]) -> AsyncIterator[None]:
        """While the batch is being worked on, tell the broker so every `progress_every`
        seconds: the ack wait can then be short, and what a killed worker held comes back
        promptly, without a long batch being redelivered under a live one."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.topology.progress_every)
                try:
                    for msg in msgs:
                        if not msg.is_acked:
                            await msg.in_progress()
                except NatsError as error:  # the ack or the next fetch will say more
                    log.warning("ingest.progress_failed", error=repr(error))

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _handle(self, msgs: list[Msg], started: float) -> None:
        """Append the batch, then answer its messages. Only the append takes the worker's
        turn: the answers (replies, acks) go out on the event loop while the thread appends
        the next batch (another group's, fetched meanwhile)."""
        msgs = await self._refuse_bad_replies(msgs, started)
        if not msgs:
            return
        try:
            results = await self._process(msgs)
        except StoppingError:
            await self._hand_back(msgs)
            return
        except Exception as error:  # noqa: BLE001 - isolate the failing message, lose nothing
            if is_outage(error):
                await self._hand_back(msgs, error)
            else:
                await self._one_by_one(msgs, started)
            return
        await asyncio.sleep(0)  # the batch waiting for the turn goes to the thread first
        logger = log.bind()  # once per batch: binding the lazy proxy costs more than the line
        for msg, result in zip(msgs, results, strict=True):
            await self._settle(msg, result, time.perf_counter() - started, logger)
        if any(r.status != REJECTED for r in results):
            self.on_appended()

    async def _process(self, msgs: list[Msg]) -> list[IngestResult]:
        """The service's work on these messages, in threads: validated while the batch before
        is appended (one batch validated ahead), then appended in the worker's turn."""
        deliveries = self.answers.deliveries(msgs)
        async with self._ahead:
            validated = await self.fence.run(self.service.validate, deliveries)
        async with self._turn:
            return await self.fence.run(self.service.process_batch, deliveries, validated)

    async def _refuse_bad_replies(self, msgs: list[Msg], started: float) -> list[Msg]:
        """Reject (dead-letter, never record) each message whose reply subject is malformed or
        not its sender's own inbox, alone; return the others."""
        rest = []
        for msg in msgs:
            result = self.answers.bad_reply(msg)
            if result is None:
                rest.append(msg)
            else:
                await self._settle(msg, result, time.perf_counter() - started)
        return rest

    async def _one_by_one(self, msgs: list[Msg], started: float) -> None:
        """A batch failed: handle its messages singly so one poison message (or a store outage)
        holds back only itself; it is retried later and dead-lettered after `poison_after`."""
        for index, msg in enumerate(msgs):
            try:
                [result] = await self._process([msg])
            except StoppingError:
                await self._hand_back(msgs[index:])
                return
            except Exception as error:  # noqa: BLE001 - retried with growing delays
                if is_outage(error):
                    await self._hand_back(msgs[index:], error)
                    return
                await self.answers.retry_later([msg], error)
                continue
            await self._settle(msg, result, time.perf_counter() - started)
            if result.status != REJECTED:
                self.on_appended()

    async def _hand_back(self, msgs: list[Msg], outage: BaseException | None = None) -> None:
        """Not handled through no fault of theirs (the store is down, or the service stops):
        redelivered later, not counted against the message, never dead-lettered."""
        if outage is not None:
            self._pause = self.outage.failed(outage)
        await self.answers.hand_back(
            msgs, self._pause if outage is not None else 0.0,
            "store unavailable" if outage is not None else "stopping")

    async def _settle(self, msg: Msg, result: IngestResult, seconds: float,
                      logger: Any = log) -> None:
        await self.answers.settle(msg, result, seconds, logger)
        self.handled += 1


def in_stream_order(msgs: list[Msg]) -> list[Msg]:
    """A batch in the order the stream holds its messages. A consumer delivers new messages in
    that order, but what a killed holder had fetched comes back as its parts expire: the part
    it was appending (kept alive by progress beats) after the part still waiting, so a group's
    classifications came back before their championship's registration (and were refused)."""
    return sorted(msgs, key=_stream_sequence)


def _stream_sequence(msg: Msg) -> int:
    try:
        return int(msg.metadata.sequence.stream)
    except (AttributeError, ValueError, TypeError):  # not a JetStream delivery: as it came
        return 0


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
