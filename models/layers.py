"""Building blocks shared by the zoo: the one attention function and the norm modules.

Every attention in the zoo calls `attention()`, and every norm is `nn.LayerNorm` or `RMSNorm` (which lives
beside its kernels in `benchbench.kernels.rms_norm`), so that `benchbench.kernels.swap` has a single place to
route them to fused kernels.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from benchbench.kernels.registry import dispatch


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention over (B, H, T, D) tensors; k and v may have fewer heads (GQA).

    `attn_mask` is boolean (True = attend) or additive, broadcastable to (B, H, Tq, Tk).
    Runs the implementation currently selected for the `attention` op (SDPA by default).
    """
    return dispatch("attention")(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate q/k/v/out projections (BERT and ViT layout)."""

    def __init__(self, dim: int, heads: int, bias: bool = True, causal: bool = False) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.causal = heads, causal
        self.q = nn.Linear(dim, dim, bias=bias)
        self.k = nn.Linear(dim, dim, bias=bias)
        self.v = nn.Linear(dim, dim, bias=bias)
        self.out = nn.Linear(dim, dim, bias=bias)

    def forward(
        self, x: Tensor, context: Tensor | None = None, key_padding_mask: Tensor | None = None
    ) -> Tensor:
        """x: (B, T, C); context (B, S, C) for cross-attention; key_padding_mask (B, S), True = attend."""
        B, T, C = x.shape
        ctx = x if context is None else context
        S = ctx.shape[1]
        q = self.q(x).view(B, T, self.heads, -1).transpose(1, 2)  # (B, H, T, D)
        k = self.k(ctx).view(B, S, self.heads, -1).transpose(1, 2)  # (B, H, S, D)
        v = self.v(ctx).view(B, S, self.heads, -1).transpose(1, 2)
        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        y = attention(q, k, v, attn_mask=mask, is_causal=self.causal and context is None)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class PostNormBlock(nn.Module):
    """Post-norm Transformer block (BERT, wav2vec 2.0): x = LN(x + Attn(x)); x = LN(x + FFN(x)), GELU FFN."""

    def __init__(self, dim: int, heads: int, hidden: int, eps: float = 1e-5, dropout: float = 0.0) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(dim, heads)
        self.attn_norm = nn.LayerNorm(dim, eps=eps)
        self.ffn = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.ffn_norm = nn.LayerNorm(dim, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """x (B, T, C); key_padding_mask (B, T), True = attend."""
        x = self.attn_norm(x + self.dropout(self.attn(x, key_padding_mask=key_padding_mask)))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))


class PreNormBlock(nn.Module):
    """Pre-norm Transformer block: x += Attn(LN(x)); [x += CrossAttn(LN(x), context)]; x += MLP(LN(x)).

    GELU MLP of width `hidden`; `cross=True` adds a cross-attention sub-layer fed by `context`.
    """

    def __init__(self, dim: int, heads: int, hidden: int, cross: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.attn_norm, self.attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.cross_norm = nn.LayerNorm(dim) if cross else None
        self.cross_attn = MultiHeadAttention(dim, heads) if cross else None
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, context: Tensor | None = None, key_padding_mask: Tensor | None = None
    ) -> Tensor:
        """x (B, T, C); context (B, S, C) when built with cross=True; key_padding_mask (B, T), True = attend."""
        x = x + self.dropout(self.attn(self.attn_norm(x), key_padding_mask=key_padding_mask))
        if self.cross_attn is not None:
            x = x + self.dropout(self.cross_attn(self.cross_norm(x), context=context))
        return x + self.dropout(self.mlp(self.mlp_norm(x)))


class BatchNorm1dAnyBatch(nn.BatchNorm1d):
    """BatchNorm1d over (B, C) features that also trains on a batch of one sample.

    One sample has no batch variance: nn.BatchNorm1d raises there; this normalises it with the running
    statistics instead (leaving them unchanged), so a batch-1 training step can be profiled.
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.dim() == 2 and x.shape[0] == 1:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        return super().forward(x)
