"""Strings from outside made inert, one function per sink.

A model name, a file name, an exception message or a string read from a results file can hold anything: ESC
sequences that clear or recolour a terminal, NUL and BEL, bidirectional controls (U+202E reverses the text after
it), a newline followed by `# heading`, Markdown or HTML syntax. Each sink has one function here, and every
renderer passes outside text through its sink's function:

| sink | function | what it does |
|---|---|---|
| terminal (rich console, plain prints) | `terminal` | controls shown as escapes (`\\x1b`); newlines kept |
| the one-line error, a log line | `one_line` | as `terminal`, and all whitespace one space |
| Markdown (table cell, heading, paragraph text) | `markdown` | one line; Markdown syntax escaped; `& < >` as entities |
| HTML text and attributes | `html_text` | controls as escapes, then HTML-escaped |
| SVG/XML text (plots, diagrams, JUnit) | `xml_text` | controls (which XML 1.0 cannot hold) as escapes |
| Mermaid (`title:`, node labels) | `mermaid` | one line; `"` as Mermaid's `#quot;` |

"Controls" are C0 (but tab and newline where a sink keeps lines), DEL, C1, the bidirectional controls, the line
and paragraph separators, unpaired surrogates and the non-characters U+FFFE/U+FFFF. Each becomes its visible
escape (`\\x1b`, `\\u202e`), so what was there can still be read, and the escapes are plain ASCII: applying a
function twice changes nothing more.
"""

from __future__ import annotations

import html
import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_CONTROLS_AND_LINES = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff\ufffe\uffff]")
MARKDOWN_SPECIALS = "\\`*_[]!|~#<>&"


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: object, keep_lines: bool = True) -> str:
    """`text` with every control character replaced by its escape; tab and newline kept when `keep_lines`."""
    return (_CONTROLS if keep_lines else _CONTROLS_AND_LINES).sub(_escape, str(text))


def terminal(text: object) -> str:
    """Text for a terminal: no ESC sequence, NUL, BEL or bidi control reaches it; its lines are kept."""
    return visible(text)


def one_line(text: object) -> str:
    """Text for one terminal or log line: as `terminal`, with newlines, tabs and runs of spaces one space."""
    return " ".join(visible(text).split())


def markdown(text: object) -> str:
    """Text for a Markdown cell, heading or paragraph: one line (no injected heading), shown as it is (its
    Markdown and HTML syntax escaped)."""
    out = []
    for c in one_line(text):
        if c in "&<>":
            out.append(html.escape(c))
        elif c in MARKDOWN_SPECIALS:
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def html_text(text: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(visible(text))


def xml_text(text: object) -> str:
    """Text XML 1.0 can hold (an SVG text, a JUnit attribute) before the XML writer escapes `& < > "`."""
    return visible(text)


def mermaid(text: object) -> str:
    """Text for a Mermaid `title:` or a quoted node label: one line, no `"` to end the quotes."""
    return one_line(text).replace('"', "#quot;")
