"""Renderings of reports for people: the self-contained HTML audit report (`html`), its inline
SVG charts (`chart`) and stylesheet (`style`)."""
