"""The quality proxies on hand-made outputs: which proxy, its drop, its side figures and their CIs."""

from __future__ import annotations

import math

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.matrix.quality import choose_proxy, load_eval, quality_delta, sample_figures


def test_proxy_follows_the_outputs():
    ids = torch.randint(0, 50, (2, 7))
    assert choose_proxy((ids,), [torch.randn(2, 7, 100)]) == "tokens"  # vocab above every id
    assert choose_proxy((ids,), [torch.randn(2, 7, 16)], task="causal-lm") == "tokens"
    assert choose_proxy((ids,), [torch.randn(2, 7, 16)]) == "relative error"  # hidden states, not logits
    assert choose_proxy((torch.randn(2, 3),), [torch.randn(2, 10)]) == "top-1"
    assert choose_proxy((torch.randn(2, 3),), [torch.randn(2, 1)]) == "relative error"


def test_top1_agreement_and_kl():
    ref = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 1.0, 0.0]])
    got = ref.clone()
    got[3] = torch.tensor([0.0, 1.0, 2.0])  # one of four rows changes its top-1
    f = sample_figures("top-1", (), [ref], [got])
    assert f["drop"] == pytest.approx(0.25)
    p, q = torch.softmax(ref[3].double(), -1), torch.softmax(got[3].double(), -1)
    assert f["kl_divergence"] == pytest.approx(float((p * (p / q).log()).sum()) / 4)
    assert sample_figures("top-1", (), [ref], [ref])["kl_divergence"] == pytest.approx(0.0, abs=1e-12)


def test_token_agreement_and_perplexity_change():
    ids = torch.tensor([[1, 2, 3, 0]])
    ref = torch.zeros(1, 4, 5)
    ref[0, torch.arange(3), ids[0, 1:]] = 3.0  # eager predicts the next token well
    got = ref.clone()
    got[0, 0] = 0.0  # the variant loses one prediction: one of four argmaxes changes
    f = sample_figures("tokens", (ids,), [ref], [got])
    assert f["drop"] == pytest.approx(0.25)
    assert f["perplexity_change"] > 0


def test_relative_error_and_median_ci():
    refs = [[torch.ones(4)] for _ in range(6)]
    gots = [[torch.full((4,), 1.0 + e)] for e in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06)]
    q = quality_delta("relative error", [()] * 6, refs, gots)
    assert q.drop == pytest.approx(0.035) and q.samples == 6
    assert q.drop_ci95[0] <= q.drop <= q.drop_ci95[1] and q.drop_ci95 == pytest.approx([0.01, 0.06])
    inf = sample_figures("relative error", (), [torch.zeros(3)], [torch.ones(3)])
    assert math.isinf(inf["drop"])


def test_eval_spec_is_checked():
    with pytest.raises(BadInputError, match=r"not pkg\.module:function"):
        load_eval("no_colon")
    with pytest.raises(BadInputError, match="cannot import"):
        load_eval("no_such_module_xyz:fn")
    with pytest.raises(BadInputError, match="has no function"):
        load_eval("tests.matrix.models:nope")
    assert callable(load_eval("tests.matrix.models:accuracy_against_eager"))
