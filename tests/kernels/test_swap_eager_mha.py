"""`swap --ops attention --impl eager` on nn.MultiheadAttention (torchvision's ViT): the swapped code runs, and
its parity error is exactly 0 only because it computes what the module computes, in the same order."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from benchbench.kernelbench.swap_check import check_swap
from benchbench.kernels.registry import _KERNELS, get_kernel
from benchbench.measure.timing import TimingConfig
from benchbench.sources.base import Target

FAST = TimingConfig(warmup=1, min_repeats=2, max_repeats=20, min_time_s=0.0, max_time_s=0.2)


class EncoderBlock(nn.Module):
    """torchvision's ViT encoder block, reduced: pre-norm nn.MultiheadAttention called with need_weights=False."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        return x + y


def _target(dim: int, heads: int) -> Target:
    torch.manual_seed(0)
    model = nn.Sequential(EncoderBlock(dim, heads), EncoderBlock(dim, heads))
    return Target("vit-like", "user", "user", model, (torch.randn(2, 50, dim),), 2)


@pytest.fixture
def counted_eager(monkeypatch):
    """The registry's eager attention wrapped to count its calls (and, when asked, to nudge its output)."""
    calls, nudge = [], {"by": 0.0}
    eager = get_kernel("attention", "eager")

    def fn(*args, **kwargs):
        calls.append(args[0].shape)
        return eager.fn(*args, **kwargs) + nudge["by"]

    monkeypatch.setitem(_KERNELS["attention"]._entries, "eager", dataclasses.replace(eager, fn=fn))
    return calls, nudge


def test_eager_attention_runs_in_place_of_mha_and_an_exact_zero_is_said_to_be_expected(counted_eager):
    calls, _ = counted_eager
    r = check_swap(_target(64, 4), ["attention"], "eager", timing=FAST)  # head dim 16: 1/√16 is exact
    sites = [s for s in r.swap.sites if s.swapped_calls]
    assert len(sites) == 2 and all(s.swapped_calls == s.calls for s in sites)
    assert len(calls) >= 2 * 2  # each site on the compared forward passes (and the timed ones)
    assert r.parity.verdict == "ok" and all(o.max_abs == 0 for o in r.parity.outputs)
    assert any(
        n.startswith("outputs bit-identical to the original, and the swapped code ran") for n in r.notes
    )


def test_a_nudged_eager_kernel_shows_in_the_parity_so_the_swapped_output_is_the_models(counted_eager):
    _, nudge = counted_eager
    nudge["by"] = 1e-3
    r = check_swap(_target(64, 4), ["attention"], "eager", timing=FAST)
    assert all(o.max_abs > 1e-4 for o in r.parity.outputs)
    assert not any("bit-identical" in n for n in r.notes)


def test_at_a_head_dim_whose_scale_is_not_a_power_of_two_the_error_is_small_not_zero():
    r = check_swap(_target(48, 4), ["attention"], "eager", timing=FAST)  # head dim 12: 1/√12 rounds
    (out,) = r.parity.outputs
    assert r.parity.verdict == "ok" and 0 < out.max_abs < 1e-5
    assert not any("bit-identical" in n for n in r.notes)


@pytest.mark.slow  # building ViT-B/32 and two forward passes: about 10 s on a loaded 2-core machine
def test_torchvision_vit_b_32_eager_swap_runs_on_every_encoder_block(counted_eager):
    from benchbench.kernels.swap import swap
    from benchbench.sources.target import load_target

    calls, _ = counted_eager
    target = load_target("torchvision:vit_b_32", size=None)
    model = target.model.eval()
    with torch.no_grad():
        want = model(*target.inputs)
        with swap(model, ["attention"], "eager") as report:
            got = model(*target.inputs)
    assert sum(s.swapped_calls for s in report.sites.values()) == 12 == len(calls)  # one per encoder block
    assert all(shape[-1] == 64 for shape in calls)  # head dim 64: the scale 1/8 is exact, hence the exact 0
    assert torch.equal(got, want)
