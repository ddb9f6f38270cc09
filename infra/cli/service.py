"""Service commands: `paddock serve`, `paddock produce`, `paddock schema`."""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from domain.bounds import MAX_WAIT_SECONDS, check_amount, check_whole
from infra.cli.args import add_status_flags
from infra.cli.output import destination, directory_destination, write_atomically
from infra.cli.render import table
from infra.config import ROLES, redact_url, serve_config
from infra.nats_authority import SERVICE, inbox_prefix, producer_inbox
from infra.store import store_from_env

if TYPE_CHECKING:  # nats-py, the service and the contracts load in the command that needs them
    from infra.producer import Reply
    from services.timing_messages import OutgoingMessage


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    nats_opts = argparse.ArgumentParser(add_help=False)
    nats_opts.add_argument("--nats-url", help="default: $NATS_URL, else nats://127.0.0.1:4222; "
                           "credentials from the environment: $NATS_USER with $NATS_PASSWORD or "
                           "$NATS_PASSWORD_FILE, or $NATS_CREDS (a creds file)")
    nats_opts.add_argument("--prefix", help="subject prefix (default: $PADDOCK_PREFIX, else paddock)")

    srv = sub.add_parser("serve", parents=[common, nats_opts], help="run the service")
    srv.add_argument("--roles", help=f"comma-separated, of {', '.join(ROLES)} (default: all)")
    srv.add_argument("--ingest-workers", type=int, help="ingest workers in this process (default 1)")
    srv.add_argument("--ingest-claim-every", type=float, metavar="SECONDS",
                     help="the ingest workers' own lease period: how often one settles its "
                     "partition-group leases, taking its fair share and a dead worker's groups "
                     "(default: $PADDOCK_INGEST_CLAIM_EVERY, else $PADDOCK_LEASE_SECONDS, else 2)")
    srv.add_argument("--grace", type=float, help="seconds to finish in-flight work on SIGTERM (10)")
    srv.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                     help="publish the log's checkpoint this often when it moved (60)")
    srv.set_defaults(handler="serve")

    prod = sub.add_parser("produce", parents=[common, nats_opts],
                          help="send timing messages as a timing system would (demo season or a file)")
    prod.add_argument("file", nargs="?", help="an Al Kamel CSV; without it, the demo season")
    prod.add_argument("--championship")
    prod.add_argument("--round", type=int)
    add_status_flags(prod)
    prod.add_argument("--published-at")
    prod.add_argument("--resend", type=int, default=0, help="send every message N extra times")
    prod.add_argument("--shuffle", type=int, metavar="SEED", help="send in a shuffled order")
    prod.add_argument("--timeout", type=float, default=30.0,
                      help="seconds to wait for the service's answers (30); a message still "
                      "unanswered is reported 'accepted by the broker, not yet recorded' (exit 4)")
    prod.set_defaults(handler="produce")

    sch = sub.add_parser("schema", help="JSON Schemas of the message contracts and the AsyncAPI document")
    sch.add_argument("--out", help="write <kind>.schema.json files and asyncapi.json into this directory")
    sch.add_argument("--prefix", default="paddock")
    sch.set_defaults(handler="schema", json=True)


def serve_command(args: argparse.Namespace) -> int:
    import asyncio

    from infra.collector import settle_after_start_up
    from infra.logging import configure_logging
    from infra.runtime import serve

    config = serve_config(store_url=store_from_env(args.store) or "sqlite:///paddock.db",
                          nats_url=args.nats_url, roles=args.roles, prefix=args.prefix,
                          ingest_workers=args.ingest_workers, grace=args.grace,
                          checkpoint_every=args.checkpoint_every,
                          ingest_claim_every=args.ingest_claim_every)
    # The service's own inbox: the server lets no producer or subscriber read it.
    config = replace(config, nats_inbox_prefix=config.nats_inbox_prefix
                     or inbox_prefix(SERVICE, config.prefix))
    configure_logging(level="INFO")
    asyncio.run(serve(config, started=settle_after_start_up))  # the collector set once started
    return 0


def produce_command(args: argparse.Namespace) -> int:
    import asyncio

    from nats.errors import Error as NatsError

    from infra.cli.args import parse_when
    from infra.producer import produce as publish_messages
    from infra.runtime import connect
    from services.timing_messages import classification_message, demo_messages

    check_whole("--resend", args.resend, MAX_RESEND)
    check_amount("--timeout", args.timeout, MAX_WAIT_SECONDS, positive=True)
    prefix = args.prefix or "paddock"
    if args.file:
        if not args.championship or not args.round:
            print("error: a file needs --championship and --round", file=sys.stderr)
            return 1
        messages = [classification_message(
            Path(args.file), args.championship, args.round,
            args.status,
            parse_when(args.published_at, option="--published-at"), prefix)]
    else:
        messages = demo_messages(prefix)
    batch = _arrange(messages, args.resend, args.shuffle)
    config = serve_config(store_url="memory://", nats_url=args.nats_url, roles=None, prefix=prefix,
                          ingest_workers=None, grace=None)
    # The inbox of the one role that may send these messages, so acks and replies reach it.
    config = replace(config, nats_inbox_prefix=config.nats_inbox_prefix
                     or producer_inbox((m.subject for m in batch), prefix))
    server_errors: list[Exception] = []

    async def run() -> list[Reply]:
        nc = await connect(config, attempts=PRODUCE_CONNECT_ATTEMPTS, errors=server_errors)
        try:
            return await publish_messages(nc, batch, timeout=args.timeout, actor=args.actor)
        finally:
            await nc.drain()

    try:
        replies = asyncio.run(run())
    except (NatsError, OSError) as error:
        said = "; ".join(dict.fromkeys(str(e) for e in server_errors if e is not error))
        print(f"error: NATS at {redact_url(config.nats_url)}: {str(error) or type(error).__name__}"
              + (f" (the server said: {said})" if said else ""), file=sys.stderr)
        return 2
    _print_replies(replies, as_json=args.json)
    refused = dict.fromkeys(str(e) for e in server_errors if "permissions violation" in str(e).lower())
    for what in refused:  # the server's subject permissions: another role's kinds, or its inbox
        print(f"error: refused by the NATS server: {what}", file=sys.stderr)
    return _produce_exit(replies, refused=bool(refused))


def _print_replies(replies: list[Reply], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"subject": r.subject, "outcome": r.outcome, **r.body} for r in replies],
                         indent=2))
        return
    rows = [[r.subject, r.outcome, r.body.get("reason") or r.body.get("what", ""),
             ",".join(map(str, r.body.get("positions") or []))] for r in replies]
    print(table(["Subject", "Outcome", "Detail", "Positions"], rows))


def _produce_exit(replies: list[Reply], *, refused: bool) -> int:
    """0: all recorded (now or before); 1: something rejected or refused; 4: the rest only
    accepted by the broker (the service is down or behind: it will record it, send again later
    to hear it)."""
    from infra.producer import NOT_YET_RECORDED, REJECTED

    outcomes = {r.outcome for r in replies}
    if refused or REJECTED in outcomes:
        return 1
    return 4 if NOT_YET_RECORDED in outcomes else 0


MAX_RESEND = 1000  # extra copies of each message: a test of deduplication, not a flood
PRODUCE_CONNECT_ATTEMPTS = 2  # then fail: wrong credentials must not hang a producer


def _arrange(messages: list[OutgoingMessage], resend: int, seed: int | None) -> list[OutgoingMessage]:
    batch = messages * (1 + max(0, resend))
    if seed is not None:
        random.Random(seed).shuffle(batch)
    return batch


def schema_command(args: argparse.Namespace) -> int:
    from services import contracts
    from services.asyncapi import asyncapi

    doc = asyncapi(args.prefix)
    if not args.out:
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    out = directory_destination(args.out)
    files = {f"{kind}.schema.json": schema for kind, schema in contracts.json_schemas().items()}
    for name, content in {**files, "asyncapi.json": doc}.items():
        write_atomically(destination(str(out / name)), json.dumps(content, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(contracts.CONTRACTS)} JSON Schemas and asyncapi.json to {out}")
    return 0


HANDLERS = {"serve": serve_command, "produce": produce_command, "schema": schema_command}
