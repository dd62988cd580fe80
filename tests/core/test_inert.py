"""core.inert: one sanitiser per sink; none lets a control character, a new line or markup through."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from benchbench.core import inert

HOSTILE = ["\x1b[2J\x1b[31mRED", "nul\x00bel\x07", "abc\u202edef\u2066x", "a\n# heading", "<script>x</script>",
           "c1\x85\x9b31m", "lone \ud800 surrogate", "line\u2028sep", "`*_[x](y)|~!#"]  # fmt: skip
RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


@pytest.mark.parametrize("text", HOSTILE)
def test_every_sink_shows_the_text_without_its_controls(text):
    for sink in (
        inert.terminal,
        inert.one_line,
        inert.markdown,
        inert.html_text,
        inert.xml_text,
        inert.mermaid,
    ):
        out = sink(text)
        assert not RAW.search(out.replace("\n", "")), (sink.__name__, out)
        assert sink(out) == out or sink in (inert.markdown, inert.html_text)  # escapes are plain ASCII
    for sink in (inert.one_line, inert.markdown, inert.mermaid):
        assert "\n" not in sink(text)
    ET.fromstring(f"<t a='{inert.html_text(text)}'>{inert.html_text(text)}</t>")  # well-formed XML


def test_escapes_say_what_was_there():
    assert inert.terminal("\x1b[2J") == "\\x1b[2J"
    assert inert.one_line("a\u202eb\nc") == "a\\u202eb c"
    assert inert.markdown("a\n# h <b>|") == "a \\# h &lt;b&gt;\\|"
    assert inert.mermaid('x\n"y"') == "x #quot;y#quot;"
    assert inert.terminal("two\nlines\tkept") == "two\nlines\tkept"
