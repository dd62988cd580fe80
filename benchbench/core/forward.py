"""Running a model's forward pass the same way everywhere: inputs on the device, autocast for 16-bit dtypes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def to_device(inputs: tuple, device: torch.device) -> tuple:
    """`inputs` with every tensor moved to `device`; other values pass through unchanged."""
    return tuple(x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs)


def autocast_context(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """fp32 runs as is; bf16/fp16 run under autocast on the device."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def forward_fn(
    model: nn.Module, inputs: tuple, device: torch.device, dtype: torch.dtype
) -> Callable[[], Any]:
    """A zero-argument closure running one inference forward pass."""

    def run() -> Any:
        with torch.no_grad(), autocast_context(device, dtype):
            return model(*inputs)

    return run
