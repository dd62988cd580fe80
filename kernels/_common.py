"""Shared plumbing for the elementwise/row-wise kernels: lazy torch.compile and row-block sizing."""

from __future__ import annotations

from collections.abc import Callable

import torch

MAX_FUSED_N = 65_536  # widest last dimension a one-block-per-row kernel takes


def lazy_compile(fn: Callable) -> Callable:
    """`torch.compile(fn)` built on first call; a compile failure raises a clear RuntimeError."""
    cache: dict[str, Callable] = {}

    def call(*args, **kwargs):
        if "fn" not in cache:
            cache["fn"] = torch.compile(fn, dynamic=False)
        try:
            return cache["fn"](*args, **kwargs)
        except Exception as err:  # inductor needs a C++ compiler on the CPU
            raise RuntimeError(f"torch.compile of {fn.__name__} failed: {type(err).__name__}: {err}") from err

    call.__name__ = f"compiled_{fn.__name__}"
    call.__doc__ = f"torch.compile of {fn.__name__}."
    return call


def row_block(n: int) -> tuple[int, int]:
    """(BLOCK_N, num_warps) for a one-block-per-row kernel over a last dim of `n`."""
    import triton

    block = triton.next_power_of_2(max(n, 1))
    warps = 1 if block <= 256 else 4 if block <= 2048 else 8 if block <= 8192 else 16
    return block, warps


def too_wide(x: torch.Tensor) -> str | None:
    """Why a row kernel cannot take `x` (None if it can)."""
    if x.shape[-1] > MAX_FUSED_N:
        return f"last dimension {x.shape[-1]} > {MAX_FUSED_N}"
    return None
