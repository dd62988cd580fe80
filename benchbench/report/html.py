"""The report as one self-contained HTML page: inline CSS and inline SVG plots and architecture diagrams (drawn
from their Mermaid text by `diagram_svg`), no script, no network."""

from __future__ import annotations

import html
import re

from benchbench.core import inert
from benchbench.report.diagram_svg import render_svg
from benchbench.report.document import MARKDOWN_SPECIALS, Code, Plot, Section, Table

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.table-wrap{overflow-x:auto;margin:.6em 0;max-width:100%}
table{border-collapse:separate;border-spacing:0;font-size:.82em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word;max-width:22em}
th{background:#f3f3f3}td{background:#fff}td.s{white-space:nowrap}tr:nth-child(even) td{background:#fafafa}
th:first-child,td:first-child{position:sticky;left:0;z-index:1;box-shadow:1px 0 0 #ccc}figure{margin:.8em 0}figure svg{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.78em}figcaption{font-size:.8em;color:#555}nav a{margin-right:1em}p{line-height:1.4}
"""


_HELD = {c: chr(0xE000 + i) for i, c in enumerate(MARKDOWN_SPECIALS)}  # escaped characters, held aside
_BACK = {v: k for k, v in _HELD.items()}


def _inline(text: str) -> str:
    """Escape, then render **bold**, `code` and [relative](links) from the Markdown-flavoured paragraphs; a backslash-escaped
    character (user text, see `document.literal`) is shown as itself and starts no markup."""
    t = re.sub(r"\\(.)", lambda m: _HELD.get(m.group(1), m.group(0)), text)
    t = html.escape(t)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    t = re.sub(
        r"\[([^\]]+)\]\(([A-Za-z0-9._/-]+)\)", r'<a href="\2">\1</a>', t
    )  # a relative link, nothing else
    return "".join(_BACK.get(c, c) for c in t)


SHORT_CELL = 18  # characters: a cell this short (a number with its unit, a CI) never wraps; longer text wraps


def _cell(text: object) -> str:
    """A table cell (or a title): one line of text, escaped."""
    return html.escape(inert.one_line(text))


def _td(text: object) -> str:
    """A body cell: short ones (a number with its unit, a CI) never wrap."""
    cell = _cell(text)
    return f'<td class="s">{cell}</td>' if len(cell) <= SHORT_CELL else f"<td>{cell}</td>"


def _table(t: Table) -> str:
    head = "".join(f"<th>{_cell(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in t.rows)
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _plot(p: Plot) -> str:
    svg = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", "", p.svg)
    return f'<figure class="plot" id="plot-{html.escape(p.name)}">{svg}<figcaption>{html.escape(p.title)}</figcaption></figure>'


def render_sections(sections: list[Section]) -> str:
    """The sections as HTML fragments: headings, escaped paragraphs and tables, inline SVG plots and diagrams."""
    parts = []
    for s in sections:
        parts.append(f'<section id="{html.escape(s.id)}"><h2>{_cell(s.title)}</h2>')
        for b in s.blocks:
            if (
                isinstance(b, Code) and b.lang == "mermaid"
            ):  # drawn as a picture: a browser cannot draw Mermaid
                parts.append(f'<figure class="diagram">{render_svg(b.text)}</figure>')
            elif isinstance(b, Code):
                parts.append(f'<pre class="{html.escape(b.lang)}"><code>{html.escape(b.text)}</code></pre>')
            else:
                parts.append(
                    _table(b)
                    if isinstance(b, Table)
                    else _plot(b)
                    if isinstance(b, Plot)
                    else f"<p>{_inline(inert.one_line(b))}</p>"
                )
        parts.append("</section>")
    return "\n".join(parts)


def page(title: str, body: str, nav: list[tuple[str, str]] | None = None) -> str:
    """The whole page; no control character (ESC, NUL, a bidi override such as U+202E) is left in it: each is
    shown as its escape (`core.inert.visible`), so outside text cannot reorder or hide what a table says."""
    links = "".join(f'<a href="#{html.escape(i)}">{html.escape(t)}</a>' for i, t in nav or [])
    return inert.visible(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><nav>{links}</nav>\n{body}\n</body></html>\n"
    )


def render_html(title: str, sections: list[Section]) -> str:
    """The page as self-contained HTML with a navigation bar over its sections."""
    return page(title, render_sections(sections), [(s.id, s.title) for s in sections])
