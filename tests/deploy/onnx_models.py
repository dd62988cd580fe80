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


class StepLoop(nn.Module):
    """A recurrence written as a Python loop over the sequence: export unrolls it at the example's length."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 4)
        h = torch.zeros_like(x[:, 0])
        steps = []
        for t in range(x.shape[1]):
            h = torch.tanh(self.cell(x[:, t]) + h)
            steps.append(h)
        return torch.stack(steps, dim=1)


def step_loop(batch_size: int = 2, seq_len: int = 8):
    torch.manual_seed(0)
    return StepLoop(), (torch.randn(batch_size, seq_len, 4),)


class WithCache(nn.Module):
    """Returns a transformers ModelOutput holding a DynamicCache, as a decoder called with use_cache=True does."""

    def __init__(self) -> None:
        super().__init__()
        from benchbench.sources.hf import import_transformers

        tf = import_transformers()
        self.decoder = tf.GPT2Model(
            tf.GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=50, n_positions=32)
        )

    def forward(self, input_ids: torch.Tensor):
        return self.decoder(input_ids, use_cache=True)


def with_cache(batch_size: int = 2):
    torch.manual_seed(0)
    return WithCache(), (torch.randint(0, 50, (batch_size, 6)),)
