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
    assert "```mermaid" in md and "GPU-hours" in md and "| data | 50,000 samples | --train-samples |" in md
    parser = _Ids()
    parser.feed(write_card(sections, p, tmp_path / "c.html").read_text())
    assert parser.ids == list(CARD_SECTIONS)


def test_card_bad_suffix_and_size(card, tmp_path, capsys):
    assert main(["card", "mlp", "--size", "huge", "--out", str(tmp_path / "x.md")]) == 2
    assert main(["card", "mlp", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "allowed" in capsys.readouterr().err


def test_the_html_card_draws_the_diagram_and_the_markdown_keeps_mermaid(card, tmp_path):
    sections, p = card
    page = write_card(sections, p, tmp_path / "c.html").read_text()
    assert '<figure class="diagram"><svg' in page and "flowchart TD" not in page
    for block in p.layers:  # every top-level block the diagram names is drawn as a box label
        if block.depth == 1 and block.calls:
            assert f">{block.name}<" in page or f">{block.name}–" in page, block.name
    assert "```mermaid\n" in write_card(sections, p, tmp_path / "c.md").read_text()


@pytest.mark.parametrize(
    "model, family",
    [("vit_b_16", "vit"), ("resnet18", "cnn"), ("gpt2", "decoder"), ("bert", "encoder"), ("mamba", "ssm"),
     ("lstm_lm", "rnn"), ("mlp", "tabular")],
)  # fmt: skip
def test_recipe_follows_the_family_the_profile_shows(model, family):
    from benchbench.measure.profile import profile
    from benchbench.measure.timing import TimingConfig
    from benchbench.report.recipes import RECIPES, family_of

    p = profile(
        model, size="tiny", memory=False, flops_check=False, timing=TimingConfig(warmup=0, min_repeats=1)
    )
    assert family_of(p.modality, p)[0] == family
    if family == "vit":  # the seed guide: Transformers and ViTs train with AdamW, warm-up and cosine
        r = RECIPES[family]
        assert (
            "AdamW" in r.optimizer
            and "warm-up" in r.schedule
            and "cosine" in r.schedule
            and "DeiT" in r.source
        )


def test_a_library_model_gets_a_card(tmp_path):
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        pytest.skip("needs transformers")
    from benchbench.sources.hf import import_transformers

    tf = import_transformers()
    tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=100, n_positions=32).save_pretrained(
        tmp_path / "cfg"
    )
    sections, p = build_card(f"hf:{tmp_path / 'cfg'}:causal-lm", hardware="l4", baseline_size="tiny",
                             train_samples=10_000)  # fmt: skip
    by_id = {s.id: s for s in sections}
    recipe = next(b for b in by_id["recipe"].blocks if isinstance(b, Table))
    assert dict((r[0], r[1]) for r in recipe.rows)["optimizer"].startswith("AdamW")
    assert "GPT-3" in recipe.rows[0][2] and "decoder" in by_id["recipe"].blocks[0]
    assert "not measured" in by_id["scaling"].blocks[0]
    assert p.params.total == sum(p.params.by_module.values())
    page = write_card(sections, p, tmp_path / "card.html").read_text()
    assert "<svg" in page and "GPT2LMHeadModel" in page
