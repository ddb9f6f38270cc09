"""The audit report as one self-contained HTML document: inline CSS and SVG, no script, no
external reference, so it opens offline, can be mailed or archived as is, and prints.

Input is the data of `services.audit_report.build_report` (plain dicts). Every text taken from
it goes through `html.escape`, team names and decision reasons included. Elements carry
`data-class`, `data-car`, `data-position` and stable ids so a browser test can find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from infra.report.chart import is_lead, points_text, progression_svg, series_color
from infra.report.style import CSS
from projections.canonical import iso_utc
from services.audit_report import round_total

STATUS_SHORT = {"not_classified": "NC", "retired": "RET", "did_not_start": "DNS",
                "disqualified": "DSQ", "excluded": "EXC"}
KIND_LABEL = {"decision_imposed": "imposed", "decision_amended": "amended",
              "decision_rescinded": "rescinded", "tie_resolved": "tie decision"}


def render_report(data: dict[str, Any]) -> str:
    """The whole document."""
    title = f"{data['name']} — audit report"
    body = "\n".join([
        _header(data),
        '<main class="page">',
        _summary(data),
        _standings_section(data),
        _decisions_section(data),
        _timeline_section(data),
        _footer(data),
        "</main>",
    ])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="paddock audit report">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n"
        f'<body data-championship="{escape(data["championship"])}">\n{body}\n</body>\n</html>\n'
    )


# -- small helpers --------------------------------------------------------------------------------


def when(value: datetime) -> str:
    """A UTC time for people; seconds only when they are not zero."""
    utc = value.astimezone(UTC)
    shape = "%Y-%m-%d %H:%M" if utc.second == 0 and utc.microsecond == 0 else "%Y-%m-%d %H:%M:%S"
    return utc.strftime(shape) + " UTC"


def time_tag(value: datetime) -> str:
    return f'<time datetime="{escape(iso_utc(value))}">{escape(when(value))}</time>'


def lag_text(lag: timedelta) -> str:
    """How long after taking effect a fact was recorded, in the largest sensible unit."""
    hours = lag.total_seconds() / 3600
    if hours < 1:
        return f"{max(lag.total_seconds() / 60, 0):.0f} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


def _dl(items: Iterable[tuple[str, str]]) -> str:
    return '<dl class="meta">' + "".join(
        f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>" for k, v in items) + "</dl>"


def _decision_labels(data: dict[str, Any]) -> dict[int, tuple[int, str]]:
    """Log position of each decision → (its moment's index, its summary)."""
    return {d["position"]: (i, d["summary"])
            for i, m in enumerate(data["decisions"]) for d in m["decisions"]}


def _moment_title(moment: dict[str, Any]) -> str:
    rounds = ", ".join(f"R{n}" for n in moment["rounds"]) or "Championship"
    count = len(moment["decisions"])
    return f"{rounds} · {count} decision{'s' if count != 1 else ''}"


# -- header and summary ------------------------------------------------------------------------------


def _header(data: dict[str, Any]) -> str:
    position = int(data["log_position"])
    meta = _dl([
        ("Championship", escape(data["championship"])),
        ("As of", time_tag(data["as_of"])),
        ("Known at", time_tag(data["known_at"])),
        ("Log position", f'<span data-log-position="{position}">{position}</span>'),
        ("Rules version", escape(str(data["rules_version"]))),
        ("Generated", time_tag(data["generated_at"])),
    ])
    rounds = "".join(
        f'<li class="{"" if r["published"] else "pending"}" data-round="{r["round"]}" '
        f'title="{escape(r["name"])}">R{r["round"]} <span class="status">'
        f'{escape(r["status"])}</span></li>'
        for r in data["rounds"]
    )
    season = "season complete" if data["complete"] else "season in progress"
    nav = ('<nav class="contents"><a href="#standings">Standings &amp; progression</a>'
           '<a href="#decisions">Decisions</a><a href="#timeline">Timeline</a></nav>')
    return (
        '<header class="report-header"><div class="page">'
        f'<p class="eyebrow">Paddock audit report · {escape(season)}</p>'
        f"<h1>{escape(data['name'])}</h1>{meta}"
        f'<ul class="rounds" aria-label="rounds">{rounds}</ul>{nav}</div></header>'
    )


def _summary(data: dict[str, Any]) -> str:
    leaders = [
        f"<strong>#{escape(b['rows'][0]['car'])}</strong><span>{escape(b['class'])} leader · "
        f"{escape(b['rows'][0]['team'])} · {escape(points_text(b['rows'][0]['points']))} pts"
        f"{' (tied)' if b['rows'][0]['tie'] == 'unresolved' else ''}</span>"
        for b in data["classes"] if b["rows"]
    ]
    decisions = sum(len(m["decisions"]) for m in data["decisions"])
    changed = sum(len(m["changes"]) for m in data["decisions"])
    cards = [f'<div class="card">{text}</div>' for text in leaders]
    said = (f"decision{'s' if decisions != 1 else ''} changed {changed} standings "
            f"row{'s' if changed != 1 else ''}" if decisions else "no decision up to this date")
    cards.append(f'<a class="card alert" href="#decisions"><strong>{decisions}</strong>'
                 f"<span>{said}</span></a>")
    return f'<div class="summary">{"".join(cards)}</div>'


# -- standings and charts -------------------------------------------------------------------------


def _standings_section(data: dict[str, Any]) -> str:
    labels = _decision_labels(data)
    blocks = [_class_block(b, data["rounds"], labels) for b in data["classes"]]
    return (
        '<section class="part" id="standings"><h2>Standings and points progression</h2>'
        '<p class="lede">Per class, by car. Round cells give the points scored that round '
        '(<span class="pole">P</span> pole point, <span class="ded">−</span> deduction); '
        "highlighted rows were changed by a decision. The chart shows each car's cumulative "
        "points; the leading cars are coloured like their dot in the table.</p>"
        + "\n".join(blocks) + "</section>"
    )


def _class_block(block: dict[str, Any], rounds: Sequence[dict[str, Any]],
                 labels: dict[int, tuple[int, str]]) -> str:
    cid = escape(block["class"])
    sub = f' <span class="sub">{escape(block["name"])}</span>' if block["name"] != block["class"] else ""
    parent = f' <span class="sub">(scores in {escape(block["parent"])})</span>' if block["parent"] else ""
    return (
        f'<section class="class-block" id="class-{cid}" data-class="{cid}">'
        f"<h3>{cid}{sub}{parent}</h3>"
        f'<div class="table-wrap">{_standings_table(block, rounds, labels)}</div>'
        f"{_chart(block, rounds)}</section>"
    )


def _chart(block: dict[str, Any], rounds: Sequence[dict[str, Any]]) -> str:
    cid = escape(block["class"])
    if not block["rows"]:
        return f'<figure class="chart empty" data-class="{cid}"><p class="none">No points yet.</p></figure>'
    return (f'<figure class="chart" data-class="{cid}">{progression_svg(block, rounds)}'
            f"<figcaption>{_legend(block)}</figcaption></figure>")


def _standings_table(block: dict[str, Any], rounds: Sequence[dict[str, Any]],
                     labels: dict[int, tuple[int, str]]) -> str:
    numbers = [r["round"] for r in rounds]
    head = ('<th scope="col" class="num">Pos</th><th scope="col">Car</th>'
            '<th scope="col">Team</th>'
            + "".join(f'<th scope="col" class="num" title="{escape(r["name"])}">R{r["round"]}</th>'
                      for r in rounds)
            + '<th scope="col" class="num">Pts</th><th scope="col">Notes</th>')
    body = "\n".join(_standings_row(block["class"], i, row, numbers, labels)
                     for i, row in enumerate(block["rows"])) or (
        f'<tr class="empty"><td colspan="{len(numbers) + 5}">No car has a result yet.</td></tr>')
    count = len(block["rows"])
    return (
        f'<table class="standings" data-class="{escape(block["class"])}">'
        f"<caption>{escape(block['class'])} standings · {count} car{'s' if count != 1 else ''}"
        f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _standings_row(class_id: str, index: int, row: dict[str, Any], numbers: Sequence[int],
                   labels: dict[int, tuple[int, str]]) -> str:
    by_round = {r["round"]: r for r in row["rounds"]}
    tied = row["tie"] == "unresolved"
    position = f"{row['position']}{'=' if tied else ''}"
    changed = row.get("changed_by", [])
    attrs = (f'data-class="{escape(class_id)}" data-car="{escape(row["car"])}" '
             f'data-position="{row["position"]}" data-points="{escape(points_text(row["points"]))}"')
    if changed:
        attrs += f' class="changed" data-changed-by="{" ".join(str(p) for p in changed)}"'
    cells = "".join(f'<td class="num">{_round_cell(by_round.get(n))}</td>' for n in numbers)
    return (
        f"<tr {attrs}><td class=\"num\">{escape(position)}</td>"
        f'<th scope="row"><span class="dot" style="background:{series_color(index)}"></span>'
        f"#{escape(row['car'])}</th><td>{escape(row['team'])}</td>{cells}"
        f'<td class="num pts">{escape(points_text(row["points"]))}</td>'
        f"<td>{_notes(row, changed, labels)}</td></tr>"
    )


def _round_cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return '<span class="out" title="not entered">·</span>'
    total = round_total(result)
    status = result["status"]
    tip = (f"P{result['position']} " if result["position"] else "") + status.replace("_", " ")
    if not result["classified"] and not total:
        return f'<span class="out" title="{escape(tip)}">{escape(STATUS_SHORT.get(status, status))}</span>'
    marks = ('<span class="pole" title="pole point">P</span>' if result["pole_points"] else "")
    if result["deduction"]:
        marks += (f'<span class="ded" title="deduction of {escape(points_text(result["deduction"]))}'
                  '">−</span>')
    return f'<span title="{escape(tip)}">{escape(points_text(total))}</span>{marks}'


def _notes(row: dict[str, Any], changed: Sequence[int], labels: dict[int, tuple[int, str]]) -> str:
    notes = []
    if row["tie"] == "unresolved":
        notes.append('<span class="badge tie" title="level on points and countback: needs a '
                     'decision">unresolved tie</span>')
    if row.get("decided_by"):
        how = str(row["decided_by"])
        tip = ("placed among cars level on points by countback" if how == "countback"
               else "placed among cars level on points by a tie decision")
        notes.append(f'<span class="badge countback" title="{tip}">{escape(how)}</span>')
    for index in sorted({labels[p][0] for p in changed if p in labels}):
        tips = "; ".join(s for p, (i, s) in labels.items() if i == index and p in changed)
        notes.append(f'<a class="badge decision" href="#moment-{index + 1}" title="{escape(tips)}">'
                     "changed by decision</a>")
    return "".join(notes)


def _legend(block: dict[str, Any]) -> str:
    items = "".join(
        f'<li class="{"lead" if is_lead(i) else "other"}" data-car="{escape(r["car"])}" '
        f'title="#{escape(r["car"])} {escape(r["team"])}: {escape(points_text(r["points"]))} pts">'
        f'<span class="swatch" style="background:{series_color(i)}"></span>'
        f'<b>#{escape(r["car"])}</b> {escape(points_text(r["points"]))} '
        f'<span class="team">{escape(r["team"])}</span></li>'
        for i, r in enumerate(block["rows"])
    )
    return f'<ul class="legend" aria-label="{escape(block["class"])} cars">{items}</ul>'


# -- decisions --------------------------------------------------------------------------------------


def _decisions_section(data: dict[str, Any]) -> str:
    moments = [_moment(i, m) for i, m in enumerate(data["decisions"])]
    inner = "\n".join(moments) or '<p class="none">No decision up to this date.</p>'
    return (
        '<section class="part" id="decisions"><h2>Decisions and what they changed</h2>'
        '<p class="lede">Stewards\' and tie decisions, grouped by the time they took effect, '
        "each with the standings rows it changed (just before → at that time, as known at the "
        "report's known-at).</p>" + inner + "</section>"
    )


def _moment(index: int, moment: dict[str, Any]) -> str:
    items = "".join(_decision_item(d) for d in moment["decisions"])
    return (
        f'<article class="moment" id="moment-{index + 1}" '
        f'data-effective-at="{escape(iso_utc(moment["effective_at"]))}">'
        f'<h3>{escape(_moment_title(moment))} <span class="when">· effective '
        f"{time_tag(moment['effective_at'])}</span></h3>"
        f'<ul class="decision-list">{items}</ul>{_changes_table(moment)}</article>'
    )


def _decision_item(d: dict[str, Any]) -> str:
    late = (f' <span class="badge late" title="recorded {escape(lag_text(d["recorded_after"]))} '
            f'after taking effect">retroactive</span>' if d["retroactive"] else "")
    rows = len(d["changed"])
    return (
        f'<li class="decision" id="fact-{d["position"]}" data-position="{d["position"]}" '
        f'data-kind="{escape(d["kind"])}"><span class="badge kind">'
        f'{escape(KIND_LABEL.get(d["kind"], d["kind"]))}</span>{escape(d["summary"])}{late}'
        f'<div class="by">by {escape(d["actor"])} · recorded {time_tag(d["recorded_at"])} · '
        f'log position {d["position"]} · changed {rows} row{"s" if rows != 1 else ""}</div></li>'
    )


def _changes_table(moment: dict[str, Any]) -> str:
    if not moment["changes"]:
        return '<p class="none">No standings row changed.</p>'
    head = "".join(f'<th scope="col"{cls}>{name}</th>' for name, cls in (
        ("Class", ""), ("Car", ""), ("Team", ""), ("Before", ""), ("After", ""),
        ("Change", ' class="num"'), ("Because", "")))
    positions = [d["position"] for d in moment["decisions"]]
    body = "".join(_change_row(c, positions) for c in moment["changes"])
    return (f'<table class="changes"><caption>Standings rows changed</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def short_fact(text: str) -> str:
    """A cause without its parenthesised detail (kept in the tooltip): what and on whom."""
    return text.split(" (", 1)[0]


def _anchor(position: int, decisions: Sequence[int]) -> str:
    """A cited decision of the same moment links to its entry, any other fact to the timeline."""
    return f"fact-{position}" if position in decisions else f"log-{position}"


def _change_row(c: dict[str, Any], decisions: Sequence[int]) -> str:
    trend = _trend(c.get("places_gained") or c.get("points_change") or 0)
    causes = "".join(
        f'<a class="cause" href="#{_anchor(x["position"], decisions)}" title="{escape(x["fact"])}">'
        f'<b>@{x["position"]}</b> {escape(short_fact(x["fact"]))}</a>'
        for x in c["causes"]
    )
    if c["caused_by_others"]:
        causes = '<span class="cause">moved because of others:</span>' + causes
    return (
        f'<tr class="changed {trend}" data-class="{escape(c["class"])}" data-car="{escape(c["car"])}" '
        f'data-decisions="{" ".join(str(p) for p in c["decisions"])}">'
        f'<td>{escape(c["class"])}</td><th scope="row">#{escape(c["car"])}</th>'
        f'<td>{escape(c["team"])}</td><td class="mark">{_standing(c["before"])}</td>'
        f'<td class="mark">{_standing(c["after"])}</td><td class="num delta">{_delta(c)}</td>'
        f"<td>{causes}</td></tr>"
    )


def _trend(sign: Any) -> str:
    """Places first, points when the place held: up is `gained`, down is `lost`."""
    return "gained" if sign > 0 else "lost" if sign < 0 else "level"


def _standing(mark: dict[str, Any] | None) -> str:
    if mark is None:
        return '<span class="out">not in the standings</span>'
    tie = "=" if mark["tie"] else ""
    return f"P{mark['position']}{tie} · {escape(points_text(mark['points']))} pts"


def _delta(c: dict[str, Any]) -> str:
    parts = []
    gained = c.get("places_gained")
    if gained:
        parts.append(f"{'▲' if gained > 0 else '▼'}{abs(gained)} "
                     f"place{'s' if abs(gained) != 1 else ''}")
    change = c.get("points_change")
    if change:
        parts.append(f"{'+' if change > 0 else '−'}{escape(points_text(abs(change)))} pts")
    return "<br>".join(parts) or "tie status"


# -- timeline and footer ----------------------------------------------------------------------------


def _timeline_section(data: dict[str, Any]) -> str:
    labels = _decision_labels(data)
    hours = data["retroactive_after"].total_seconds() / 3600
    head = "".join(f'<th scope="col"{cls}>{name}</th>' for name, cls in (
        ("Effective at", ""), ("Recorded at", ""), ("Log", ' class="num"'), ("Fact", ""),
        ("By", "")))
    body = "".join(_timeline_row(f, labels) for f in data["timeline"])
    late = sum(1 for f in data["timeline"] if f["retroactive"])
    return (
        '<section class="part" id="timeline"><h2>Timeline</h2>'
        f'<p class="lede">{len(data["timeline"])} facts in effective-time order, with when '
        f"Paddock recorded them; {late} were recorded more than {hours:g} h after taking effect "
        "(retroactive). Decisions are highlighted and link to what they changed.</p>"
        f'<table class="timeline"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        "</section>"
    )


def _timeline_row(f: dict[str, Any], labels: dict[int, tuple[int, str]]) -> str:
    summary = escape(f["summary"])
    if f["decision"] and f["position"] in labels:
        summary = f'<a href="#moment-{labels[f["position"]][0] + 1}">{summary}</a>'
    late = (f' <span class="badge late" title="recorded {escape(lag_text(f["recorded_after"]))} '
            'after taking effect">retroactive</span>' if f["retroactive"] else "")
    cls = ' class="decision"' if f["decision"] else ""
    return (
        f'<tr{cls} id="log-{f["position"]}" data-position="{f["position"]}" '
        f'data-kind="{escape(f["kind"])}"><td class="when">{time_tag(f["effective_at"])}</td>'
        f'<td class="when">{time_tag(f["recorded_at"])}{late}</td>'
        f'<td class="num">{f["position"]}</td><td>{summary}</td><td>{escape(f["actor"])}</td></tr>'
    )


def _footer(data: dict[str, Any]) -> str:
    command = (f"paddock audit report {data['championship']} --as-of {iso_utc(data['as_of'])} "
               f"--known-at {iso_utc(data['known_at'])} --out report.html")
    return (
        '<footer class="colophon">Every figure is a fold of the event log up to position '
        f"{data['log_position']}, as of {escape(when(data['as_of']))} and as known at "
        f"{escape(when(data['known_at']))}; the same command gives the same report: "
        f"<code>{escape(command)}</code></footer>"
    )
