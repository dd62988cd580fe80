"""Render document sections as Markdown; plots become links to SVG files written beside the page."""

from __future__ import annotations

from benchbench.report.document import Code, Plot, Section, Table, literal


def html_safe(text: str) -> str:
    """No HTML can come through: & < > become entities, which Markdown shows as the characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: object) -> str:
    """A table cell is data: shown as it is, one line, no Markdown or HTML of its own."""
    return html_safe(literal(text))


def markdown_table(t: Table) -> str:
    """A table as Markdown, every cell escaped so it renders as the text it holds."""
    lines = ["| " + " | ".join(md_cell(h) for h in t.headers) + " |", "|" + "---|" * len(t.headers)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section], plot_dir: str | None = None) -> str:
    """The page as Markdown; plots are linked as `plot_dir/NAME.svg` (written by the caller) or omitted."""
    lines = [f"# {md_cell(title)}", ""]
    for s in sections:
        lines += [f"## {html_safe(s.title)}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                lines += [markdown_table(b), ""]
            elif isinstance(b, Code):
                lines += [f"```{b.lang}", b.text.rstrip(), "```", ""]
            elif isinstance(b, Plot):
                if plot_dir is not None:
                    lines += [f"![{literal(b.title)}]({plot_dir}/{b.name}.svg)", ""]
            else:
                lines += [html_safe(b), ""]
    return "\n".join(lines)
