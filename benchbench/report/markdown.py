"""Render document sections as Markdown; plots become links to SVG files written beside the page.

Outside text cannot change the page's structure: titles and cells go through `core.inert.markdown` (one line,
syntax escaped), paragraphs are kept to one line (a newline in them cannot start a heading), a code block's
fence is longer than any run of backticks inside it, and no control character is left in the page.
"""

from __future__ import annotations

import re

from benchbench.core import inert
from benchbench.report.document import Code, Plot, Section, Table, literal


def html_safe(text: str) -> str:
    """No HTML can come through: & < > become entities, which Markdown shows as the characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: object) -> str:
    """A table cell is data: shown as it is, one line, no Markdown or HTML of its own."""
    return inert.markdown(text)


def markdown_table(t: Table) -> str:
    """A table as Markdown, every cell escaped so it renders as the text it holds."""
    lines = ["| " + " | ".join(md_cell(h) for h in t.headers) + " |", "|" + "---|" * len(t.headers)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`, so the block cannot be closed from inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(title: str, sections: list[Section], plot_dir: str | None = None) -> str:
    """The page as Markdown; plots are linked as `plot_dir/NAME.svg` (written by the caller) or omitted."""
    lines = [f"# {md_cell(title)}", ""]
    for s in sections:
        lines += [f"## {md_cell(s.title)}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                lines += [markdown_table(b), ""]
            elif isinstance(b, Code):
                fence = _fence(b.text)
                lines += [f"{fence}{inert.one_line(b.lang)}", b.text.rstrip(), fence, ""]
            elif isinstance(b, Plot):
                if plot_dir is not None:
                    lines += [f"![{literal(inert.one_line(b.title))}]({plot_dir}/{b.name}.svg)", ""]
            else:
                lines += [html_safe(" ".join(b.split())), ""]
    return inert.visible("\n".join(lines))
