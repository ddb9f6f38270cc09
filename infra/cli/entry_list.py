"""`paddock entry-list` (the list as of any date, or as published, and what changed between two
versions) and `paddock organiser` (the organiser's decisions on it)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from domain.errors import InvalidInputError
from infra.cli.args import parse_when
from infra.cli.asking import ask
from infra.cli.context import actor_of, ledger_from, report
from infra.cli.render import print_view, table, when


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    el = sub.add_parser("entry-list", parents=[common],
                        help="a target event's entry list: entries, pending, reserves, free places")
    el.add_argument("event")
    el.add_argument("--as-of", help="effective time (default: now)")
    el.add_argument("--known-at", help="record time: only what was recorded by then")
    el.add_argument("--published", type=int, metavar="N", help="the list as version N was published")
    el.add_argument("--diff", type=int, nargs=2, metavar=("N", "M"),
                    help="what changed between published versions N and M, and why")
    el.set_defaults(handler="entry_list")

    org = sub.add_parser("organiser", help="the organiser's decisions on an entry list").add_subparsers(
        dest="sub", required=True)
    cap = org.add_parser("capacity", parents=[common], help="set the places of a class (or the total)")
    cap.add_argument("event")
    cap.add_argument("--class", dest="class_id", help="omit for the event's total")
    cap.add_argument("--places", type=int, required=True)
    _decision_args(cap, "capacity")
    grant = org.add_parser("grant", parents=[common], help="a place granted by the selection committee")
    grant.add_argument("event")
    grant.add_argument("--class", dest="class_id", required=True)
    grant.add_argument("--team", required=True)
    grant.add_argument("--car", required=True)
    grant.add_argument("--ref", required=True, help="the committee's decision reference")
    _decision_args(grant, "grant")
    res = org.add_parser("reserves", parents=[common], help="rank the reserves of a class (replaces)")
    res.add_argument("event")
    res.add_argument("--class", dest="class_id", required=True)
    res.add_argument("--reserve", action="append", required=True, metavar="[CLASS:]TEAM#CAR",
                     help="in order; repeat: --reserve 'Team A#12' --reserve 'Team B#7' "
                          "(with --class overall, each names its class: 'LMP2:Team A#12')")
    _decision_args(res, "reserves")
    pub = org.add_parser("publish", parents=[common], help="publish the next version of the list")
    pub.add_argument("event")
    pub.add_argument("--note", default="")
    pub.add_argument("--effective-at", required=True, help="the publication date")
    pub.set_defaults(handler="organiser_publish")


def _decision_args(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--reason", default="")
    p.add_argument("--effective-at", required=True)
    p.set_defaults(handler=f"organiser_{name}")


def _when(args: argparse.Namespace) -> Any:
    value = parse_when(args.effective_at, option="--effective-at")
    assert value is not None  # required by argparse
    return value


def entry_list(args: argparse.Namespace) -> int:
    if args.diff:
        before, after = args.diff
        print_view(ask(args, "entry-list-diff", **{"from": before, "to": after}), diff_text,
                   json_output=args.json)
        return 0
    print_view(ask(args, "entry-list"), entry_list_text, json_output=args.json)
    return 0


def organiser_capacity(args: argparse.Namespace) -> int:
    return report(args, ledger_from(args).change_capacity(
        args.event, args.class_id, args.places, reason=args.reason, effective_at=_when(args),
        actor=actor_of(args), source="cli"))


def organiser_grant(args: argparse.Namespace) -> int:
    return report(args, ledger_from(args).grant_place(
        args.event, args.class_id, team=args.team, car=args.car, reference=args.ref,
        reason=args.reason, effective_at=_when(args), actor=actor_of(args), source="cli"))


def organiser_reserves(args: argparse.Namespace) -> int:
    overall = args.class_id == "overall"
    ranked = [_reserve(text, i, overall) for i, text in enumerate(args.reserve, start=1)]
    return report(args, ledger_from(args).rank_reserves(
        args.event, args.class_id, ranked, reason=args.reason, effective_at=_when(args),
        actor=actor_of(args), source="cli"))


def _reserve(text: str, index: int, overall: bool) -> dict[str, str]:
    class_id, _, rest = text.partition(":") if overall else ("", "", text)
    team, _, car = rest.rpartition("#")
    if not team.strip() or not car.strip() or (overall and not class_id.strip()):
        example = "'LMP2:Team A#12'" if overall else "'Team A#12'"
        raise InvalidInputError(f"--reserve #{index} '{text}': give "
                                f"{'CLASS:' if overall else ''}TEAM#CAR, e.g. {example}")
    out = {"team": team.strip(), "car": car.strip()}
    return {"class": class_id.strip(), **out} if overall else out


def organiser_publish(args: argparse.Namespace) -> int:
    return report(args, ledger_from(args).publish_entry_list(
        args.event, note=args.note, effective_at=_when(args), actor=actor_of(args), source="cli"))


def entry_list_text(view: dict[str, Any]) -> str:
    version = view["published"]
    title = (f"version {version['version']} as published ({version['note']})" if version
             else f"as of {when(view['as_of'])}, known at {when(view['known_at'])}")
    out = [f"{view['name']} — entry list {title}",
           (f"log position {view['log_position']} · {view['entries']} of {view['capacity']} "
            f"places taken · {view['free']} free")]
    for c in view["classes"]:
        out += ["", f"{c['class']}: {len(c['entries'])} of {c['capacity']} places"
                    + (f", {len(c['pending'])} pending" if c["pending"] else "")
                    + (f", {c['free']} free" if c["free"] else "")
                    + (f", {c['over']} over capacity" if c["over"] else "")]
        rows = [[i, _who(x), x["basis"], _why(x)] for i, x in enumerate(c["entries"], start=1)]
        rows += [["…", _who(x), "pending", _why(x)] for x in c["pending"]]
        rows += [[f"R{i}", _who(x), "reserve", x["why"]] for i, x in enumerate(c["reserves"], start=1)]
        rows += [["✗", _who(x), x["state"], _why(x)] for x in [*c["refused"], *c["released"]]]
        out.append(table(["#", "Entry", "Basis", "Why (log positions)"], rows, right=[0]))
    return "\n".join(out)


def _who(line: dict[str, Any]) -> str:
    car = f"#{line['car']} " if line["car"] else ""
    driver = f" ({line['driver']})" if line["driver"] else ""
    return f"{car}{line['team'] or '—'}{driver}"


def _why(line: dict[str, Any]) -> str:
    facts = f" [{', '.join(map(str, line['facts']))}]" if line["facts"] else ""
    note = f" — {line['note']}" if line["note"] else ""
    return f"{line['why']}{note}{facts}"


def _what_became(line: dict[str, Any]) -> str:
    if line["now"]:
        return str(line["now"]["note"] or line["now"]["why"])
    successor = line.get("route_now_held_by")
    if successor:
        return f"{line['route']} now goes to {_who(successor)}"
    return "no longer listed"


def _pending(line: dict[str, Any]) -> str:
    return " (pending)" if line["state"] == "pending" else ""


def diff_text(view: dict[str, Any]) -> str:
    old, new = view["from"], view["to"]
    out = [(f"{view['event']}: entry list version {old['version']} "
            f"({when(view['from_as_of'])}) → version {new['version']} ({when(view['to_as_of'])})")]
    if not view["classes"]:
        return out[0] + "\nno change"
    for c in view["classes"]:
        before, after = c["capacity"]
        out += ["", c["class"] + (f": capacity {before} → {after}" if before != after else "")]
        out += [f"  + {_who(x)}{_pending(x)}: {x['why']}" for x in c["added"]]
        out += [f"  − {_who(x)}{_pending(x)}: {_what_became(x)}" for x in c["removed"]]
    return "\n".join(out)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "entry_list": entry_list,
    "organiser_capacity": organiser_capacity,
    "organiser_grant": organiser_grant,
    "organiser_reserves": organiser_reserves,
    "organiser_publish": organiser_publish,
}
