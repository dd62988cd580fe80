"""Every zoo model with an analytic MAC formula: the counted `flops.macs` agree with it within 1%.

`ModelSpec.analytic_macs(cfg, batch_size, seq_len)` is written from the architecture (matmul-like
MACs; embeddings, norms, activations and softmax excluded). Generated from the registry, so a model
is checked the moment it registers a formula. `base` runs are marked slow for heavy models.
"""

from __future__ import annotations

import pytest

from benchbench.measure.flops import count_flops
from benchbench.models.registry import ModelSpec, get_model_spec, list_models

TOLERANCE = 0.01
HEAVY_PARAMS = 60_000_000  # a base model above this (or HEAVY_MACS) takes more than ~3 s here (wav2vec2: 5 s)
HEAVY_MACS = 40e9
VIT_B_16_MACS = (
    17.56e9  # torchvision ViT_B_16_Weights.IMAGENET1K_V1 "GFLOPS" 17.56 (MACs, attention included), 224²
)


def _heavy(spec: ModelSpec) -> bool:
    return (spec.reference.params or 0) > HEAVY_PARAMS or (spec.reference.macs or 0) > HEAVY_MACS


def _cases() -> list:
    cases = []
    for name in list_models():
        spec = get_model_spec(name)
        if spec.analytic_macs is None:
            continue
        cases.append(pytest.param(name, "tiny", id=f"{name}-tiny"))
        cases.append(
            pytest.param(name, "base", id=f"{name}-base", marks=[pytest.mark.slow] if _heavy(spec) else [])
        )
    return cases or [
        pytest.param(None, None, marks=pytest.mark.skip(reason="no zoo model has analytic_macs yet"))
    ]


@pytest.mark.parametrize("name,size", _cases())
def test_counted_macs_match_the_analytic_formula(name, size):
    spec = get_model_spec(name)
    seq_len = spec.seq_len[size] if spec.is_sequence and size in spec.seq_len else None
    inputs = spec.example_inputs(size, 1, seq_len)
    model = spec.build(size).eval()
    counted = count_flops(model, inputs, check=False)
    expected = spec.analytic_macs(spec.config(size), 1, seq_len)
    assert expected > 0
    assert abs(counted.macs - expected) <= TOLERANCE * expected, (
        f"{name} ({size}): counted {counted.macs:,} vs analytic {expected:,} "
        f"({counted.macs / expected - 1:+.2%}); by op {counted.macs_by_op}; uncounted {counted.uncounted_ops}"
    )


def _published() -> list:
    cases = [
        pytest.param(n, id=n, marks=[pytest.mark.slow] if _heavy(get_model_spec(n)) else [])
        for n in list_models()
        if get_model_spec(n).reference.macs
    ]
    return cases or [
        pytest.param(None, marks=pytest.mark.skip(reason="no zoo model has a published MAC count"))
    ]


@pytest.mark.parametrize("name", _published())
def test_counted_macs_match_the_published_figure(name):
    """`Reference.macs` is the published count at the stated input (batch 1, default sequence length)."""
    spec = get_model_spec(name)
    counted = count_flops(spec.build("base").eval(), spec.example_inputs("base", 1), check=False)
    published = spec.reference.macs
    assert abs(counted.macs - published) <= TOLERANCE * published, (
        f"{name}: counted {counted.macs:,} vs published {published:,.0f} ({spec.reference.macs_source}); "
        f"by op {counted.macs_by_op}; uncounted {counted.uncounted_ops}"
    )


@pytest.mark.skipif("vit_b_16" not in list_models(), reason="vit_b_16 is not in the zoo")
def test_vit_b_16_matches_the_published_figure_with_attention_counted():
    spec = get_model_spec("vit_b_16")
    counted = count_flops(spec.build("base").eval(), spec.example_inputs("base", 1), check=False)
    assert abs(counted.macs - VIT_B_16_MACS) <= TOLERANCE * VIT_B_16_MACS, counted.macs
    assert not any("scaled_dot_product" in op for op in counted.uncounted_ops)
    assert counted.macs_by_op.get("attention", 0) > 0
