"""User models that kill their worker in the ways real models do: a segfault, a hard exit, a hang."""

import ctypes
import os
import time

import torch
from torch import nn


class _Dies(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "segfault":
            ctypes.string_at(0)  # reads address 0: SIGSEGV, as a buggy C extension would
        elif self.how == "exit":
            os._exit(3)
        elif self.how == "hang":
            time.sleep(3600)
        return self.fc(x)


def _make(how: str, batch_size: int = 2):
    return _Dies(how), (torch.randn(batch_size, 4),)


def segfault(batch_size: int = 2):
    return _make("segfault", batch_size)


def exits(batch_size: int = 2):
    return _make("exit", batch_size)


def hangs(batch_size: int = 2):
    return _make("hang", batch_size)


def fine(batch_size: int = 2):
    """A small healthy user model."""
    return _make("none", batch_size)
