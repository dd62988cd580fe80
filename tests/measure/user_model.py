"""A small user network for `benchbench profile tests/measure/user_model.py:make_pair` style tests."""

from __future__ import annotations

import torch
from torch import nn


class TwoLayer(nn.Module):
    """Linear(12→24) → ReLU → Linear(24→5), with an example_inputs(batch_size) method."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))

    def example_inputs(self, batch_size: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch_size, 12),)


def make_model() -> TwoLayer:
    """Returns a model with example_inputs."""
    return TwoLayer()


def make_pair() -> tuple[nn.Module, torch.Tensor]:
    """Returns (model, inputs) for batch 3; the model has no example_inputs."""
    net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 5))
    return net, torch.randn(3, 12)


def make_sized(batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
    """A factory that takes the batch size."""
    net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 5))
    return net, torch.randn(batch_size, 12)


def make_nothing() -> int:
    return 3


NOT_CALLABLE = 7
