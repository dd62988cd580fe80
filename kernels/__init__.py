"""Kernels: Triton implementations beside their PyTorch references, and the registry that routes ops."""

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

__all__ = [
    "KernelImpl",
    "OpSpec",
    "active_kernel",
    "dispatch",
    "get_kernel",
    "get_op",
    "list_kernels",
    "list_ops",
    "register_kernel",
    "register_op",
    "use_kernels",
]
