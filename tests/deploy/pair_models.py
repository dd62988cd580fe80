"""The issue's four user models, each from a factory returning `(model, example_inputs)` at batch 1 (no
example_inputs(batch_size) method, no batch_size argument): a small LM, a two-input model, an int + float input
model and a model returning `(tensor, None)`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SmallLM(nn.Module):
    """Token embedding, one causal self-attention block (SDPA) with an MLP, and a tied-size vocabulary head."""

    def __init__(self, vocab: int = 64, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.embed, self.pos = nn.Embedding(vocab, dim), nn.Embedding(32, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.head = nn.Linear(dim, vocab)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:  # (B, T) → (B, T, V)
        b, t = input_ids.shape
        h = self.embed(input_ids) + self.pos(torch.arange(t, device=input_ids.device))
        q, k, v = self.qkv(self.norm1(h)).view(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        causal = torch.ones(t, t, dtype=torch.bool, device=h.device).tril()
        keep = causal & attention_mask[:, None, None, :].bool()
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        h = h + self.proj(a.transpose(1, 2).reshape(b, t, -1))
        return self.head(h + self.mlp(self.norm2(h)))


def small_lm():
    torch.manual_seed(0)
    return SmallLM(), (torch.randint(0, 64, (1, 16)), torch.ones(1, 16, dtype=torch.long))


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.out = nn.Linear(8, 16), nn.Linear(12, 16), nn.Linear(16, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # (B, 8), (B, 12) → (B, 3)
        return self.out(torch.relu(self.a(x) + self.b(y)))


def two_inputs():
    torch.manual_seed(0)
    return TwoInputs(), (torch.randn(1, 8), torch.randn(1, 12))


class IntAndFloat(nn.Module):
    """Categorical ids (embedded and summed) beside continuous features, as tabular models take them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed, self.num, self.out = nn.Embedding(10, 8), nn.Linear(6, 8), nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:  # (B, 4) long, (B, 6) float
        return self.out(torch.tanh(self.embed(ids).sum(1) + self.num(feats)))


def int_and_float():
    torch.manual_seed(0)
    return IntAndFloat(), (torch.randint(0, 10, (1, 4)), torch.randn(1, 6))


class TensorAndNone(nn.Module):
    """Returns (logits, None), as models with an optional auxiliary output do when it is off."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 4)

    def forward(self, x: torch.Tensor):
        return self.fc(x), None


def tensor_and_none():
    torch.manual_seed(0)
    return TensorAndNone(), (torch.randn(1, 10),)


def nodes_and_edges():
    """A graph given as (node features (40, 8), edge_index (2, 90)): no leading dim is shared, so no batch axis."""
    torch.manual_seed(0)
    return TwoInputsGraph(), (torch.randn(40, 8), torch.randint(0, 40, (2, 90)))


class TwoInputsGraph(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(self.fc(x)).index_add(0, edge_index[1], self.fc(x)[edge_index[0]])
