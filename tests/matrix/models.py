"""Small models for the deployment-matrix tests (user factories: `tests.matrix.models:NAME`)."""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def example_inputs(self, batch_size: int = 8) -> tuple:
        return (torch.randn(batch_size, 64),)


class Branchy(nn.Module):
    """A data-dependent Python branch: dynamo breaks the graph at the `if`."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lin(x)
        if y.sum() > 0:  # the graph break
            return y * 2
        return y - 1

    def example_inputs(self, batch_size: int = 4) -> tuple:
        return (torch.randn(batch_size, 16),)


class DataDependent(nn.Module):
    """An output shape read from the data: torch.export cannot give it a symbolic size."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lin(x)
        n = int((y > 0).sum().item())  # the blocking line
        return y[:, :n] if n > 0 else y  # the guard on it

    def example_inputs(self, batch_size: int = 4) -> tuple:
        return (torch.randn(batch_size, 16),)


def classifier() -> nn.Module:
    torch.manual_seed(0)
    return Classifier()


def branchy() -> nn.Module:
    torch.manual_seed(0)
    return Branchy()


def data_dependent() -> nn.Module:
    torch.manual_seed(0)
    return DataDependent()


def accuracy_against_eager(model) -> float:
    """A user metric for --eval: accuracy on fixed inputs whose labels are the fp32 classifier's own answers."""
    torch.manual_seed(123)
    x = torch.randn(32, 64)
    labels = classifier()(x).argmax(-1)
    return float((model(x).argmax(-1) == labels).float().mean())


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def example_inputs(self, batch_size: int = 8) -> tuple:
        return (torch.randn(batch_size, 64),)


def regressor() -> nn.Module:
    torch.manual_seed(0)
    return Regressor()
