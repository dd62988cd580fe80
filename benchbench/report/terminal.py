"""Render document sections for a terminal: the third rendering of the model that writes report.md and report.html.

Tables become rich tables (every cell a `Text`, so no `[markup]` in a model name or an error message is read as
style), paragraphs lose their Markdown (`**bold**`, backticks, `literal()`'s backslashes), and every string is
made inert: a control character (an ANSI escape in a model name) is shown as its escape, never sent to the
terminal. Where rich is not installed (a lent GPU machine with only torch and triton), the same sections come out
as plain aligned columns.
"""

from __future__ import annotations

import io
from typing import Any

from benchbench.report.document import MARKDOWN_SPECIALS, Code, Plot, Section, Table


def inert(text: object) -> str:
    """`text` with every non-printable character (ESC, BEL, CR, ...) written as its escape ('\\x1b')."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in str(text))


def plain_paragraph(text: str) -> str:
    """A document paragraph as terminal text: `**` and backticks dropped, `literal()`'s escapes undone."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in MARKDOWN_SPECIALS:
            out.append(text[i + 1])
            i += 2
        elif text.startswith("**", i):
            i += 2
        elif text[i] == "`":
            i += 1
        else:
            out.append(text[i])
            i += 1
    return inert("".join(out))


def rich_table(t: Table, title: str | None = None) -> Any:
    """A rich Table of `t`: its headers and cells as inert `Text`, never markup."""
    from rich.table import Table as RichTable
    from rich.text import Text

    table = RichTable(title=None if title is None else Text(inert(title)))
    for i, h in enumerate(t.headers):
        # a cell wraps only between words, so no figure is ever split; a header may fold
        longest = max((len(w) for row in t.rows for w in inert(row[i]).split()), default=1)
        table.add_column(Text(inert(h)), overflow="fold", min_width=longest)
    for row in t.rows:
        table.add_row(*(Text(inert(c)) for c in row))
    return table


def print_sections(sections: list[Section], out: Any) -> None:
    """Print `sections` on a rich Console: titles, paragraphs unwrapped, tables at their natural width."""
    from rich.text import Text

    for s in sections:
        if s.title:
            out.print(Text(inert(s.title), style="bold"), soft_wrap=True)
        for b in s.blocks:
            if isinstance(b, Table):
                table = rich_table(b)
                # wider than the terminal only when its longest words need it: a figure is never cut or folded
                needed = out.measure(table, options=out.options.update_width(10**6)).minimum
                out.print(table, width=max(out.width, needed), crop=False)
            elif isinstance(b, Code):
                out.print(Text(inert(b.text.rstrip())), soft_wrap=True)
            elif isinstance(b, Plot):
                continue  # a plot has no terminal rendering; its figures are in the tables beside it
            else:
                out.print(Text(plain_paragraph(b)), soft_wrap=True)


def plain_table(t: Table) -> list[str]:
    """`t` as aligned plain-text lines: the headers, a rule, then the rows."""
    rows = [[inert(c) for c in t.headers], *([inert(c) for c in row] for row in t.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(t.headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def plain_lines(sections: list[Section]) -> list[str]:
    """`sections` as plain text lines, with no rich: what a machine without rich prints."""
    lines: list[str] = []
    for s in sections:
        if s.title:
            lines.append(inert(s.title))
        for b in s.blocks:
            if isinstance(b, Table):
                lines += plain_table(b)
            elif isinstance(b, Code):
                lines += inert(b.text.rstrip()).splitlines()
            elif isinstance(b, str):
                lines.append(plain_paragraph(b))
    return lines


def render_terminal(sections: list[Section], width: int = 120) -> str:
    """`sections` as terminal text without colour: rich tables where rich is installed, plain columns where not."""
    try:
        from rich.console import Console
    except ImportError:
        return "\n".join(plain_lines(sections)) + "\n"
    buf = io.StringIO()
    out = Console(file=buf, width=width, markup=False, highlight=False, emoji=False, color_system=None)
    print_sections(sections, out)
    return buf.getvalue()
