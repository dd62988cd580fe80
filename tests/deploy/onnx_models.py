"""Small user models for the ONNX tests: one no exporter can take, one only the TorchScript exporter can."""

from __future__ import annotations

import torch
from torch import nn


@torch.library.custom_op("bbtest::mystery", mutates_args=())
def mystery(x: torch.Tensor) -> torch.Tensor:
    """A custom op with no ONNX translation in either exporter."""
    return x * 2.0


@mystery.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class Unexportable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mystery(self.fc(x))  # (B, 4)


class DataDependentBranch(nn.Module):
    """A Python `if` on a tensor value: torch.export cannot trace it, torch.jit.trace bakes in one branch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # inputs are made positive, so the traced branch is always the taken one
            return self.fc(x)
        return -self.fc(x)


def unexportable(batch_size: int = 2):
    torch.manual_seed(0)
    return Unexportable(), (torch.randn(batch_size, 8),)


def data_dependent(batch_size: int = 2):
    torch.manual_seed(0)
    return DataDependentBranch(), (torch.rand(batch_size, 8) + 0.1,)


class FixedBatch(nn.Module):
    """Turns the batch size into a Python int: torch.export specialises the axis to the example's size."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(int(x.shape[0]), 1)  # (B, 1), B taken as a constant
        return self.fc(x) * ones


def fixed_batch(batch_size: int = 2):
    torch.manual_seed(0)
    return FixedBatch(), (torch.randn(batch_size, 8),)
