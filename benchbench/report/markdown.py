"""Render document sections as Markdown; plots become links to SVG files written beside the page."""

from __future__ import annotations

from benchbench.report.document import Code, Plot, Section, Table


def _md_cell(s: str) -> str:
    return s.replace("|", "/").replace("\n", " ")


def markdown_table(t: Table) -> str:
    lines = ["| " + " | ".join(t.headers) + " |", "|" + "---|" * len(t.headers)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section], plot_dir: str | None = None) -> str:
    """The page as Markdown; plots are linked as `plot_dir/NAME.svg` (written by the caller) or omitted."""
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                lines += [markdown_table(b), ""]
            elif isinstance(b, Code):
                lines += [f"```{b.lang}", b.text.rstrip(), "```", ""]
            elif isinstance(b, Plot):
                if plot_dir is not None:
                    lines += [f"![{b.title}]({plot_dir}/{b.name}.svg)", ""]
            else:
                lines += [b, ""]
    return "\n".join(lines)
