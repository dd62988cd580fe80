"""Kernels: Triton implementations beside their PyTorch references, and the registry that routes ops."""

import os

import torch

# Without a GPU, Triton kernels run in its CPU interpreter; the flag must be set before any kernel runs.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from benchbench.kernels.registry import (
    KernelImpl,
    OpSpec,
    active_kernel,
    dispatch,
    get_kernel,
    get_op,
    list_kernels,
    list_ops,
    register_kernel,
    register_op,
    use_kernels,
)
from benchbench.kernels.swap import SwapReport, SwapSite, swap

__all__ = [
    "KernelImpl",
    "OpSpec",
    "SwapReport",
    "SwapSite",
    "active_kernel",
    "dispatch",
    "get_kernel",
    "get_op",
    "list_kernels",
    "list_ops",
    "register_kernel",
    "register_op",
    "swap",
    "use_kernels",
]
