"""The points-progression chart of one class, as inline SVG (no script, no external asset).

One line per car: its cumulative points after each published round, from 0 at the start.
The leading cars get distinct colours (the same as their dot in the standings table) and a
label at the end of their line; the others are drawn thin and grey underneath, so a crowded
class stays readable. Every series carries `data-class`/`data-car`/`data-total` for tests and
a `<title>` per point as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from projections.canonical import decimal_number

PALETTE = ("#1f5fa8", "#d1495b", "#2a9d5c", "#e07b00", "#7b4fb3", "#00a3b4", "#8c5a3c",
           "#c2409a", "#6b8e23", "#394b59")
OTHER = "#b8bec6"
WIDTH, HEIGHT = 640, 340
LEFT, RIGHT, TOP, BOTTOM = 46, 58, 14, 40
LABEL_GAP = 12.0


def is_lead(index: int) -> bool:
    """The car at `index` (0-based) in its class's standings gets its own colour and label."""
    return index < len(PALETTE)


def series_color(index: int) -> str:
    """The colour of the car at `index` in its class's standings (grey beyond the leaders)."""
    return PALETTE[index] if is_lead(index) else OTHER


def points_text(value: Any) -> str:
    """Points as people write them: 83, 12.5 (exact; never a float's noise)."""
    return str(decimal_number(Decimal(str(value))))


@dataclass(frozen=True)
class Frame:
    """Maps rounds and points to SVG coordinates."""

    rounds: tuple[int, ...]
    top: float

    def x(self, slot: int) -> float:
        """Slot 0 is the start; slot i is the i-th round of the calendar."""
        span = WIDTH - LEFT - RIGHT
        return LEFT + span * slot / max(len(self.rounds), 1)

    def y(self, points: Decimal | float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(points) / self.top)

    def slot(self, number: int) -> int:
        return self.rounds.index(number) + 1


def nice_scale(maximum: float) -> tuple[float, float]:
    """An axis top and tick step of 1, 2 or 5 × 10^k with at most six steps."""
    if maximum <= 0:
        return 5.0, 1.0
    magnitude = 10 ** math.floor(math.log10(maximum))
    for factor in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        step = factor * magnitude
        if step >= 1 and maximum / step <= 6:
            return math.ceil(maximum / step) * step, step
    return maximum, maximum  # pragma: no cover - the loop always finds a step


def progression_svg(block: dict[str, Any], rounds: Sequence[dict[str, Any]]) -> str:
    """The chart of one class block of the report (rows with their `progression`)."""
    rows = block["rows"]
    highest = max((float(p["cumulative"]) for r in rows for p in r["progression"]), default=0.0)
    top, step = nice_scale(highest)
    frame = Frame(tuple(r["round"] for r in rounds), top)
    title_id = f"chart-title-{_token(block['class'])}"
    order = sorted(range(len(rows)), key=lambda i: (is_lead(i), -i))  # greys first
    parts = [
        (f'<svg class="progression" data-class="{escape(block["class"])}" role="img" '
         f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{title_id}">'),
        (f'<title id="{title_id}">{escape(block["class"])}: cumulative points per car after '
         "each round</title>"),
        _axes(frame, step, rounds),
        *(_series(block["class"], rows[i], i, frame) for i in order),
        _end_labels(rows, frame),
        "</svg>",
    ]
    return "\n".join(parts)


def _token(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text)


def _axes(frame: Frame, step: float, rounds: Sequence[dict[str, Any]]) -> str:
    lines = ['<g class="axes">']
    ticks = round(frame.top / step)
    for k in range(ticks + 1):
        value = k * step
        y = frame.y(value)
        lines.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        lines.append(f'<text class="tick y" x="{LEFT - 6}" y="{y + 4:.1f}">{_num(value)}</text>')
    base = HEIGHT - BOTTOM
    lines.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>')
    labels = [("start", "Start", True)] + [
        (str(r["round"]), f"R{r['round']}", bool(r["published"])) for r in rounds
    ]
    for slot, (key, label, published) in enumerate(labels):
        x = frame.x(slot)
        state = "" if published else " pending"
        lines.append(f'<text class="tick x{state}" data-round="{escape(key)}" x="{x:.1f}" '
                     f'y="{base + 16}">{escape(label)}</text>')
    lines.append(f'<text class="axis-title" x="{LEFT}" y="{HEIGHT - 4}">'
                 "cumulative points after each round</text>")
    lines.append("</g>")
    return "\n".join(lines)


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _series(class_id: str, row: dict[str, Any], index: int, frame: Frame) -> str:
    color = series_color(index)
    lead = is_lead(index)
    points = [(frame.x(0), frame.y(0))] + [
        (frame.x(frame.slot(p["round"])), frame.y(p["cumulative"])) for p in row["progression"]
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    group = "series lead" if lead else "series other"
    head = (f'<g class="{group}" data-class="{escape(class_id)}" data-car="{escape(row["car"])}" '
            f'data-total="{escape(points_text(row["points"]))}" stroke="{color}" fill="{color}">')
    tip = f'#{row["car"]} {row["team"]}: {points_text(row["points"])} pts'
    out = [head, f"<title>{escape(tip)}</title>",
           f'<polyline class="line" fill="none" points="{path}"/>']
    for p in row["progression"]:
        if p["entered"]:
            out.append(_point(row, p, frame, lead))
    out.append("</g>")
    return "\n".join(out)


def _point(row: dict[str, Any], p: dict[str, Any], frame: Frame, lead: bool) -> str:
    x, y = frame.x(frame.slot(p["round"])), frame.y(p["cumulative"])
    tip = (f"#{row['car']} after R{p['round']}: {points_text(p['cumulative'])} pts "
           f"(+{points_text(p['points'])})")
    radius = 3.2 if lead else 2.2
    return (f'<circle class="point" data-round="{p["round"]}" '
            f'data-cumulative="{escape(points_text(p["cumulative"]))}" cx="{x:.1f}" cy="{y:.1f}" '
            f'r="{radius}"><title>{escape(tip)}</title></circle>')


def _end_labels(rows: Sequence[dict[str, Any]], frame: Frame) -> str:
    """Car numbers at the end of the leading lines, nudged apart so none overlap."""
    ends = [(frame.y(r["progression"][-1]["cumulative"]), i) for i, r in enumerate(rows)
            if is_lead(i) and r["progression"]]
    if not ends:
        return ""
    x = frame.x(len(frame.rounds)) + 6
    ys = spread([y for y, _ in sorted(ends)], LABEL_GAP, TOP + 4, HEIGHT - BOTTOM)
    out = ['<g class="end-labels">']
    for y, (_, index) in zip(ys, sorted(ends)):
        out.append(f'<text class="end-label" data-car="{escape(rows[index]["car"])}" x="{x:.1f}" '
                   f'y="{y + 4:.1f}" fill="{series_color(index)}">#{escape(rows[index]["car"])}'
                   "</text>")
    out.append("</g>")
    return "\n".join(out)


def spread(ys: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Sorted positions moved apart to at least `gap`, kept within [low, high] when they fit."""
    placed: list[float] = []
    for y in ys:
        placed.append(max(y, low, placed[-1] + gap) if placed else max(y, low))
    overflow = placed[-1] - high if placed else 0.0
    if overflow > 0:
        placed = [y - overflow for y in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed
