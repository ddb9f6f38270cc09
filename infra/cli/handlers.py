"""One function per command: parse arguments, call the ledger, print for people or machines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import InvalidInputError
from infra.cli.args import parse_decimal, parse_duration, parse_when
from infra.cli.asking import ask
from infra.cli.context import StoreError, actor_of, ledger_from, report, store_url
from infra.cli.entry_list import diff_text as entry_list_diff_text
from infra.cli.entry_list import entry_list_text
from infra.cli.keys import signer
from infra.cli.parser import DECISION_AMOUNTS, DECISION_EXTRAS, DECISION_KINDS
from infra.cli.render import as_json, print_view, terminal
from infra.cli.views import (
    diff_text,
    explain_text,
    history_text,
    invitations_text,
    standings_text,
    timeline_text,
)
from infra.config import redact_url
from services.outcome import Outcome

if TYPE_CHECKING:  # season files and the demo (pydantic, TOML) load only in the commands using them
    from services.ledger import Ledger


def _required_when(args: argparse.Namespace, name: str = "effective_at") -> datetime:
    value = parse_when(getattr(args, name), option=f"--{name.replace('_', '-')}")
    assert value is not None  # argparse marks these options required
    return value


# -- commands that record facts ---------------------------------------------------------------


def season_register(args: argparse.Namespace) -> int:
    from services.importing import register_season

    return report(args, register_season(ledger_from(args), Path(args.file), actor=actor_of(args)))


def import_alkamel(args: argparse.Namespace) -> int:
    from services.importing import import_alkamel_file

    outcome = import_alkamel_file(
        ledger_from(args), Path(args.file), championship=args.championship, round_number=args.round,
        status=args.status, published_at=parse_when(args.published_at, option="--published-at"),
        actor=actor_of(args),
    )
    return report(args, outcome)


def _terms(args: argparse.Namespace) -> DecisionTerms:
    amounts: dict[str, Any] = {
        "seconds": parse_duration(args.seconds, option="--seconds"),
        "laps": args.laps,
        "points": parse_decimal(args.points, option="--points"),
    }
    _check_amounts(args.kind, amounts)
    return DecisionTerms(kind=DecisionKind(DECISION_KINDS[args.kind]), car=args.car, **amounts)


def _check_amounts(kind: str, amounts: dict[str, Any]) -> None:
    """Name the flag: `--kind laps` needs `--laps`, `--kind dsq` takes none (domain/decisions.py
    checks the same terms, in its own words)."""
    needed = DECISION_AMOUNTS.get(kind)
    allowed = (needed, *DECISION_EXTRAS.get(kind, ())) if needed else ()
    for name, value in amounts.items():
        if name == needed and value is None:
            raise InvalidInputError(f"--kind {kind} needs --{name} N (how many {name})")
        if name == needed and value <= 0:
            raise InvalidInputError(f"--{name}: --kind {kind} needs a positive number (got {value})")
        if name not in allowed and value is not None:
            also = f" (it takes {' and '.join(f'--{x}' for x in allowed)})" if allowed else ""
            raise InvalidInputError(f"--kind {kind} takes no --{name}{also}")


def penalty_impose(args: argparse.Namespace) -> int:
    terms = _terms(args)  # bad flags are refused before the log is opened
    outcome = ledger_from(args).impose_penalty(
        args.championship, args.round, terms, reference=args.ref, reason=args.reason,
        effective_at=_required_when(args), signed_by=signer(args),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def penalty_amend(args: argparse.Namespace) -> int:
    terms = _terms(args)  # bad flags are refused before the log is opened
    outcome = ledger_from(args).amend_penalty(
        args.championship, args.round, args.ref, terms, reason=args.reason,
        effective_at=_required_when(args), signed_by=signer(args),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def penalty_rescind(args: argparse.Namespace) -> int:
    outcome = ledger_from(args).rescind_penalty(
        args.championship, args.round, args.ref, reason=args.reason,
        effective_at=_required_when(args), signed_by=signer(args),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def pole(args: argparse.Namespace) -> int:
    outcome = ledger_from(args).record_pole(
        args.championship, args.round, args.class_id, args.car,
        effective_at=parse_when(args.effective_at, option="--effective-at"),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def official(args: argparse.Namespace) -> int:
    outcome = ledger_from(args).declare_official(
        args.championship, args.round, effective_at=_required_when(args), actor=actor_of(args),
        source="cli",
    )
    return report(args, outcome)


def award(args: argparse.Namespace) -> int:
    recipient = {k: v for k, v in (("driver", args.driver), ("team", args.team), ("car", args.car)) if v}
    outcome = ledger_from(args).grant_award(
        args.award, name=args.name, series=args.series, recipient=recipient,
        effective_at=_required_when(args), signed_by=signer(args),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def invitation(args: argparse.Namespace) -> int:
    holder = {k: v for k, v in (("team", args.team), ("car", args.car), ("driver", args.driver)) if v}
    outcome = ledger_from(args).transition_invitation(
        args.event, args.route, args.status, holder=holder or None, reason=args.reason,
        effective_at=_required_when(args), actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def entry(args: argparse.Namespace) -> int:
    record = {"car": args.car, "team": args.team, "class": args.class_id, "drivers": args.driver}
    record |= {k: getattr(args, k) for k in ("from_round", "until_round") if getattr(args, k)}
    outcome = ledger_from(args).declare_entry(
        args.championship, record, effective_at=_required_when(args), actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


def tie(args: argparse.Namespace) -> int:
    order = [c.strip() for c in args.order.split(",") if c.strip()]
    outcome = ledger_from(args).resolve_tie(
        args.championship, args.class_id, order, reference=args.ref, reason=args.reason,
        effective_at=_required_when(args), signed_by=signer(args),
        actor=actor_of(args), source="cli",
    )
    return report(args, outcome)


# -- queries ----------------------------------------------------------------------------------


def standings(args: argparse.Namespace) -> int:
    view = ask(args, "standings")
    print_view(view, lambda v: standings_text(v, drivers=args.drivers), json_output=args.json)
    return 0


def invitations(args: argparse.Namespace) -> int:
    print_view(ask(args, "invitations"), invitations_text, json_output=args.json)
    return 0


def audit_explain(args: argparse.Namespace) -> int:
    print_view(ask(args, "explain"), explain_text, json_output=args.json)
    return 0


def audit_diff(args: argparse.Namespace) -> int:
    print_view(ask(args, "diff"), diff_text, json_output=args.json)
    return 0


def audit_timeline(args: argparse.Namespace) -> int:
    print_view(ask(args, "timeline"), timeline_text, json_output=args.json)
    return 0


def history(args: argparse.Namespace) -> int:
    print_view(ask(args, "history"), history_text, json_output=args.json)
    return 0


# -- the demo ---------------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    from services import demo as demo_season

    url = store_url(args)  # the default every command reads, so `paddock standings` sees the demo
    ledger = ledger_from(args, url)
    say: Callable[[str], None] = (lambda _: None) if args.json else (lambda s: print(s, file=sys.stderr))
    say(f"event log: {redact_url(url)}")
    outcomes = demo_season.load_demo(ledger, progress=lambda o: say(f"  {o.status:9} {o.what}"))
    added = sum(1 for o in outcomes if o.accepted)
    say(f"{added} new facts recorded, {len(outcomes) - added} already there")
    dates = [(parse_when(at, option="date"), label) for at, label in demo_season.TELLING_DATES]
    if args.json:
        print(as_json(_demo_json(ledger, url, outcomes, dates)))
        return 0
    for index, (at, label) in enumerate(dates):
        final = index == len(dates) - 1
        print(f"\n=== {label}{'' if final else ' (top 5 per class)'} ===\n")
        print(terminal(standings_text(ledger.standings(demo_season.ASLMS, as_of=at), top=None if final else 5)))
    print("\n=== Le Mans 2024 invitations, as of 5 Feb 2024 and now ===\n")
    print(terminal(invitations_text(ledger.invitations(demo_season.LEMANS, as_of=dates[1][0]))))
    print()
    print(terminal(invitations_text(ledger.invitations(demo_season.LEMANS))))
    if args.lemans:
        _lemans_desk(ledger, say)
    shown_url = redact_url(url)
    print(f"\nexplore: paddock standings {demo_season.ASLMS} --store {shown_url} --as-of 2024-02-05")
    if args.lemans:
        print(f"         paddock entry-list {demo_season.LEMANS} --store {shown_url} --as-of 2024-03-10")
    return 0


def _lemans_desk(ledger: Ledger, say: Callable[[str], None]) -> None:
    """The organiser's desk on top of the season: the two published entry lists and their diff."""
    from services import demo as demo_season
    from services.lemans_scenario import load_lemans_scenario

    outcomes = load_lemans_scenario(ledger)
    say(f"Le Mans desk: {sum(1 for o in outcomes if o.accepted)} new facts recorded")
    print("\n=== Le Mans 2024 entry list, version 1 as published on 19 Feb 2024 ===\n")
    print(terminal(entry_list_text(ledger.entry_list(demo_season.LEMANS, published=1))))
    print("\n=== What changed by version 2 (12 Mar 2024), and why ===\n")
    print(terminal(entry_list_diff_text(ledger.entry_list_diff(demo_season.LEMANS, 1, 2))))


def _demo_json(ledger: Ledger, url: str, outcomes: list[Outcome],
               dates: list[tuple[datetime | None, str]]) -> dict[str, Any]:
    from services import demo as demo_season

    return {
        "store": redact_url(url),
        "outcomes": [{"status": o.status, "what": o.what, "positions": list(o.positions)} for o in outcomes],
        "standings": [
            {"label": label, "view": ledger.standings(demo_season.ASLMS, as_of=at)} for at, label in dates
        ],
        "invitations": ledger.invitations(demo_season.LEMANS),
    }


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": demo,
    "season_register": season_register,
    "import_alkamel": import_alkamel,
    "penalty_impose": penalty_impose,
    "penalty_amend": penalty_amend,
    "penalty_rescind": penalty_rescind,
    "pole": pole,
    "official": official,
    "award": award,
    "invitation": invitation,
    "entry": entry,
    "tie": tie,
    "standings": standings,
    "invitations": invitations,
    "history": history,
    "audit_explain": audit_explain,
    "audit_timeline": audit_timeline,
    "audit_diff": audit_diff,
}

__all__ = ["HANDLERS", "StoreError"]
