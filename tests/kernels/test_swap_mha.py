"""nn.MultiheadAttention routed through the attention op: layouts, masks, separate k/v dims, and the fallbacks;
attention-like modules that could not be routed are listed with the reason."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchbench.kernels import swap

E, H = 16, 4


class UsesMha(nn.Module):
    def __init__(self, batch_first: bool, kdim: int | None = None, bias: bool = True) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, H, batch_first=batch_first, kdim=kdim, vdim=kdim, bias=bias)

    def forward(self, q, kv, **kwargs):
        return self.attn(q, kv, kv, need_weights=False, **kwargs)[0]


def _run(model, impl, *args, **kwargs):
    model.eval()
    with torch.no_grad():
        ref = model(*args, **kwargs)
        with swap(model, "attention", impl) as report:
            out = model(*args, **kwargs)
    return ref, out, report


def _masks(n: int, length: int, s: int, kind: str) -> dict:
    g = torch.Generator().manual_seed(3)
    if kind == "none":
        return {}
    if kind == "causal":
        return {"attn_mask": nn.Transformer.generate_square_subsequent_mask(length), "is_causal": True}
    pad = torch.zeros(n, s, dtype=torch.bool)
    pad[0, -2:] = True  # the last two keys of the first sequence are padding
    if kind == "padding":
        return {"key_padding_mask": pad}
    if kind == "bool+padding":
        blocked = torch.rand(length, s, generator=g) > 0.7
        blocked[:, 0] = False  # every query keeps a key
        return {"attn_mask": blocked, "key_padding_mask": pad}
    if kind == "float-per-head":
        return {"attn_mask": torch.randn(n * H, length, s, generator=g)}
    raise ValueError(kind)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", ["none", "causal", "padding", "bool+padding", "float-per-head"])
@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_mha_calls_are_swapped_with_parity(batch_first, kind, impl):
    torch.manual_seed(0)
    n, length = 3, 7
    model = UsesMha(batch_first)
    x = torch.randn(n, length, E) if batch_first else torch.randn(length, n, E)
    ref, out, report = _run(model, impl, x, x, **_masks(n, length, length, kind))
    site = report.sites["attn: nn.MultiheadAttention"]
    assert (site.calls, site.swapped_calls) == (1, 1)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert "forward" not in model.attn.__dict__  # restored


@pytest.mark.interpreter
def test_mha_with_other_key_dims_and_no_bias_runs_the_triton_kernel():
    torch.manual_seed(1)
    model = UsesMha(True, kdim=8, bias=False)
    q, kv = torch.randn(2, 5, E), torch.randn(2, 9, 8)
    ref, out, report = _run(model, "triton", q, kv)
    assert report.swapped_sites == 1
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_need_weights_falls_back_with_the_reason():
    model = nn.MultiheadAttention(E, H, batch_first=True).eval()
    x = torch.randn(2, 5, E)
    with torch.no_grad():
        ref, ref_w = model(x, x, x)
        with swap(model, "attention", "eager") as report:
            out, w = model(x, x, x)  # need_weights defaults to True
    site = report.sites["<root>: nn.MultiheadAttention"]
    assert site.status == "fallback" and any("need_weights=True" in r for r in site.reasons)
    torch.testing.assert_close(out, ref) and torch.testing.assert_close(w, ref_w)


class WrittenOutAttention(nn.Module):
    """Attention as matmul + softmax, the way torchvision's Swin writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(E, 3 * E)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return (q @ k.transpose(-2, -1) / E**0.5).softmax(-1) @ v


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.routed = UsesMha(True)
        self.manual = WrittenOutAttention()
        self.never = WrittenOutAttention()  # not called: not listed

    def forward(self, x):
        return self.manual(self.routed(x, x))


def test_unrouted_attention_like_modules_are_listed_with_the_reason():
    model = Mixed().eval()
    x = torch.randn(1, 4, E)
    with torch.no_grad(), swap(model, "attention", "eager") as report:
        model(x)
        summary = report.summary()
    assert [(u.module, u.type, u.calls) for u in summary.unrouted] == [("manual", "WrittenOutAttention", 1)]
    assert "matmul + softmax" in summary.unrouted[0].reason


def test_timm_attention_with_fused_attn_off_is_named():
    import importlib.util

    if importlib.util.find_spec("timm") is None:
        pytest.skip("needs timm")
    from benchbench.sources.timm import import_timm

    timm = import_timm()
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, depth=2).eval()
    model.blocks[1].attn.fused_attn = False
    with torch.no_grad(), swap(model, "attention", "eager") as report:
        model(torch.randn(1, 3, 32, 32))
        summary = report.summary()
    assert report.swapped_sites == 1  # blocks.0.attn: its F.scaled_dot_product_attention call
    assert [u.module for u in summary.unrouted] == ["blocks.1.attn"]
    assert "fused_attn" in summary.unrouted[0].reason
