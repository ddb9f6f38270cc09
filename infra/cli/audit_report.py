"""`paddock audit report CHAMPIONSHIP --out FILE`: the self-contained HTML audit report.

Wiring (infra/cli/parser.py and handlers.py): call `add_parsers(audit, common)` on the `audit`
subparsers and merge `HANDLERS` into the handlers' table.

The file is written atomically, and only to a regular file or a new path (infra/cli/output.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from infra.cli.args import parse_when
from infra.cli.context import reader_from
from infra.cli.output import destination, write_atomically
from infra.cli.render import as_json


def add_parsers(audit: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    rp = audit.add_parser(
        "report", parents=[common],
        help="one self-contained HTML file: standings, points progression, decisions and timeline",
    )
    rp.add_argument("championship")
    rp.add_argument("--as-of", help="effective time: the world as it stood then (default: now)")
    rp.add_argument("--known-at", help="record time: only what was recorded by then (default: now)")
    rp.add_argument("--out", required=True, metavar="FILE",
                    help="the HTML file to write (its directory must exist)")
    rp.set_defaults(handler="audit_report")


def audit_report(args: argparse.Namespace) -> int:
    from infra.report.html import render_report
    from services.audit_report import build_report

    out = destination(args.out)
    ledger = reader_from(args)
    data = build_report(ledger, args.championship,
                        as_of=parse_when(args.as_of, option="--as-of"),
                        known_at=parse_when(args.known_at, option="--known-at"))
    write_atomically(out, render_report(data))
    if args.json:
        print(as_json(data))
    else:
        decisions = sum(len(m["decisions"]) for m in data["decisions"])
        changed = sum(len(m["changes"]) for m in data["decisions"])
        print(f"report written: {out} ({len(data['classes'])} classes, {decisions} decisions "
              f"changing {changed} standings rows, log position {data['log_position']})")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"audit_report": audit_report}
