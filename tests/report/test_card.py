"""Architecture card: all seven sections, in Markdown and parseable HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from benchbench.cli import main
from benchbench.report.card import CARD_SECTIONS, build_card, write_card
from benchbench.report.document import Table


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs)["id"])


@pytest.fixture(scope="module")
def card():
    return build_card("mlp", size="tiny", hardware="l4", train_samples=50_000, latency_budget_ms=1.0)


def test_card_has_seven_sections(card, tmp_path):
    sections, p = card
    assert [s.id for s in sections] == list(CARD_SECTIONS)
    assert sum(isinstance(b, Table) for b in sections[-1].blocks) == 2  # scaling points and doubling costs
    md = write_card(sections, p, tmp_path / "c.md").read_text()
    for heading in ("Task description", "Architecture diagram", "Parameter count", "Training recipe",
                    "Baseline comparison", "Compute estimate", "Scaling plan"):  # fmt: skip
        assert f"## {heading}" in md
    assert "```mermaid" in md and "GPU-hours" in md and "50,000 samples (stated)" in md
    parser = _Ids()
    parser.feed(write_card(sections, p, tmp_path / "c.html").read_text())
    assert parser.ids == list(CARD_SECTIONS)


def test_card_bad_suffix_and_size(card, tmp_path, capsys):
    assert main(["card", "mlp", "--size", "huge", "--out", str(tmp_path / "x.md")]) == 2
    assert main(["card", "mlp", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "allowed" in capsys.readouterr().err
