"""The data of `paddock audit report`: standings per class, each car's points round by round, and
every decision of the timeline with the standings rows it changed.

Everything comes from the ledger's own queries (`standings`, `timeline`, `diff`) at one pinned
(as_of, known_at), so the report says exactly what those commands say, and a chart's last point
is the car's standings total by construction. No I/O here: rendering and writing are the
caller's (infra/report, infra/cli/audit_report.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.timing import require_aware
from services.ledger import Ledger

# Facts that are decisions: the stewards' (imposed, amended, rescinded) and tie decisions.
DECISION_KINDS = frozenset({"decision_imposed", "decision_amended", "decision_rescinded",
                            "tie_resolved"})
# A decision's effect is the diff between this long before its effective time and that time.
JUST_BEFORE = timedelta(microseconds=1)

Key = tuple[str, str]  # (class, car)


def build_report(ledger: Ledger, championship: str, *, as_of: datetime | None = None,
                 known_at: datetime | None = None) -> dict[str, Any]:
    """The report's data. Both times default to the ledger's clock, read once, so every part of
    the report answers for the same instant."""
    now = ledger.clock()
    as_of = require_aware(as_of, field="as_of") if as_of else now
    known_at = require_aware(known_at, field="known_at") if known_at else now
    standings = ledger.standings(championship, as_of=as_of, known_at=known_at)
    timeline = ledger.timeline(championship, as_of=as_of, known_at=known_at)
    moments = decision_moments(ledger, championship, timeline["facts"], known_at)
    changed_by = _changed_by(moments)
    rounds = [_round(r) for r in standings["rounds"]]
    published = [r["round"] for r in rounds if r["published"]]
    return {
        "championship": standings["championship"],
        "name": standings["name"],
        "as_of": as_of,
        "known_at": known_at,
        "generated_at": now,
        "log_position": standings["log_position"],
        "rules_version": standings["rules_version"],
        "complete": standings["complete"],
        "rounds": rounds,
        "classes": [_class_block(c, published, changed_by) for c in standings["classes"]],
        "decisions": moments,
        "timeline": [{**f, "decision": f["kind"] in DECISION_KINDS} for f in timeline["facts"]],
        "retroactive_after": timeline["retroactive_after"],
    }


# -- standings and the chart's series ------------------------------------------------------------


def _round(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "round": summary["round"],
        "name": summary["name"],
        "flag_at": summary["flag_at"],
        "status": summary["status"],
        "published": summary["published_at"] is not None,
        "decisions": len(summary["decisions"]),
    }


def _class_block(block: dict[str, Any], published: list[int],
                 changed_by: dict[Key, list[int]]) -> dict[str, Any]:
    return {
        "class": block["class"],
        "name": block["name"],
        "parent": block["parent"],
        "rows": [
            {**row, "progression": progression(row, published),
             "changed_by": changed_by.get((block["class"], row["car"]), [])}
            for row in block["rows"]
        ],
    }


def progression(row: dict[str, Any], published: Iterable[int]) -> list[dict[str, Any]]:
    """A car's cumulative points after each published round (0 where it did not race), so a
    chart's series is continuous and ends at the car's standings total."""
    by_round = {r["round"]: r for r in row["rounds"]}
    total = Decimal(0)
    series = []
    for number in sorted(set(published) | set(by_round)):
        result = by_round.get(number)
        gained = round_total(result) if result else Decimal(0)
        total += gained
        series.append({"round": number, "points": gained, "cumulative": total,
                       "entered": result is not None})
    return series


def round_total(result: dict[str, Any]) -> Decimal:
    """What one round added: race points, plus pole points, minus a deduction."""
    return Decimal(result["points"]) + Decimal(result["pole_points"]) - Decimal(result["deduction"])


# -- decisions and what they changed -------------------------------------------------------------


def decision_moments(ledger: Ledger, championship: str, facts: list[dict[str, Any]],
                     known_at: datetime) -> list[dict[str, Any]]:
    """Decisions grouped by effective time (stewards often publish several at once, and their
    effects on a class cannot be told apart), each group with the standings rows it changed."""
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for fact in facts:
        if fact["kind"] in DECISION_KINDS:
            groups.setdefault(fact["effective_at"], []).append(fact)
    return [_moment(ledger, championship, at, group, known_at) for at, group in groups.items()]


def _moment(ledger: Ledger, championship: str, at: datetime, decisions: list[dict[str, Any]],
            known_at: datetime) -> dict[str, Any]:
    diff = ledger.diff(championship, at - JUST_BEFORE, at, known_at=known_at)
    positions = [d["position"] for d in decisions]
    classes = list(dict.fromkeys(c["class"] for c in diff["changes"]))
    changes = sorted((_change(c, positions) for c in diff["changes"]),
                     key=lambda c: (classes.index(c["class"]), _place(c)))
    return {
        "effective_at": at,
        "rounds": sorted({d["round"] for d in decisions if d["round"] is not None}),
        "decisions": [
            {**d, "changed": [{"class": c["class"], "car": c["car"]} for c in changes
                              if d["position"] in c["decisions"]]}
            for d in decisions
        ],
        "changes": changes,
    }


def _change(change: dict[str, Any], decisions: list[int]) -> dict[str, Any]:
    """A diff row, with the decisions of its moment that caused it: those its causes cite, or all
    of them when it has no cited cause (a tie decision, a rescinded penalty: the fact is gone
    from the explanation, not added to it)."""
    cited = {c["position"] for c in change["causes"]}
    own = [p for p in decisions if p in cited]
    before, after = change["before"], change["after"]
    return {
        **change,
        "decisions": own or ([] if cited else list(decisions)),
        "places_gained": (before["position"] - after["position"]) if before and after else None,
        "points_change": (Decimal(after["points"]) - Decimal(before["points"]))
        if before and after else None,
    }


def _place(change: dict[str, Any]) -> int:
    """Where a changed row stands now (or stood, if it left the standings): the sort key."""
    return int((change["after"] or change["before"])["position"])


def _changed_by(moments: list[dict[str, Any]]) -> dict[Key, list[int]]:
    """(class, car) → log positions of the decisions that changed that standings row."""
    found: dict[Key, list[int]] = {}
    for moment in moments:
        for change in moment["changes"]:
            found.setdefault((change["class"], change["car"]), []).extend(change["decisions"])
    return found
