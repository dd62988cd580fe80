"""User factories for the export tests: a PyG-style GCN in plain torch, a model with an optional (None) input,
and a token model whose factory takes only the batch size."""

from __future__ import annotations

import torch
from torch import nn


class PlainGCN(nn.Module):
    """Two GCN layers (Kipf & Welling): symmetric-normalised message passing with self-loops, summed into each
    destination node with index_add over an edge_index, as PyG's GCNConv does."""

    def __init__(self, features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(features, hidden), nn.Linear(hidden, classes)

    @staticmethod
    def propagate(h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        n = h.shape[0]  # (N, F)
        loops = torch.arange(n, device=h.device)
        src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])  # (E + N,)
        deg = torch.zeros(n, dtype=h.dtype, device=h.device).index_add(
            0, dst, torch.ones_like(dst, dtype=h.dtype)
        )
        norm = deg.rsqrt()[src] * deg.rsqrt()[dst]  # (E + N,)
        return torch.zeros_like(h).index_add(0, dst, h[src] * norm[:, None])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:  # (N, F), (2, E)
        h = torch.relu(self.propagate(self.lin1(x), edge_index))
        return self.propagate(self.lin2(h), edge_index)  # (N, classes)


def gcn(batch_size: int = 1):
    """One graph of 300 nodes and 1,200 edges; the batch size does not change it (a node count is no batch)."""
    torch.manual_seed(0)
    x = torch.randn(300, 32)
    edge_index = torch.randint(0, 300, (2, 1200))
    return PlainGCN(32, 16, 7), (x, edge_index)


class OptionalMask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, shift: torch.Tensor | None = None):
        y = self.fc(x)
        if mask is not None:
            y = y * mask
        return y + shift if shift is not None else y


def optional_mask(batch_size: int = 2):
    torch.manual_seed(0)
    return OptionalMask(), (torch.randn(batch_size, 8), None, torch.randn(batch_size, 4))


class TinyLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.head = nn.Embedding(50, 16), nn.Linear(16, 50)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, 50)
        return self.head(torch.tanh(self.embed(input_ids)))


def tiny_lm(batch_size: int = 2):
    torch.manual_seed(0)
    return TinyLM(), (torch.randint(0, 50, (batch_size, 16)),)


class Vanishing(nn.Module):
    """Linear layers whose random-init weights shrink the signal about 1e-4 each: outputs of about 1e-17."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(16, 16, bias=False) for _ in range(4)])
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.mul_(1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.layers(x))


def vanishing(batch_size: int = 2):
    torch.manual_seed(0)
    return Vanishing(), (torch.randn(batch_size, 16),)


def gcn_no_batch():
    """The same GCN from a factory that takes no batch size at all, as most graph code is written."""
    torch.manual_seed(1)
    return PlainGCN(8, 8, 3), (torch.randn(40, 8), torch.randint(0, 40, (2, 90)))
