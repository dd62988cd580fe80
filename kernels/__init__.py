"""Kernels: Triton implementations beside their PyTorch references, and the registry that routes ops."""

from benchbench.kernels.registry import (
    KernelImpl,
    active_kernel,
    dispatch,
    get_kernel,
    list_kernels,
    list_ops,
    register_kernel,
    use_kernels,
)

__all__ = [
    "KernelImpl",
    "active_kernel",
    "dispatch",
    "get_kernel",
    "list_kernels",
    "list_ops",
    "register_kernel",
    "use_kernels",
]
