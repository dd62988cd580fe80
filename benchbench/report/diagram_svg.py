"""The architecture diagram as an SVG image, drawn from the Mermaid flowchart that `measure/diagram.py` writes.

HTML pages show this picture instead of the Mermaid source (which a browser cannot draw without a script);
the Markdown keeps the Mermaid block. Only the subset `measure/diagram.py` writes is read: a `title` in the
front matter, `flowchart TD`, nodes `id["label"]` (blocks) and `id(["label"])` (input and output, drawn round),
with `<br/>` line breaks, and edges `a -- "shapes" --> b`.

Layout: nodes top to bottom in the order they are declared (the execution order); an edge between neighbours
is a straight arrow with its shapes beside it; an edge that skips nodes (a residual, a second input) is drawn as
a curve in a lane to the right, one lane per skipping edge so that none overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from benchbench.core.inert import html_text, one_line

_NODE = re.compile(r'^\s*(?P<id>\w+)(?P<open>\(\[|\[)"(?P<label>.*)"(?:\]\)|\])\s*$')
_EDGE = re.compile(r'^\s*(?P<src>\w+)\s*--\s*"(?P<label>.*)"\s*-->\s*(?P<dst>\w+)\s*$')
_PLAIN_EDGE = re.compile(r"^\s*(?P<src>\w+)\s*-->\s*(?P<dst>\w+)\s*$")

FONT = 12  # px
CHAR_W = 7.0  # average width of a character at FONT in the sans-serif fonts browsers pick
LINE_H = 16
PAD = 8
GAP = 34  # vertical space between boxes, where the arrow and its shapes go
LANE = 26  # horizontal spacing of the lanes for edges that skip nodes
MARGIN = 16


@dataclass
class Node:
    """A flowchart box: its id, text lines, shape, and position and size once laid out."""

    id: str
    lines: list[str]
    rounded: bool
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0


@dataclass
class Flowchart:
    """A parsed Mermaid flowchart: the title, the boxes and the labelled edges (source, target, label)."""

    title: str | None
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (src, dst, label)


def parse_mermaid(text: str) -> Flowchart:
    """The nodes and edges of a flowchart in the subset `measure/diagram.py` writes."""
    title = None
    m = re.search(r"^---\s*\ntitle:\s*(.*?)\s*\n---\s*$", text, re.MULTILINE)
    if m:
        title = one_line(m.group(1))
    chart = Flowchart(title)
    for line in text.splitlines():
        if (e := _EDGE.match(line)) is not None:
            chart.edges.append((e["src"], e["dst"], e["label"]))
        elif (p := _PLAIN_EDGE.match(line)) is not None:
            chart.edges.append((p["src"], p["dst"], ""))
        elif (n := _NODE.match(line)) is not None:
            lines = [s.strip() for s in n["label"].split("<br/>")]
            chart.nodes.append(Node(n["id"], lines, n["open"] == "(["))
    return chart


def _text_w(s: str) -> float:
    return len(s) * CHAR_W


def _layout(chart: Flowchart) -> tuple[float, float, float, dict[tuple[str, str], int]]:
    """Place the boxes; returns (width, height, x of the first lane, lane of each skipping edge)."""
    order = {n.id: i for i, n in enumerate(chart.nodes)}
    box_w = max((max(_text_w(s) for s in n.lines) + 2 * PAD for n in chart.nodes), default=80.0)
    skips = [(s, d) for s, d, _ in chart.edges if s in order and d in order and abs(order[d] - order[s]) > 1]
    lanes = {edge: i for i, edge in enumerate(dict.fromkeys(skips))}
    y = MARGIN + (LINE_H + 8 if chart.title else 0)
    cx = MARGIN + box_w / 2
    for n in chart.nodes:
        n.w = max(_text_w(s) for s in n.lines) + 2 * PAD
        n.h = LINE_H * len(n.lines) + PAD
        n.x, n.y = cx - n.w / 2, y
        y += n.h + GAP
    straight_w = max((_text_w(lbl) for s, d, lbl in chart.edges if (s, d) not in lanes), default=0.0)
    skip_label_w = max((_text_w(lbl) for s, d, lbl in chart.edges if (s, d) in lanes), default=0.0)
    lane_base = max(
        MARGIN + box_w + 12, cx + 8 + straight_w + 12
    )  # right of the boxes and the straight labels
    width = lane_base + (len(lanes) * LANE + 4 + skip_label_w if lanes else 0) + MARGIN
    width = max(width, MARGIN * 2 + _text_w(chart.title or ""))
    return width, y - GAP + MARGIN, lane_base, lanes


def render_svg(text: str) -> str:
    """An SVG picture of the Mermaid flowchart `text` (see the module docstring for what is read)."""
    chart = parse_mermaid(text)
    width, height, lane_base, lanes = _layout(chart)
    by_id = {n.id: n for n in chart.nodes}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" '
        f'font-size="{FONT}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    if chart.title:
        parts.append(
            f'<text x="{MARGIN}" y="{MARGIN + FONT}" font-weight="bold">{html_text(chart.title)}</text>'
        )
    for src, dst, label in chart.edges:
        a, b = by_id.get(src), by_id.get(dst)
        if a is None or b is None:
            continue
        x0, y0 = a.x + a.w / 2, a.y + a.h
        x1, y1 = b.x + b.w / 2, b.y
        if (
            src,
            dst,
        ) in lanes:  # skips nodes: out of the right edge of a, along a lane, into b from the right
            lane_x = lane_base + (lanes[src, dst] + 1) * LANE
            sy, ey = a.y + a.h / 2, b.y + b.h / 2
            parts.append(
                f'<path d="M{a.x + a.w:.1f},{sy:.1f} C{lane_x:.1f},{sy:.1f} {lane_x:.1f},{ey:.1f} {b.x + b.w:.1f},{ey:.1f}" '
                'fill="none" stroke="#888" stroke-dasharray="4 3" marker-end="url(#arrow)"/>'
            )
            if label:
                parts.append(
                    f'<text x="{lane_x + 4:.1f}" y="{(sy + ey) / 2:.1f}" fill="#666">{html_text(label)}</text>'
                )
        else:
            parts.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1 - 1:.1f}" stroke="#555" marker-end="url(#arrow)"/>'
            )
            if label:
                parts.append(
                    f'<text x="{x0 + 8:.1f}" y="{(y0 + y1) / 2 + FONT / 3:.1f}" fill="#666">{html_text(label)}</text>'
                )
    for n in chart.nodes:
        rx = n.h / 2 if n.rounded else 4
        fill = "#eef3fb" if n.rounded else "#fdf6e3"
        parts.append(
            f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{n.h:.1f}" rx="{rx:.1f}" '
            f'fill="{fill}" stroke="#8a8a8a"/>'
        )
        for i, line in enumerate(n.lines):
            weight = ' font-weight="bold"' if i == 0 and not n.rounded else ""
            parts.append(
                f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + PAD / 2 + LINE_H * (i + 0.75):.1f}" text-anchor="middle"{weight}>'
                f"{html_text(line)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)
