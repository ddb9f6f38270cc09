"""`paddock audit report CHAMPIONSHIP --out FILE`: the self-contained HTML audit report.

Wiring (infra/cli/parser.py and handlers.py): call `add_parsers(audit, common)` on the `audit`
subparsers and merge `HANDLERS` into the handlers' table.

The file is written atomically (a temporary file in the same directory, then a rename), so a
reader never sees half a report and a failed run leaves the previous report in place.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from domain.errors import InvalidInputError
from infra.cli.args import parse_when
from infra.cli.context import ledger_from
from infra.cli.render import as_json

FILE_MODE = 0o644  # a report is for sharing; the temporary file starts private (0600)


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

    out = checked_destination(args.out)
    ledger = ledger_from(args)
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


def checked_destination(text: str) -> Path:
    """Refuse, before any work, a destination that cannot be written."""
    out = Path(text).expanduser()
    parent = out.parent.resolve()
    if not parent.is_dir():
        raise InvalidInputError(f"directory {parent} does not exist; create it first "
                                f"(mkdir -p {parent}) or choose another --out", where="--out")
    if out.is_dir():
        raise InvalidInputError(f"{out} is a directory; give a file name such as "
                                f"{out / 'report.html'}", where="--out")
    return parent / out.name


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise InvalidInputError(f"cannot write in {path.parent}: {error.strerror}",
                                where="--out") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except OSError as error:  # disk full, permissions changed meanwhile: nothing is left behind
        Path(temp).unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write {path}: {error.strerror or error}",
                                where="--out") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"audit_report": audit_report}
