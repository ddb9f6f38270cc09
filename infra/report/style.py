"""The report's stylesheet, inlined into the document so it works offline and prints alone.

System fonts only (no web fonts); colours survive printing (`print-color-adjust`).
"""

from __future__ import annotations

CSS = """
:root {
  --ink: #1b2430; --muted: #5b6675; --line: #d9dee5; --soft: #f4f6f9; --accent: #1f5fa8;
  --gain: #1e7b46; --gain-bg: #e5f4ea; --loss: #b4232f; --loss-bg: #fbe7e9;
  --flag: #8a5a00; --flag-bg: #fff4d6; --changed-bg: #fff8e1;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "DejaVu Sans", sans-serif;
  font-variant-numeric: tabular-nums;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.page { max-width: 1240px; margin: 0 auto; padding: 0 28px 40px; }

/* header */
.report-header { background: #14213d; color: #fff; padding: 22px 0 18px; margin-bottom: 8px; }
.report-header .page { padding-bottom: 0; }
.report-header .eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px;
  color: #aab6cc; margin: 0; }
.report-header h1 { margin: 2px 0 14px; font-size: 26px; font-weight: 650; }
.meta { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 10px 18px;
  margin: 0; }
.meta div { border-left: 3px solid #3d5a8a; padding-left: 9px; }
.meta dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #aab6cc; }
.meta dd { margin: 1px 0 0; font-weight: 600; font-size: 13px; overflow-wrap: anywhere; }
.rounds { list-style: none; display: flex; flex-wrap: wrap; gap: 6px; padding: 0;
  margin: 14px 0 0; }
.rounds li { background: #22325a; border-radius: 4px; padding: 3px 9px; font-size: 12px; }
.rounds li .status { color: #aab6cc; }
.rounds li.pending { opacity: .6; }
nav.contents { display: flex; gap: 18px; font-size: 13px; margin: 14px 0 0; }
nav.contents a { color: #cfe0ff; }

/* summary */
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 18px 0 4px; }
.summary .card { flex: 1 1 200px; border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 14px; background: var(--soft); }
.summary .card strong { display: block; font-size: 20px; }
.summary .card span { color: var(--muted); font-size: 12px; }
.summary .card.alert { background: var(--changed-bg); border-color: #f0d58a; color: var(--ink); }

/* sections */
section.part { margin-top: 26px; }
section.part > h2 { font-size: 19px; margin: 0 0 4px; padding-bottom: 6px;
  border-bottom: 2px solid var(--ink); }
section.part > p.lede { color: var(--muted); margin: 6px 0 14px; }
.class-block { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr);
  gap: 22px; align-items: start; margin: 18px 0 28px; break-inside: avoid-page; }
.class-block h3 { grid-column: 1 / -1; margin: 0; font-size: 16px; }
.class-block h3 .sub { color: var(--muted); font-weight: 400; font-size: 13px; }

/* tables */
table { border-collapse: collapse; width: 100%; font-size: 13px; }
caption { text-align: left; color: var(--muted); font-size: 12px; padding: 0 0 6px; }
th, td { padding: 4px 7px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
  border-bottom: 2px solid var(--ink); white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.pts { font-weight: 700; }
th[scope=row] { font-weight: 600; white-space: nowrap; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px;
  vertical-align: 0; }
tr.changed { background: var(--changed-bg) !important; }
tr.changed > :first-child { box-shadow: inset 3px 0 0 #e0a800; }
.cell-note { color: var(--muted); font-size: 11px; }
.pole { color: var(--accent); font-size: 10px; vertical-align: super; margin-left: 1px; }
.ded { color: var(--loss); font-size: 10px; vertical-align: super; margin-left: 1px; }
.out { color: var(--muted); font-size: 11px; }

/* badges */
.badge { display: inline-block; font-size: 10.5px; font-weight: 600; border-radius: 3px;
  padding: 0 5px; margin: 0 3px 1px 0; white-space: nowrap; line-height: 17px; }
.badge.tie { background: var(--loss-bg); color: var(--loss); }
.badge.countback { background: var(--soft); color: var(--muted); border: 1px solid var(--line); }
.badge.decision { background: var(--flag-bg); color: var(--flag); border: 1px solid #f0d58a; }
.badge.late { background: #eef1f5; color: var(--muted); }
.badge.kind { background: #14213d; color: #fff; }

/* charts */
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 8px; }
figure.chart svg { width: 100%; height: auto; display: block; }
svg .grid { stroke: #e7ebf0; stroke-width: 1; }
svg .axis { stroke: #6b7685; stroke-width: 1; }
svg text { font-size: 11px; fill: var(--muted); }
svg .tick.y { text-anchor: end; }
svg .tick.x { text-anchor: middle; font-weight: 600; fill: var(--ink); }
svg .tick.x.pending { fill: #b0b7c1; font-weight: 400; }
svg .axis-title { font-size: 10.5px; }
svg .series .line { stroke-width: 2.2; stroke-linejoin: round; stroke-linecap: round; }
svg .series.other .line { stroke-width: 1.2; }
svg .series.other { opacity: .9; }
svg .point { stroke: #fff; stroke-width: 1; }
svg .end-label { font-size: 11px; font-weight: 700; }
figcaption { margin-top: 6px; }
ul.legend { list-style: none; padding: 0; margin: 0; display: grid;
  grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 2px 12px; font-size: 12px; }
ul.legend .team { color: var(--muted); }
ul.legend li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
ul.legend li.other { color: var(--muted); }
ul.legend .swatch { display: inline-block; width: 14px; height: 3px; border-radius: 2px;
  vertical-align: middle; margin-right: 5px; }

/* decisions */
article.moment { border: 1px solid #f0d58a; border-left: 5px solid #e0a800; border-radius: 6px;
  padding: 12px 16px 14px; margin: 14px 0; background: #fffdf6; break-inside: avoid-page; }
article.moment h3 { margin: 0 0 8px; font-size: 15px; }
article.moment h3 .when { color: var(--muted); font-weight: 400; }
ul.decision-list { list-style: none; padding: 0; margin: 0 0 10px; }
ul.decision-list li { padding: 4px 0; border-bottom: 1px dashed #efe2b8; }
ul.decision-list li:last-child { border-bottom: 0; }
ul.decision-list .by { color: var(--muted); font-size: 12px; }
table.changes { background: #fff; }
table.changes tr.gained td.delta { color: var(--gain); }
table.changes tr.lost td.delta { color: var(--loss); }
td.delta { font-weight: 700; white-space: nowrap; }
.arrow { color: var(--muted); padding: 0 4px; }
.cause { display: block; font-size: 12px; color: var(--muted); }
a.cause:hover { color: var(--accent); }
.cause b { color: var(--ink); font-weight: 600; }
td.mark { white-space: nowrap; }
p.none { color: var(--muted); font-style: italic; }

/* timeline */
table.timeline tr.decision { background: var(--changed-bg) !important; }
table.timeline tr.decision > :first-child { box-shadow: inset 3px 0 0 #e0a800; }
table.timeline td.when { white-space: nowrap; }

footer.colophon { margin-top: 36px; padding-top: 10px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 12px; }
footer.colophon code { font-size: 11.5px; background: var(--soft); padding: 1px 4px;
  border-radius: 3px; overflow-wrap: anywhere; }

@media (max-width: 1000px) {
  .class-block { grid-template-columns: 1fr; }
  .meta { grid-template-columns: repeat(3, minmax(0, 1fr)); }
}
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 11px; }
  .page { max-width: none; padding: 0; }
  .report-header { background: #fff; color: var(--ink); border-bottom: 2px solid var(--ink); }
  .report-header .eyebrow, .meta dt, .rounds li .status { color: var(--muted); }
  .rounds li { background: var(--soft); }
  nav.contents { display: none; }
  a { color: inherit; }
  tr, article.moment, figure.chart { break-inside: avoid; }
  thead { display: table-header-group; }
}
"""
