"""What every recording command needs: the ledger from --store, who acts, how to report."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.bounds import check_text
from infra.cli.args import parse_when
from infra.cli.render import as_json
from infra.config import redact_url
from infra.store import store_from_env
from infra.store_check import StoreError, check_store
from services.outcome import Outcome

if TYPE_CHECKING:  # the ledger and its backends load when a command opens the log, not before
    from services.ledger import Ledger

DEFAULT_STORE = "sqlite:///paddock.db"
_OPTIONS = {"class_id": "--class", "start": "--from", "end": "--to"}  # dest → flag
MAX_ARGUMENT = 4096  # a path, a reason: longer is no command line a person typed

__all__ = ["StoreError", "actor_of", "ledger_from", "reader_from", "report", "store_url"]


def store_url(args: argparse.Namespace, default: str = DEFAULT_STORE) -> str:
    """--store, else $PADDOCK_STORE, else the default."""
    return store_from_env(args.store) or default


def ledger_from(args: argparse.Namespace, default: str = DEFAULT_STORE, *,
                create: bool = True) -> Ledger:
    """The ledger for a command; read commands pass create=False: the store must exist and
    nothing is created. Every text argument is checked first (no control characters)."""
    from eventsourcing.persistence import PersistenceError

    from infra.bootstrap import open_ledger

    check_arguments(args)
    url = store_url(args, default)
    check_store(url, create=create)
    try:
        ledger = open_ledger(url, create=create)
        if not create:  # writers check the chain when they open it; readers here
            _refuse_unchained(ledger)
        return ledger
    except PersistenceError as error:
        raise StoreError(f"cannot open the event log at {redact_url(url)}: {error}") from None


def _refuse_unchained(ledger: Ledger) -> None:
    """A log with events no hash chain covers is evidence, not data: no answer is read from it."""
    from infra.chain import chain_of

    chain = chain_of(ledger.recorder)
    if chain is not None:
        chain.refuse_unchained()


def reader_from(args: argparse.Namespace) -> Ledger:
    """The ledger for a command that only reads."""
    return ledger_from(args, create=False)


def check_arguments(args: argparse.Namespace) -> None:
    """No argument carries control characters into the log or onto a terminal."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                check_text(_OPTIONS.get(name, f"--{name.replace('_', '-')}"), text, MAX_ARGUMENT)


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
