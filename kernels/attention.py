"""Scaled dot-product attention: the eager reference and PyTorch's fused SDPA.

Layout (batch, heads, seq, head_dim); k and v may have fewer heads than q (grouped-query attention).
`attn_mask` is boolean (True = attend) or additive, broadcastable to (B, H, Tq, Tk).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbench.kernels.registry import register_kernel


def _expand_kv(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    if k.shape[1] == q.shape[1]:
        return k, v
    if q.shape[1] % k.shape[1]:
        raise ValueError(f"query heads {q.shape[1]} are not a multiple of key/value heads {k.shape[1]}")
    rep = q.shape[1] // k.shape[1]
    return k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)


@register_kernel("attention", "eager", baseline=True)
def attention_ref(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
    upcast: bool = False,
) -> Tensor:
    """softmax(q kᵀ · scale + mask) v written out in PyTorch ops; `upcast` computes in fp32."""
    dtype = q.dtype
    if upcast:
        q, k, v = q.float(), k.float(), v.float()
    k, v = _expand_kv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, Tq, Tk)
    if is_causal:
        tq, tk = scores.shape[-2:]
        # top-left aligned, as F.scaled_dot_product_attention's is_causal
        keep = torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return (scores.softmax(dim=-1) @ v).to(dtype)


@register_kernel("attention", "sdpa", default=True)
def attention_sdpa(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """torch.nn.functional.scaled_dot_product_attention (flash / memory-efficient / math backends)."""
    k, v = _expand_kv(q, k, v)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
