"""Deliberately broken models for the health probe, as user factories (`tests/health/broken_models.py:NAME`).

Each returns `(model, inputs)` for `batch_size` samples of 32 features and scores 10 classes. The shallow ones
(6 weighted layers) are below the lint's deep-plain-stack limit, so only the trainability probe can catch them.
"""

from __future__ import annotations

import torch
from torch import nn

WIDTH, CLASSES = 32, 10


def _mlp(depth: int, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(nn.Linear(WIDTH, CLASSES if i == depth - 1 else WIDTH))
        if i < depth - 1:
            layers.append(act())
    return nn.Sequential(*layers)


def _scaled(model: nn.Module, factor: float) -> nn.Module:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(factor)
    return model


def _inputs(batch_size: int) -> tuple[torch.Tensor]:
    return (torch.randn(batch_size, WIDTH, generator=torch.Generator().manual_seed(1)),)


def plain_mlp_20(batch_size: int = 8):
    """20 Linear + ReLU layers, PyTorch's default init, no residual connection."""
    return _mlp(20), _inputs(batch_size)


def plain_mlp_50(batch_size: int = 8):
    """No residuals at depth 50."""
    return _mlp(50), _inputs(batch_size)


def scaled_down_mlp_20(batch_size: int = 8):
    """The 20-layer MLP with every weight scaled by 1e-4."""
    return _scaled(_mlp(20), 1e-4), _inputs(batch_size)


def scaled_down_mlp_6(batch_size: int = 8):
    """Six layers with weights scaled by 1e-4: too shallow for the lint, the signal still dies."""
    return _scaled(_mlp(6), 1e-4), _inputs(batch_size)


def scaled_up_mlp_6(batch_size: int = 8):
    """Six layers with weights scaled by 100."""
    return _scaled(_mlp(6), 100.0), _inputs(batch_size)


def dead_relu_mlp_6(batch_size: int = 8):
    """Six Linear + ReLU layers whose biases are -10: every hidden ReLU outputs 0, no gradient reaches a weight."""
    model = _mlp(6)
    with torch.no_grad():
        for m in list(model)[:-1]:
            if isinstance(m, nn.Linear):
                m.bias.fill_(-10.0)
    return model, _inputs(batch_size)


class _DropoutAfterBatchNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.Dropout(0.5), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def dropout_after_batchnorm(batch_size: int = 8):
    """A small CNN with Dropout right after a BatchNorm."""
    x = torch.randn(batch_size, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    return _DropoutAfterBatchNorm(), (x,)
