"""A user model for the swap tests: its blocks call F.scaled_dot_product_attention directly.

Two causal blocks with head dim 16 (swappable, calling F.scaled_dot_product_attention) and one wide-head
block with head dim 160 calling an imported `sdpa` name (beyond the Triton kernel's 128, so the swap must
catch the call, fall back there and say why). Load it as
`user_sdpa_model:make_model` with this folder on PYTHONPATH.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.functional import scaled_dot_product_attention as sdpa


class SdpaBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.norm(x)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # (B, H, T, D)
        y = self.attend(q, k, v)
        return x + self.proj(y.transpose(1, 2).reshape(B, T, C))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class WideBlock(SdpaBlock):
    """Calls SDPA through a name imported from torch.nn.functional, not through the F module."""

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return sdpa(q, k, v)


class UserSdpaModel(nn.Module):
    def __init__(self, vocab: int = 100, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.Sequential(SdpaBlock(dim, 2), SdpaBlock(dim, 2))
        self.widen = nn.Linear(dim, 160)
        self.wide = WideBlock(160, 1)  # head dim 160: the Triton kernel takes at most 128
        self.head = nn.Linear(160, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.wide(self.widen(self.blocks(self.embed(tokens)))))

    def example_inputs(self, batch_size: int = 2) -> tuple[torch.Tensor]:
        return (torch.randint(0, 100, (batch_size, 19)),)


def make_model(batch_size: int = 2) -> UserSdpaModel:
    return UserSdpaModel()
