"""Shared plumbing for the kernels: lazy torch.compile, row-block sizing, the autotune switch, the launch recorder
flag, the grid of the two-stage reductions and int64 offsets."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import torch
import triton
import triton.language as tl

MAX_FUSED_N = 65_536  # widest last dimension a row kernel takes (softmax: looped above 8192)
# Widest row of the one-block norm kernels: `benchbench kernels check` compiles them without spills on sm_90 up to
# here (at 32768 the backward spills: 400 B/thread for RMSNorm, 1672 B for LayerNorm, fp16); wider rows fall back.
NORM_MAX_N = 16_384
INT32_MAX = 2**31 - 1

# A process-wide switch, not a ContextVar: the autograd engine runs CUDA backwards on its own thread.
_AUTOTUNE = {"on": True}
# True while `benchbench kernels check` records launches to compile them for a GPU it does not have: host code
# then runs on CPU tensors and its launches are recorded, not run (benchbench.kernelbench.gpu_compile).
RECORDING: ContextVar[bool] = ContextVar("benchbench_recording_launches", default=False)


def interpreting() -> bool:
    """Whether Triton kernels run in the CPU interpreter (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def autotuning() -> bool:
    return _AUTOTUNE["on"]


@contextlib.contextmanager
def autotune(enabled: bool) -> Iterator[None]:
    """Switch GPU autotuning off (one fixed config per kernel) for correctness checks, where tuning only costs time."""
    prev, _AUTOTUNE["on"] = _AUTOTUNE["on"], enabled
    try:
        yield
    finally:
        _AUTOTUNE["on"] = prev


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
    block = triton.next_power_of_2(max(n, 1))
    warps = 1 if block <= 256 else 4 if block <= 2048 else 8 if block <= 8192 else 16
    return block, warps


def too_wide(x: torch.Tensor, limit: int = MAX_FUSED_N) -> str | None:
    """Why a row kernel that takes rows up to `limit` wide cannot take `x` (None if it can)."""
    if x.shape[-1] > limit:
        return f"last dimension {x.shape[-1]} > {limit} (the widest row this kernel takes without spilling)"
    return None


@triton.jit
def element_offsets(BLOCK: tl.constexpr, INT64: tl.constexpr):
    """This program's BLOCK element offsets of an elementwise kernel, in int64 when INT64 (more than 2³¹ - 1
    elements: int32 offsets would wrap)."""
    pid = tl.program_id(0)
    if INT64:
        pid = pid.to(tl.int64)
    return pid * BLOCK + tl.arange(0, BLOCK)


def needs_int64(*tensors: torch.Tensor) -> bool:
    """Whether an element offset into any of `tensors` can pass 2³¹ - 1 (then the kernel computes in int64)."""
    return any(t.numel() > INT32_MAX for t in tensors)


# Programs of a two-stage reduction (norm backward): this many per multiprocessor keeps every SM busy while the
# stage-2 sum over the (programs, N) partials stays small. The interpreter (no SMs) uses a fixed count.
PROGRAMS_PER_SM = 4
INTERPRETER_PROGRAMS = 8


def reduction_programs(rows: int, device: torch.device) -> int:
    """How many programs share `rows` rows in a two-stage reduction: a multiple of the device's SM count."""
    if device.type == "cuda":
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        return max(1, min(rows, PROGRAMS_PER_SM * sms))
    return max(1, min(rows, INTERPRETER_PROGRAMS))
