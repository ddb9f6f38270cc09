"""How standings, invitations and history look on a terminal."""

from __future__ import annotations

from typing import Any

from infra.cli.render import table, when


def standings_text(view: dict[str, Any], *, drivers: bool = False, top: int | None = None) -> str:
    """`top` keeps the first rows of each class (ties at the cut are kept whole)."""
    rounds = view["rounds"]
    head = [
        f"{view['name']} — standings as of {when(view['as_of'])}, known at {when(view['known_at'])}",
        f"log position {view['log_position']} · rules version {view['rules_version']} · "
        + ("season complete" if view["complete"] else "season in progress"),
        "rounds: " + " · ".join(f"R{r['round']} {r['status']}" for r in rounds),
    ]
    blocks = ["\n".join(head)]
    for cls in view["classes"]:
        blocks.append(_class_block(_top(cls, top), [r["round"] for r in rounds], drivers))
    return "\n\n".join(blocks)


def _top(cls: dict[str, Any], top: int | None) -> dict[str, Any]:
    if top is None:
        return cls
    return {**cls, "rows": [r for r in cls["rows"] if r["position"] <= top],
            "drivers": [r for r in cls["drivers"] if r["position"] <= top]}


def _class_block(cls: dict[str, Any], round_numbers: list[int], drivers: bool) -> str:
    title = cls["name"] if cls["name"] == cls["class"] else f"{cls['class']} — {cls['name']}"
    if drivers:
        rows = [[_pos(r), r["driver"], f"#{r['car']}", r["team"], r["points"]] for r in cls["drivers"]]
        return f"{title} (drivers)\n" + table(["Pos", "Driver", "Car", "Team", "Pts"], rows, right=(0, 4))
    rows = []
    for r in cls["rows"]:
        by_round = {x["round"]: x for x in r["rounds"]}
        rows.append([_pos(r), f"#{r['car']}", r["team"],
                     *(_round_cell(by_round.get(n)) for n in round_numbers), r["points"], _note(r)])
    headers = ["Pos", "Car", "Team", *(f"R{n}" for n in round_numbers), "Pts", "Tie-break"]
    right = (0, *range(3, 4 + len(round_numbers)))
    ties = [r for r in cls["rows"] if r["tie"] == "unresolved"]
    footer = "\n= unresolved tie: level on points and countback; needs a decision" if ties else ""
    return f"{title}\n" + table(headers, rows, right=right) + footer


def _pos(row: dict[str, Any]) -> str:
    return f"{row['position']}=" if row["tie"] == "unresolved" else str(row["position"])


def _round_cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return ""
    total = result["points"] + result["pole_points"] - result["deduction"]
    marks = ("p" if result["pole_points"] else "") + ("-" if result["deduction"] else "")
    shown = when(total) if result["classified"] or total else ("nc" if result["status"] == "not_classified" else result["status"][:3])
    return f"{shown}{marks}"


def _note(row: dict[str, Any]) -> str:
    if row["tie"] == "unresolved":
        return "tie"
    return row["decided_by"] or ""


def invitations_text(view: dict[str, Any]) -> str:
    head = (f"{view['name']} — invitations as of {when(view['as_of'])}, known at "
            f"{when(view['known_at'])}\nlog position {view['log_position']} · capacity "
            f"{view['capacity']} cars · {view['summary']['with_holder']} of "
            f"{view['summary']['invitation_routes']} invitation routes have a holder")
    rows = [
        [r["route"], r["target_class"], r["kind"], r["status"], _holder(r["holder"]),
         "; ".join(r["notes"])]
        for r in view["routes"]
    ]
    return head + "\n\n" + table(["Route", "Class", "Kind", "Status", "Holder", "Notes"], rows)


def _holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "—"
    if holder.get("car"):
        return f"#{holder['car']} {holder.get('team', '')}".strip()
    parts = [holder.get("driver"), holder.get("team")]
    return " / ".join(p for p in parts if p)


def history_text(view: dict[str, Any]) -> str:
    subject = f" car #{view['car']}" if view["car"] else ""
    head = f"{view['championship']}{subject} — {len(view['events'])} facts, log position {view['log_position']}"
    rows = [
        [e["position"], when(e["effective_at"]), when(e["recorded_at"]), e["summary"], e["actor"]]
        for e in view["events"]
    ]
    return head + "\n\n" + table(["Pos", "Effective at", "Recorded at", "Fact", "By"], rows, right=(0,))


def explain_text(view: dict[str, Any]) -> str:
    blocks = [(f"{view['championship']} car #{view['car']} — points as of {when(view['as_of'])}, "
              f"known at {when(view['known_at'])}, log position {view['log_position']}")]
    for cls in view["classes"]:
        rows = [
            [f"R{x['round']}", _result(x), x["race_points"], x["pole_points"] or "",
             f"-{when(x['deduction'])}" if x["deduction"] else "", x["total"],
             "; ".join(f"@{b['position']} {b['fact']}" for b in x["because"])]
            for x in cls["lines"]
        ]
        rows.append(["", "", "", "", "", cls["sum_of_lines"], f"= {when(cls['points'])} in the standings"])
        team = f", {cls['team']}" if cls["team"] else ""  # no team yet: a pole before any race
        head = f"{cls['class']}: position {cls['position']}{'=' if cls['tie'] else ''}{team}"
        blocks.append(head + "\n" + table(["Round", "Result", "Race", "Pole", "Ded.", "Total", "Because"],
                                            rows, right=(2, 3, 4, 5)))
    return "\n\n".join(blocks)


def _result(line: dict[str, Any]) -> str:
    status = line["status"].replace("_", " ")
    place = f"P{line['class_position']}" if line["class_position"] else ""
    extra = f" ×{when(line['multiplier'])}" if str(line["multiplier"]) not in ("1", "1.0") else ""
    half = " (half points)" if line["half_points"] else ""
    return f"{place} {status}{extra}{half}".strip()


def timeline_text(view: dict[str, Any]) -> str:
    hours = view["retroactive_after"].total_seconds() / 3600
    head = (f"{view['championship']} — {len(view['facts'])} facts in effective-time order, "
            f"{view['retroactive']} retroactive (recorded more than {hours:g} h after taking "
            f"effect, marked !), log position {view['log_position']}")
    rows = [
        ["!" if f["retroactive"] else "", when(f["effective_at"]), when(f["recorded_at"]),
         f["position"], f["summary"], f["actor"]]
        for f in view["facts"]
    ]
    return head + "\n\n" + table(["Retro", "Effective at", "Recorded at", "Pos", "Fact", "By"], rows,
                                  right=(3,))


def diff_text(view: dict[str, Any]) -> str:
    head = (f"{view['championship']} — {len(view['changes'])} rows changed between "
            f"{when(view['from'])} and {when(view['to'])} (known at {when(view['known_at'])})")
    rows = [
        [c["class"], f"#{c['car']}", c["team"], _standing(c["before"]), _standing(c["after"]),
         ("(others) " if c["caused_by_others"] else "")
         + "; ".join(f"@{x['position']} {x['fact']}" for x in c["causes"])]
        for c in view["changes"]
    ]
    return head + "\n\n" + table(["Class", "Car", "Team", "Before", "After", "Because"], rows)


def _standing(mark: dict[str, Any] | None) -> str:
    if mark is None:
        return "—"
    tie = "=" if mark["tie"] else ""
    return f"P{mark['position']}{tie} {when(mark['points'])} pts"
