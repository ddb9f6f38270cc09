"""`paddock serve`: the process runtime. Starts the chosen roles, stops them on SIGTERM/SIGINT by
letting in-flight work finish within a bounded grace period, then cancels what is left."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import structlog
from nats.aio.client import Client

from infra.bootstrap import open_ledger
from infra.config import ServeConfig, redact_url
from infra.nats_ingest import IngestTopology
from infra.workers.ingest_worker import IngestWorker
from services.ingest import IngestService

log = structlog.get_logger("paddock.serve")


async def connect(config: ServeConfig, *, attempts: int = -1,
                  errors: list[Exception] | None = None) -> Client:
    """Connect with the credentials of the configuration (a creds file, else user and password)
    and its user's inbox prefix. `attempts` < 0 retries forever (the service waits for its
    server); the server's errors (refused credentials, permission violations) are logged,
    never a secret, and appended to `errors` when given."""

    async def on_error(error: Exception) -> None:
        if errors is not None:
            errors.append(error)
        log.warning("nats.error", error=str(error) or type(error).__name__)

    options: dict[str, Any] = {"servers": [config.nats_url], "name": "paddock",
                               "max_reconnect_attempts": attempts, "connect_timeout": 5,
                               "error_cb": on_error}
    if config.nats_inbox_prefix:
        options["inbox_prefix"] = config.nats_inbox_prefix
    if config.nats_creds:
        options["user_credentials"] = config.nats_creds
    elif config.nats_user:
        options.update(user=config.nats_user, password=config.nats_password or "")
    return await nats.connect(**options)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def serve(config: ServeConfig, stop: asyncio.Event | None = None,
                ready: Callable[[], None] = lambda: None) -> None:
    stop = stop or asyncio.Event()
    install_signal_handlers(stop)
    nc = await connect(config)
    structlog.contextvars.bind_contextvars(prefix=config.prefix)
    tasks: list[asyncio.Task[None]] = []
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        wake = await _start_views(config, nc, stop, tasks, closers)
        for index in range(config.ingest_workers if "ingest" in config.roles else 0):
            worker = await _ingest_worker(config, nc, wake)
            tasks.append(asyncio.create_task(worker.run(stop), name=f"ingest-{index}"))
        if "queries" in config.roles:
            closers.append(await _start_queries(config, nc))
        if "checkpoints" in config.roles:
            await _start_checkpoints(config, nc, stop, tasks)
        log.info("serve.started", roles=list(config.roles), nats=redact_url(config.nats_url),
                 store=redact_url(config.store_url), ingest_workers=config.ingest_workers,
                 checkpoint_every=config.checkpoint_every)
        ready()
        await _until_stopped(stop, tasks)
    finally:
        await _drain(tasks, closers, config.grace_seconds)
        await _close(nc, config.grace_seconds)
        log.info("serve.stopped")


async def _until_stopped(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for a stop signal; a role that dies stops the whole process (no silent half-service)."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("serve.role_failed", role=task.get_name(), error=repr(task.exception()))
            stop.set()
    stopper.cancel()


async def _drain(tasks: list[asyncio.Task[None]], closers: list[Callable[[], Awaitable[None]]],
                 grace: float) -> None:
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            log.warning("serve.cancelled_after_grace", role=task.get_name(), grace=grace)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    for close in closers:
        await close()


async def _close(nc: Client, grace: float) -> None:
    """Flush what was published (replies, dead letters), within the grace period."""
    try:
        await asyncio.wait_for(nc.drain(), timeout=grace)
    except (TimeoutError, asyncio.CancelledError):
        log.warning("serve.drain_timeout", grace=grace)
        await nc.close()


async def _ingest_worker(config: ServeConfig, nc: Client, wake: Callable[[], None]) -> IngestWorker:
    ledger = await asyncio.to_thread(open_ledger, config.store_url)
    service = IngestService(ledger, prefix=config.prefix)
    return IngestWorker(nc, service, IngestTopology(prefix=config.prefix), on_appended=wake)


async def _start_queries(config: ServeConfig, nc: Client) -> Callable[[], Awaitable[None]]:
    from infra.workers.query_service import start_query_service

    ledger = await asyncio.to_thread(open_ledger, config.store_url)
    service = await start_query_service(nc, ledger, prefix=config.prefix)
    return service.stop


async def _start_checkpoints(config: ServeConfig, nc: Client, stop: asyncio.Event,
                             tasks: list[asyncio.Task[None]]) -> None:
    """The checkpoint publisher; skipped (with a warning) on memory://, which keeps no chain."""
    from infra.chain import chain_of, store_identity
    from infra.workers.checkpoint_publisher import CheckpointPublisher

    ledger = await asyncio.to_thread(open_ledger, config.store_url)
    if chain_of(ledger.recorder) is None:
        log.warning("serve.checkpoints_skipped", reason="the memory:// store keeps no hash chain")
        return
    publisher = CheckpointPublisher(nc, ledger, store=store_identity(config.store_url),
                                    prefix=config.prefix, every=config.checkpoint_every)
    tasks.append(asyncio.create_task(publisher.run(stop), name="checkpoints"))


async def _start_views(config: ServeConfig, nc: Client, stop: asyncio.Event,
                       tasks: list[asyncio.Task[None]],
                       closers: list[Callable[[], Awaitable[None]]]) -> Callable[[], None]:
    """Projection worker and publisher share the view store; returns the wake-up for ingest."""
    if "projections" not in config.roles and "publisher" not in config.roles:
        return lambda: None
    from infra.views.factory import open_view_store
    from infra.workers.projection_worker import ProjectionWorker
    from infra.workers.publisher import Publisher

    views = await asyncio.to_thread(open_view_store, config.store_url)
    wakers: list[Callable[[], None]] = []
    publisher = Publisher(nc, views, prefix=config.prefix) if "publisher" in config.roles else None
    if "projections" in config.roles:
        ledger = await asyncio.to_thread(open_ledger, config.store_url)
        worker = ProjectionWorker(ledger, views, on_written=publisher.wake if publisher else None)
        tasks.append(asyncio.create_task(worker.run(stop), name="projections"))
        wakers.append(worker.wake)
    if publisher is not None:
        tasks.append(asyncio.create_task(publisher.run(stop), name="publisher"))
    closers.append(lambda: asyncio.to_thread(views.close))

    def wake() -> None:
        for waker in wakers:
            waker()

    return wake
