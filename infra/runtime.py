"""`paddock serve`: the process runtime. Starts the chosen roles, stops them on SIGTERM/SIGINT by
letting in-flight work finish within a bounded grace period, then cancels what is left."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError

from infra.bootstrap import open_ledger
from infra.config import ServeConfig, redact_url
from infra.nats_ingest import IngestTopology
from infra.workers.fence import Fence, StoppingError
from infra.workers.group_claims import claims_for
from infra.workers.ingest_worker import IngestWorker
from infra.workers.outage import StoreOutage, is_outage
from services.ingest import IngestService
from services.ledger import Ledger

T = TypeVar("T")
log = structlog.get_logger("paddock.serve")
STORE_THREADS = 32
SETTLE_AT_LEAST = 3.0  # seconds for store calls in flight to fail once their stores are closed


async def connect(config: ServeConfig, *, attempts: int = -1,
                  errors: list[Exception] | None = None, client: Client | None = None) -> Client:
    """Connect with the credentials of the configuration (a creds file, else user and password)
    and its user's inbox prefix. `attempts` < 0 retries forever (the service waits for its
    server); the server's errors (refused credentials, permission violations) are logged once
    per change, never a secret, and appended to `errors` when given."""
    nc = client or Client()
    await nc.connect(**_options(config, attempts, errors))
    return nc


def _options(config: ServeConfig, attempts: int, errors: list[Exception] | None) -> dict[str, Any]:
    last: list[str] = []  # the error logged last: a retry loop logs a new error, not each retry

    async def on_error(error: Exception) -> None:
        if errors is not None:
            errors.append(error)
        said = str(error) or type(error).__name__
        if last != [said]:
            last[:] = [said]
            log.warning("nats.error", error=said)

    async def on_disconnected() -> None:
        log.warning("nats.disconnected", nats=redact_url(config.nats_url))

    async def on_reconnected() -> None:
        last.clear()
        log.info("nats.reconnected", nats=redact_url(config.nats_url))

    options: dict[str, Any] = {"servers": [config.nats_url], "name": "paddock",
                               "max_reconnect_attempts": attempts, "connect_timeout": 5,
                               "error_cb": on_error, "disconnected_cb": on_disconnected,
                               "reconnected_cb": on_reconnected}
    if config.nats_inbox_prefix:
        options["inbox_prefix"] = config.nats_inbox_prefix
    if config.nats_creds:
        options["user_credentials"] = config.nats_creds
    elif config.nats_user:
        options.update(user=config.nats_user, password=config.nats_password or "")
    return options


async def connect_unless_stopped(config: ServeConfig, stop: asyncio.Event) -> Client | None:
    """Connect, retrying until the server answers or `stop` is set (then None): a service
    waiting for its server must still obey SIGTERM."""
    log.info("nats.connecting", nats=redact_url(config.nats_url))
    nc = Client()
    try:
        return await unless_stopped(stop, connect(config, client=nc))
    except StoppingError:
        await close_quietly(nc)
        return None


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """The result of `work`, or StoppingError as soon as `stop` is set (`work` is cancelled;
    a thread it waits on runs on, tracked by the fence if it went through it)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise StoppingError("the service is stopping")


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


@dataclass
class _Roles:
    """What `serve` started: the role tasks, what to close at the end, the stores it opened,
    and the fence every store call of the roles goes through."""

    config: ServeConfig
    nc: Client
    stop: asyncio.Event
    fence: Fence
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    ledgers: list[Ledger] = field(default_factory=list)

    async def ledger(self) -> Ledger:
        ledger = await self.open_store(open_ledger, self.config.store_url)
        self.ledgers.append(ledger)
        return ledger

    async def open_store(self, opener: Callable[[str], T], url: str) -> T:
        """Open a store, waiting for its database while it is down (logged once) unless the
        service is stopped meanwhile (StoppingError)."""
        outage = StoreOutage("serve")
        while True:
            try:
                store = await unless_stopped(self.stop, self.fence.run(opener, url))
            except Exception as error:
                if not is_outage(error):
                    raise
                pause = outage.failed(error)
            else:
                outage.succeeded()
                return store
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), pause)

    def start(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.create_task(work, name=name))


async def serve(config: ServeConfig, stop: asyncio.Event | None = None,
                ready: Callable[[], None] = lambda: None,
                started: Callable[[], None] = lambda: None) -> None:
    """`started` runs once the roles are started, before the service says it is ready (the
    process's collector settings, infra/collector.py); `ready` right after."""
    stop = stop or asyncio.Event()
    install_signal_handlers(stop)
    # store calls stuck on a dead database each hold a thread: the default pool (CPUs + 4)
    # could run out, and shutdown would wait for a free thread to close the stores
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="paddock-store"))
    nc = await connect_unless_stopped(config, stop)
    if nc is None:
        log.info("serve.stopped", connected=False)
        return
    structlog.contextvars.bind_contextvars(prefix=config.prefix)
    roles = _Roles(config, nc, stop, Fence(stop))
    try:
        wake = await _start_views(roles)
        for index in range(config.ingest_workers if "ingest" in config.roles else 0):
            worker = await _ingest_worker(roles, wake)
            roles.start(f"ingest-{index}", worker.run(stop))
        if "queries" in config.roles:
            roles.closers.append(await _start_queries(roles))
        if "checkpoints" in config.roles:
            await _start_checkpoints(roles)
        started()
        log.info("serve.started", roles=list(config.roles), nats=redact_url(config.nats_url),
                 store=redact_url(config.store_url), ingest_workers=config.ingest_workers,
                 checkpoint_every=config.checkpoint_every)
        ready()
        await _until_stopped(stop, roles.tasks)
    except StoppingError:
        pass  # stopped while waiting for the database at start-up
    finally:
        await _shut_down(roles)
        log.info("serve.stopped")


async def _shut_down(roles: _Roles) -> None:
    """Within the grace period: no store call starts any more, the roles finish what they hold
    (then are cancelled), the stores are closed (a call stuck on a dead database fails at once),
    the calls still in flight are awaited, and NATS is drained: nothing is written after."""
    deadline = asyncio.get_running_loop().time() + roles.config.grace_seconds
    roles.fence.close()
    await _drain(roles.tasks, roles.closers, deadline)
    for ledger in roles.ledgers:
        await asyncio.to_thread(ledger.close)
    left = await asyncio.to_thread(roles.fence.settle, max(_left(deadline), SETTLE_AT_LEAST))
    if left:
        log.warning("serve.store_calls_unfinished", calls=left)
    await _close(roles.nc, deadline)


async def _until_stopped(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for a stop signal; a role that dies stops the whole process (no silent half-service)."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("serve.role_failed", role=task.get_name(), error=repr(task.exception()))
            stop.set()
    stopper.cancel()


def _where(task: asyncio.Task[None]) -> str:
    """Where a task waits (its innermost frame): what held a role past the grace period."""
    frames = task.get_stack()
    return f"{frames[-1].f_code.co_filename}:{frames[-1].f_lineno}" if frames else "?"


def _left(deadline: float) -> float:
    return max(0.0, deadline - asyncio.get_running_loop().time())


async def _drain(tasks: list[asyncio.Task[None]], closers: list[Callable[[], Awaitable[None]]],
                 deadline: float) -> None:
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=_left(deadline) or None)
        for task in late:
            log.warning("serve.cancelled_after_grace", role=task.get_name(), at=_where(task))
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    for close in closers:
        await close()


async def _close(nc: Client, deadline: float) -> None:
    """Flush what was published (replies, dead letters) within the grace period; a connection
    that is down (reconnecting) has nothing to flush and is closed at once."""
    if nc.is_connected:
        try:
            await asyncio.wait_for(nc.drain(), timeout=max(0.1, _left(deadline)))
            return
        except (TimeoutError, asyncio.CancelledError, NatsError):
            log.warning("serve.drain_timeout")
    await close_quietly(nc)


async def close_quietly(nc: Client) -> None:
    """Close a connection whose transport may be gone already (nothing left to flush)."""
    with contextlib.suppress(OSError, NatsError):
        await nc.close()


async def _ingest_worker(roles: _Roles, wake: Callable[[], None]) -> IngestWorker:
    """A worker on the ingest groups it claims (docs/SERVICE.md, Ingest groups): every worker
    of every `serve` process on the store takes a fair share."""
    config = roles.config
    topology = IngestTopology(prefix=config.prefix)
    service = IngestService(await roles.ledger(), prefix=config.prefix)
    claims = claims_for(config.store_url, "ingest", topology.leases, scope=config.prefix)
    return IngestWorker(roles.nc, service, topology, on_appended=wake, fence=roles.fence,
                        claims=claims, claim_every=config.ingest_claim_every)


async def _start_queries(roles: _Roles) -> Callable[[], Awaitable[None]]:
    from infra.workers.query_service import start_query_service

    service = await start_query_service(roles.nc, await roles.ledger(), prefix=roles.config.prefix)
    return service.stop


async def _start_checkpoints(roles: _Roles) -> None:
    """The checkpoint publisher; skipped (with a warning) on memory://, which keeps no chain."""
    from infra.chain import chain_of, store_identity
    from infra.workers.checkpoint_publisher import CheckpointPublisher

    ledger = await roles.ledger()
    if chain_of(ledger.recorder) is None:
        log.warning("serve.checkpoints_skipped", reason="the memory:// store keeps no hash chain")
        return
    config = roles.config
    publisher = CheckpointPublisher(roles.nc, ledger, store=store_identity(config.store_url),
                                    prefix=config.prefix, every=config.checkpoint_every,
                                    fence=roles.fence)
    roles.start("checkpoints", publisher.run(roles.stop))


async def _start_views(roles: _Roles) -> Callable[[], None]:
    """Projection worker and publisher share the view store; returns the wake-up for ingest."""
    config = roles.config
    if "projections" not in config.roles and "publisher" not in config.roles:
        return lambda: None
    from infra.views.factory import open_view_store
    from infra.workers.group_claims import open_leadership, view_claims
    from infra.workers.projection_worker import ProjectionWorker
    from infra.workers.publisher import Publisher

    views = await roles.open_store(open_view_store, config.store_url)
    wakers: list[Callable[[], None]] = []
    publisher = (Publisher(roles.nc, views, prefix=config.prefix, fence=roles.fence,
                           leadership=open_leadership(views, "publisher"),
                           poll_interval=min(1.0, config.lease_seconds))
                 if "publisher" in config.roles else None)
    if "projections" in config.roles:
        groups = config.partition_groups
        worker = ProjectionWorker(await roles.ledger(), views, fence=roles.fence,
                                  on_written=publisher.wake if publisher else None,
                                  groups=groups, lease_seconds=config.lease_seconds,
                                  claims=view_claims(views, "projections", groups))
        roles.start("projections", worker.run(roles.stop))
        wakers.append(worker.wake)
    if publisher is not None:
        roles.start("publisher", publisher.run(roles.stop))
    roles.closers.append(lambda: asyncio.to_thread(views.close))

    def wake() -> None:
        for waker in wakers:
            waker()

    return wake
