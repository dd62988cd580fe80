"""The document model of every report and card: sections of paragraphs, tables, code blocks and SVG plots.

Builders assemble `Section`s from typed results; `benchbench.report.markdown` and `benchbench.report.html`
render the same sections, so the two formats never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_MEASURED = "not measured"
# Characters that start Markdown syntax; `literal()` escapes them in user text. HTML (< > &) is neutralised by
# each renderer, for every text.
MARKDOWN_SPECIALS = "\\`*_[]!|~"


def literal(text: object) -> str:
    """User text (a model name, an error message) placed in a paragraph, shown as it is in Markdown and HTML:
    its Markdown syntax escaped with backslashes, its whitespace (newlines too) one space."""
    return "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in " ".join(str(text).split()))


@dataclass
class Table:
    """A table of strings: one header row and the data rows, each cell shown as data (never markup)."""

    headers: list[str]
    rows: list[list[str]]


@dataclass
class Plot:
    """An SVG figure with a title; `name` is its file stem beside report.md and its HTML id."""

    name: str  # file stem, also the HTML element id
    title: str
    svg: str


@dataclass
class Code:
    """A code block in a language (`mermaid` diagrams are drawn as SVG in HTML)."""

    lang: str  # e.g. "mermaid"
    text: str


Block = str | Table | Plot | Code  # a str is a paragraph (with **bold** and `code`)


@dataclass
class Section:
    """One part of a page: its blocks in order."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
