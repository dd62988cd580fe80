"""User models for the nothing-swapped and degenerate-scale tests of `swap`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OnlyMha(nn.Module):
    """Its only attention is an nn.MultiheadAttention on the inference fast path (batch-first self-attention)."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 16)
        return self.head(self.attn(x, x, x, need_weights=False)[0])


def only_mha(batch_size: int = 2):
    torch.manual_seed(0)
    return OnlyMha(), (torch.randn(batch_size, 5, 16),)


class WrittenOut(nn.Module):
    """Attention as matmul, softmax, matmul (as torchvision's Swin writes it): no call a route can take."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 16)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = (q @ k.transpose(-2, -1)) * 0.25  # (B, T, T)
        return scores.softmax(dim=-1) @ v


def written_out(batch_size: int = 2):
    torch.manual_seed(0)
    return WrittenOut(), (torch.randn(batch_size, 5, 16),)


class Vanishing(nn.Module):
    """SDPA attention, then linear layers whose random-init weights shrink the output to about 1e-17."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)
        self.out = nn.Sequential(*[nn.Linear(16, 16, bias=False) for _ in range(4)])
        with torch.no_grad():
            for layer in self.out:
                layer.weight.mul_(1e-4)  # each layer shrinks by about 1e-4: about 1e-17 after four

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (t.unflatten(-1, (2, 8)).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        a = F.scaled_dot_product_attention(q, k, v)  # (B, 2, T, 8)
        return self.out(a.transpose(1, 2).flatten(-2))


def vanishing(batch_size: int = 2):
    torch.manual_seed(0)
    return Vanishing(), (torch.randn(batch_size, 6, 16),)
