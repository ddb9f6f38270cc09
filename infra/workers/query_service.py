"""The query service: `nats.micro` service "paddock", one endpoint per queryable view of the
catalog (projections/catalog.py): standings, invitations, history, the audit views and the entry
list (a date, a published version, the diff of two versions), on `<prefix>.query.<query>`.

It is a transport over services/queries.py, as the CLI is: requests are JSON objects whose
fields are the view's key and parameters (unknown fields rejected); times are ISO 8601 with an
offset or a bare date, as on the command line. A reply is the canonical JSON of the same view
`paddock … --json` prints (same keys and values; compact, sorted). A failed request gets
`{"error": {"type": ..., "message": ...}}` with the micro error headers
(`Nats-Service-Error-Code` 400 for bad input or unknown ids, 500 for anything else).

The Ledger is synchronous and its incremental fold is not thread-safe: queries run in a worker
thread under one lock per service (pass a shared lock when other workers use the same Ledger).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import MaxPayloadError
from nats.micro.request import Request
from nats.micro.service import Service, ServiceConfig

from domain.errors import PaddockError
from infra.nats_subjects import DEFAULT_PREFIX, SERVICE_NAME, query_subject
from projections.canonical import canonical_json
from projections.catalog import CATALOG, Catalog, View
from services import queries
from services.ledger import Ledger

log = structlog.get_logger("paddock.query")

OK = "200"
BAD_REQUEST = "400"
INTERNAL = "500"
_DESCRIPTION_MAX = 300

Answer = Callable[[Ledger, bytes], dict[str, Any]]


def decode(data: bytes) -> object:
    """A request's JSON; InvalidRequestError when it is none."""
    try:
        return json.loads(data)
    except ValueError as error:  # also bytes that are not UTF-8
        raise queries.InvalidRequestError(f"request body is not valid JSON ({error})") from None


def answer_for(view: View) -> Answer:
    """The endpoint function of a view: decode, then the query module parses and answers."""
    def answer(ledger: Ledger, data: bytes) -> dict[str, Any]:
        return queries.ask(ledger, queries.parse(view, decode(data)))

    return answer


def answers(catalog: Catalog = CATALOG) -> dict[str, Answer]:
    """Query name → endpoint function, for every queryable view of the catalog."""
    return {view.query: answer_for(view) for view in catalog.queried}


ANSWERS = answers()


def error_reply(error: Exception) -> tuple[str, dict[str, Any]]:
    """The micro error code and the JSON error body for an exception raised by a query."""
    if isinstance(error, PaddockError):
        return BAD_REQUEST, _error_body(type(error).__name__, str(error))
    return INTERNAL, _error_body("InternalError", "internal error; the query service log has details")


def _error_body(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _header_text(message: str) -> str:
    """A header value: one line, bounded length."""
    line = " ".join(message.split())
    return line if len(line) <= _DESCRIPTION_MAX else line[: _DESCRIPTION_MAX - 3] + "..."


class QueryHandlers:
    """Turns each endpoint's answer function into a micro handler that logs one line per request.

    Each request is answered in its own task, shielded from the cancellation that stopping the
    micro service inflicts on its subscriptions, so `finish` can let it reply before shutdown.
    """

    def __init__(self, ledger: Ledger, lock: threading.Lock | None = None) -> None:
        self.ledger = ledger
        self.lock = lock or threading.Lock()
        self._in_flight: set[asyncio.Task[None]] = set()

    def handler(self, endpoint: str, answer: Answer) -> Callable[[Request], Awaitable[None]]:
        async def handle(request: Request) -> None:
            task = asyncio.create_task(self._answer(endpoint, answer, request))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            await asyncio.shield(task)

        return handle

    async def finish(self, grace: float) -> None:
        """Wait up to `grace` seconds for requests being answered, then cancel the rest."""
        if not self._in_flight:
            return
        _, late = await asyncio.wait(set(self._in_flight), timeout=grace)
        for task in late:
            task.cancel()

    def _reply_body(self, answer: Answer, data: bytes) -> bytes:
        with self.lock:
            view = answer(self.ledger, data)
        return canonical_json(view).encode()

    async def _answer(self, endpoint: str, answer: Answer, request: Request) -> None:
        started = time.perf_counter()
        try:
            body = await asyncio.to_thread(self._reply_body, answer, request.data)
        except Exception as error:  # noqa: BLE001 - every request gets a reply, whatever failed
            code, reply = error_reply(error)
            _log_request(endpoint, started, code, error)
            await _send(request, reply, code)
            return
        _log_request(endpoint, started, OK, None)
        await _send(request, body, OK)


async def _send(request: Request, body: bytes | dict[str, Any], code: str) -> None:
    try:
        if isinstance(body, bytes):
            await request.respond(body)
        else:
            message = _header_text(str(body["error"]["message"]))
            await request.respond_error(code, message, data=json.dumps(body).encode())
    except MaxPayloadError:
        size = len(body) if isinstance(body, bytes) else 0
        await _send(request, _error_body("ReplyTooLargeError", f"the answer ({size} bytes) exceeds "
                                         "the server's max payload; narrow the query"), INTERNAL)
    except (NatsError, ValueError) as error:  # closed connection, or no reply subject
        log.warning("query reply not sent", subject=request.subject, error=repr(error))


def _log_request(endpoint: str, started: float, code: str, error: Exception | None) -> None:
    fields: dict[str, Any] = {
        "endpoint": endpoint,
        "code": code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if error is None:
        log.info("query", **fields)
    elif code == INTERNAL:
        log.error("query", error_type=type(error).__name__, exc_info=error, **fields)
    else:
        log.info("query", error_type=type(error).__name__, error=str(error), **fields)


class QueryService(Service):
    """The micro service, whose `stop` also lets requests in flight reply."""

    def __init__(self, nc: Client, handlers: QueryHandlers) -> None:
        super().__init__(nc, ServiceConfig(
            name=SERVICE_NAME, version=service_version(),
            description="Paddock standings, invitations, history, audit and entry lists",
        ))
        self.handlers = handlers

    async def stop(self, grace: float = 10.0) -> None:
        await super().stop()
        await self.handlers.finish(grace)


def service_version() -> str:
    try:
        return version("paddock")
    except PackageNotFoundError:
        return "0.0.0"


async def start_query_service(nc: Client, ledger: Ledger, prefix: str = DEFAULT_PREFIX, *,
                              lock: threading.Lock | None = None,
                              catalog: Catalog = CATALOG) -> QueryService:
    """Start the service on `<prefix>.query.*`, one endpoint per queryable view of `catalog`;
    stop it with `await service.stop()`."""
    service = QueryService(nc, QueryHandlers(ledger, lock))
    await service.start()
    for endpoint, answer in answers(catalog).items():
        subject = query_subject(endpoint, prefix=prefix, catalog=catalog)
        await service.add_endpoint(name=endpoint.replace(".", "_"), subject=subject,
                                   handler=service.handlers.handler(endpoint, answer))
    log.info("query service started", prefix=prefix, service_id=service.id)
    return service


async def run_query_service(nc: Client, ledger: Ledger, stop: asyncio.Event, *,
                            prefix: str = DEFAULT_PREFIX, lock: threading.Lock | None = None,
                            grace: float = 10.0, catalog: Catalog = CATALOG) -> None:
    """Serve until `stop` is set, then stop taking requests and let those in flight reply."""
    service = await start_query_service(nc, ledger, prefix, lock=lock, catalog=catalog)
    try:
        await stop.wait()
    finally:
        await service.stop(grace)
        log.info("query service stopped", service_id=service.id)
