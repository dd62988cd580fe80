"""`card hf:DIR --task causal-lm` on a small Qwen2 finishes: the zoo's text models, none smaller than it, are
built and counted, not profiled; those shown are profiled at its sequence length (issue 27: > 600 s before)."""

from __future__ import annotations

import pytest

from benchbench.cli import main


@pytest.fixture
def qwen2_dir(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.Qwen2Config(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)  # fmt: skip
    config.save_pretrained(tmp_path / "qwen2")
    return tmp_path / "qwen2"


@pytest.mark.slow  # about 12 s of CPU (50 s wall at load 13 on 2 cores): building the four base text models
def test_the_card_of_a_small_qwen2_finishes_and_profiles_no_larger_baseline(qwen2_dir, tmp_path, monkeypatch):
    import benchbench.report.card as card

    profiled = []
    real = card.profile_target
    monkeypatch.setattr(card, "profile_target", lambda t, **kw: profiled.append(t.name) or real(t, **kw))
    out = tmp_path / "card.md"
    assert main(["card", f"hf:{qwen2_dir}", "--task", "causal-lm", "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Baseline comparison" in text and "No simpler text model in the zoo." in text
    assert profiled == [f"hf:{qwen2_dir}:causal-lm"]  # the card's own model only


def test_baselines_are_profiled_at_the_models_sequence_length(monkeypatch):
    import benchbench.report.card as card
    from benchbench.sources.target import load_target

    target = load_target("gpt2", "tiny", 1, 24)
    seen = {}
    monkeypatch.setattr(card, "profile_target", lambda t, **kw: seen.setdefault(t.name, t.seq_len))
    card.neighbour_profiles(target, params=10**12, size="tiny")  # every neighbour is smaller
    assert seen and all(seq == 24 for seq in seen.values()), seen
