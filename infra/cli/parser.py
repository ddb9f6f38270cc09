"""The `paddock` argument tree."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from infra.cli import (
    audit_chain,
    audit_report,
    entry_list,
    keys,
    nats_config,
    projections,
    service,
)
from infra.cli.args import add_status_flags

DECISION_KINDS = {
    "time": "time_penalty",
    "laps": "lap_penalty",
    "dsq": "disqualification",
    "exclusion": "exclusion",
    "points": "points_deduction",
    "pole-stripped": "pole_stripped",
}
# The amount each kind of decision needs, named by its flag; a lap penalty may add seconds.
DECISION_AMOUNTS = {"time": "seconds", "laps": "laps", "points": "points"}
DECISION_EXTRAS = {"laps": ("seconds",)}
INVITATION_STATUSES = ("confirmed", "accepted", "declined", "withdrawn", "reallocated", "redeemed")


class _VersionAction(argparse.Action):
    """`paddock --version`: the installed package's version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("paddock")
        except PackageNotFoundError:
            text = "(not installed: run `make setup`)"
        print(f"{parser.prog} {text}")
        sys.exit(0)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="event log URL: sqlite:///FILE, postgresql://..., memory:// "
                        "(default: $PADDOCK_STORE, else sqlite:///paddock.db)")
    common.add_argument("--json", action="store_true", help="machine-readable JSON output")
    common.add_argument("--actor", help="who is acting (recorded with every fact; default: $USER)")

    parser = argparse.ArgumentParser(
        prog="paddock", description="Event-sourced results, standings and Le Mans invitations."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the installed version")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="load the real AsLMS 2023/24 season and show it")
    demo.add_argument("--lemans", action="store_true",
                      help="also the Le Mans 2024 organiser's desk: entry lists and their diff")
    demo.set_defaults(handler="demo")

    season = sub.add_parser("season", help="season definitions").add_subparsers(dest="sub", required=True)
    reg = season.add_parser("register", parents=[common], help="register or revise a season file (TOML)")
    reg.add_argument("file")
    reg.set_defaults(handler="season_register")

    imp = sub.add_parser("import", help="import results").add_subparsers(dest="sub", required=True)
    ak = imp.add_parser("alkamel", parents=[common], help="import an Al Kamel classification CSV")
    ak.add_argument("file")
    _round_args(ak)
    add_status_flags(ak)
    ak.add_argument("--published-at", help="when it was published (default: the round's flag time)")
    ak.set_defaults(handler="import_alkamel")

    _penalty_parsers(sub, common)

    pole = sub.add_parser("pole", parents=[common], help="record a pole position")
    _round_args(pole)
    pole.add_argument("--class", dest="class_id", required=True)
    pole.add_argument("--car", required=True)
    pole.add_argument("--effective-at", help="default: the round's flag time")
    pole.set_defaults(handler="pole")

    cls = sub.add_parser("classification", help="classification status").add_subparsers(dest="sub", required=True)
    off = cls.add_parser("official", parents=[common], help="declare a round's classification official")
    _round_args(off)
    off.add_argument("--effective-at", required=True)
    off.set_defaults(handler="official")

    award = sub.add_parser("award", parents=[common], help="record an award decided by a series")
    award.add_argument("award", help="award id, e.g. imsa-2023/jim-trueman-award")
    award.add_argument("--name", required=True)
    award.add_argument("--series", required=True)
    award.add_argument("--driver")
    award.add_argument("--team")
    award.add_argument("--car")
    award.add_argument("--effective-at", required=True)
    keys.add_sign_with(award)
    award.set_defaults(handler="award")

    inv = sub.add_parser("invitation", parents=[common], help="record an organiser's decision on an invitation")
    inv.add_argument("event")
    inv.add_argument("route")
    inv.add_argument("status", choices=INVITATION_STATUSES)
    inv.add_argument("--team")
    inv.add_argument("--car")
    inv.add_argument("--driver")
    inv.add_argument("--reason", default="")
    inv.add_argument("--effective-at", required=True)
    inv.set_defaults(handler="invitation")

    entry = sub.add_parser("entry", parents=[common], help="declare an entry (car, team, class, drivers)")
    entry.add_argument("--championship", required=True)
    entry.add_argument("--car", required=True)
    entry.add_argument("--team", required=True)
    entry.add_argument("--class", dest="class_id", required=True)
    entry.add_argument("--driver", action="append", default=[], help="repeat for each driver")
    entry.add_argument("--from-round", type=int, help="first round of this entry (default: the first)")
    entry.add_argument("--until-round", type=int, help="last round of this entry (default: the last)")
    entry.add_argument("--effective-at", required=True)
    entry.set_defaults(handler="entry")

    tie = sub.add_parser("tie", parents=[common], help="resolve a tie the tie-breaks cannot separate")
    tie.add_argument("--championship", required=True)
    tie.add_argument("--class", dest="class_id", required=True)
    tie.add_argument("--order", required=True, help="cars in the decided order, e.g. 17,2")
    tie.add_argument("--ref", required=True)
    tie.add_argument("--reason", default="")
    tie.add_argument("--effective-at", required=True)
    keys.add_sign_with(tie)
    tie.set_defaults(handler="tie")

    st = sub.add_parser("standings", parents=[common], help="championship standings")
    st.add_argument("championship")
    st.add_argument("--class", dest="class_id")
    st.add_argument("--drivers", action="store_true", help="drivers' standings instead of cars")
    _time_args(st)
    st.set_defaults(handler="standings")

    iv = sub.add_parser("invitations", parents=[common], help="invitation state of a target event")
    iv.add_argument("event")
    _time_args(iv)
    iv.set_defaults(handler="invitations")

    service.add_parsers(sub, common)
    nats_config.add_parsers(sub, common)
    keys.add_parsers(sub, common)
    entry_list.add_parsers(sub, common)
    projections.add_parser(sub, common)

    audit = sub.add_parser("audit", help="answers for stewards").add_subparsers(dest="sub", required=True)
    ex = audit.add_parser("explain", parents=[common], help="every point of a car, with the facts behind it")
    ex.add_argument("championship")
    ex.add_argument("--car", required=True)
    _time_args(ex)
    ex.set_defaults(handler="audit_explain")
    df = audit.add_parser("diff", parents=[common], help="what changed between two dates, and why")
    df.add_argument("championship")
    df.add_argument("--from", dest="start", required=True, help="the earlier effective date")
    df.add_argument("--to", dest="end", required=True, help="the later effective date")
    df.add_argument("--known-at", help="record time: only what was recorded by then (default: now)")
    df.set_defaults(handler="audit_diff")
    tl = audit.add_parser("timeline", parents=[common], help="all facts with both times; retroactive ones flagged")
    tl.add_argument("championship")
    tl.add_argument("--retroactive-after", type=float, default=24.0, metavar="HOURS",
                    help="recorded this long after taking effect counts as retroactive (24)")
    _time_args(tl)
    tl.set_defaults(handler="audit_timeline")
    audit_chain.add_parsers(audit, common)
    audit_report.add_parsers(audit, common)

    hi = sub.add_parser("history", parents=[common], help="the facts of a championship, with both times")
    hi.add_argument("championship")
    hi.add_argument("--car")
    _time_args(hi)
    hi.set_defaults(handler="history")
    return parser


def _round_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--championship", required=True)
    p.add_argument("--round", type=int, required=True)


def _time_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", help="effective time: the world as it stood then (default: now)")
    p.add_argument("--known-at", help="record time: only what was recorded by then (default: now)")


def _penalty_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                     common: argparse.ArgumentParser) -> None:
    pen = sub.add_parser("penalty", help="stewards' decisions").add_subparsers(dest="sub", required=True)
    for name, text in (("impose", "impose a decision"), ("amend", "amend a decision")):
        p = pen.add_parser(name, parents=[common], help=text)
        _round_args(p)
        p.add_argument("--car", required=True)
        p.add_argument("--kind", required=True, choices=sorted(DECISION_KINDS))
        p.add_argument("--seconds", help="time added: 65, 65.5 or 1'05")
        p.add_argument("--laps", type=int)
        p.add_argument("--points")
        p.add_argument("--ref", required=name == "amend",
                       help="the decision's reference (e.g. the stewards' document number)")
        p.add_argument("--reason", default="")
        p.add_argument("--effective-at", required=True, help="when the decision was published")
        keys.add_sign_with(p)
        p.set_defaults(handler=f"penalty_{name}")
    r = pen.add_parser("rescind", parents=[common], help="rescind a decision (e.g. after an appeal)")
    _round_args(r)
    r.add_argument("--ref", required=True)
    r.add_argument("--reason", default="")
    r.add_argument("--effective-at", required=True)
    keys.add_sign_with(r)
    r.set_defaults(handler="penalty_rescind")
