"""What every recording command needs: the ledger from --store, who acts, how to report."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from infra.cli.args import parse_when
from infra.cli.render import as_json
from infra.store import store_from_env
from services.outcome import Outcome

if TYPE_CHECKING:  # the ledger and its backends load when a command opens the log, not before
    from services.ledger import Ledger

DEFAULT_STORE = "sqlite:///paddock.db"


class StoreError(Exception):
    """The event log could not be opened or written."""


def store_url(args: argparse.Namespace, default: str = DEFAULT_STORE) -> str:
    """--store, else $PADDOCK_STORE, else the default."""
    return store_from_env(args.store) or default


def ledger_from(args: argparse.Namespace, default: str = DEFAULT_STORE) -> Ledger:
    from eventsourcing.persistence import PersistenceError

    from infra.bootstrap import open_ledger

    url = store_url(args, default)
    try:
        return open_ledger(url)
    except PersistenceError as error:
        raise StoreError(f"cannot open the event log at {url}: {error}") from None


def actor_of(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def report(args: argparse.Namespace, outcome: Outcome) -> int:
    if args.json:
        print(as_json({"status": outcome.status, "what": outcome.what,
                       "positions": list(outcome.positions)}))
    else:
        where = f" (log position {span(outcome.positions)})" if outcome.positions else ""
        print(f"{outcome.status}: {outcome.what}{where}")
    return 0


def span(positions: tuple[int, ...]) -> str:
    return str(positions[0]) if len(positions) == 1 else f"{positions[0]}–{positions[-1]}"


def now_or(text: str | None, option: str = "--effective-at") -> datetime:
    return parse_when(text, option=option) or datetime.now(UTC)
