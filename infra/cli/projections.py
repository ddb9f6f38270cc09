"""`paddock projections rebuild|status`: the persisted live views, for operators.

Wiring (infra/cli/parser.py and handlers.py): call `add_parser(sub, common)` in `build_parser`
and merge `HANDLERS` into the handlers' table.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from infra.cli.errors import say_error
from infra.cli.render import as_json
from infra.config import redact_url
from infra.store import store_from_env
from infra.store_check import StoreError, check_store
from infra.views import ViewStore
from infra.views.factory import open_view_store, views_location

if TYPE_CHECKING:  # the log and the workers load when a command runs, not for `paddock --help`
    from infra.workers.rebuild import RebuildReport
    from services.ledger import Ledger

DEFAULT_STORE = "sqlite:///paddock.db"
EXIT_STORE = 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser) -> None:
    proj = sub.add_parser("projections", help="the persisted live views (standings, invitations)")
    cmds = proj.add_subparsers(dest="sub", required=True)
    rb = cmds.add_parser("rebuild", parents=[common],
                         help="rebuild every view from the log, then swap them in at once")
    rb.add_argument("--batch", type=int, default=500, help="events per transaction (default 500)")
    rb.set_defaults(handler="projections_rebuild")
    st = cmds.add_parser("status", parents=[common],
                         help="log head, each worker's and publisher's position, view count")
    st.set_defaults(handler="projections_status")


class _StoreUnavailableError(Exception):
    pass


def _open(args: argparse.Namespace) -> tuple[str, Ledger, ViewStore]:
    from eventsourcing.persistence import PersistenceError

    from infra.bootstrap import open_ledger

    url = store_from_env(args.store) or DEFAULT_STORE
    try:
        check_store(url, create=False)  # the views are made from a log: none, nothing to create
    except StoreError as error:
        raise _StoreUnavailableError(f"cannot open the store: {error}") from None
    try:
        return url, open_ledger(url), open_view_store(url)
    except (PersistenceError, sqlite3.Error, OSError) as error:
        raise _StoreUnavailableError(f"cannot open the store at {redact_url(url)}: {error}") from None
    except Exception as error:  # psycopg errors, imported lazily with the PostgreSQL backend
        if type(error).__module__.startswith("psycopg"):
            raise _StoreUnavailableError(f"cannot open the store at {redact_url(url)}: {error}") from None
        raise


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _StoreUnavailableError as error:
            say_error(str(error))
            return EXIT_STORE

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


@_guarded
def rebuild(args: argparse.Namespace) -> int:
    """Rebuild the views from zero next to the live ones and swap them in."""
    from infra.collector import settle_after_start_up
    from infra.workers.rebuild import rebuild_views

    if args.batch < 1:
        print(f"error: --batch must be at least 1 (got {args.batch})", file=sys.stderr)
        return 1
    url, ledger, store = _open(args)
    store.close()
    settle_after_start_up()  # a rebuild holds partition folds: full collections would rescan them
    report = rebuild_views(ledger, url, batch=args.batch)
    print(as_json(_report_json(url, report)) if args.json else _report_text(url, report))
    return 0


def _report_json(url: str, report: RebuildReport) -> dict[str, Any]:
    return {"store": redact_url(url), "views_at": views_location(url), "events": report.events,
            "views": report.views, "views_written": report.views_written,
            "position": report.position, "seconds": report.seconds, "changed": report.changed}


def _report_text(url: str, report: RebuildReport) -> str:
    changed = (f"; {len(report.changed)} differ from the ones they replaced: "
               f"{', '.join(report.changed)}" if report.changed else "; all equal to the old ones")
    return (f"rebuilt {report.views} views from {report.events} events (log position "
            f"{report.position}) in {report.seconds:.3f} s{changed}\nviews: {views_location(url)}")


@_guarded
def status(args: argparse.Namespace) -> int:
    """Where the views are, and how far each worker and publisher is behind the log."""
    url, ledger, store = _open(args)
    try:
        info = _status(url, ledger, store)
    finally:
        store.close()
    print(as_json(info) if args.json else _status_text(info))
    return 0


def _status(url: str, ledger: Ledger, store: ViewStore) -> dict[str, Any]:
    head = ledger.head()

    def behind(positions: dict[str, int]) -> dict[str, dict[str, int]]:
        return {k: {"position": p, "events_behind": max(0, head - p)} for k, p in positions.items()}

    return {"store": redact_url(url), "views_at": views_location(url), "head": head,
            "views": len(store.names()), "workers": behind(store.workers()),
            "publishers": behind(store.publishers())}


def _status_text(info: dict[str, Any]) -> str:
    lines = [f"event log: {info['store']} (head: log position {info['head']})",
             f"views: {info['views_at']} ({info['views']} views)"]
    for kind in ("workers", "publishers"):
        entries = info[kind] or {}
        if not entries:
            lines.append(f"{kind}: none yet")
        for name, at in entries.items():
            lines.append(f"{kind[:-1]} {name}: log position {at['position']} "
                         f"({at['events_behind']} events behind)")
    return "\n".join(lines)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "projections_rebuild": rebuild,
    "projections_status": status,
}
