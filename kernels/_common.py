"""Shared plumbing for the kernels: lazy torch.compile, row-block sizing, the autotune switch, the launch recorder
flag, int64 offsets, and the plan and second stage of the norm backward."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

MAX_FUSED_N = 65_536  # widest last dimension a row kernel takes (softmax: looped above 8192)
# Widest row of the norm kernels: their forward keeps a row in registers (`benchbench kernels check` compiles it
# without spills on sm_90 and sm_100 up to here); the backward takes rows wider than NORM_REGISTER_N in chunks.
# Wider rows fall back.
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


# ---- norm backward: a persistent row loop, then one partial row of the weight gradients per program ----------
#
# Each program of the LayerNorm/RMSNorm backward loops over row blocks pid, pid + P, pid + 2P, ... (a pipelined
# `tl.range`, no per-row branch), computes dx, and accumulates dγ (and dβ) for its rows in registers; it then
# writes ONE fp32 partial row, and `sum_partials` (a second, tiny kernel) sums the P partial rows into the
# gradient in the parameter's dtype. P = the SM count, so the partials (P·N·4 bytes per gradient, written once
# and read once) are about 1% of the traffic at M = 32768 (8·P/(3·M·e) per gradient), and counted in the bytes.
NORM_REGISTER_N = 8192  # widest row the backward keeps whole in registers (16 values a thread at 16 warps)
NORM_TILE = 4096  # a loop step's elements: NORM_TILE // BLOCK_N narrow rows, or a chunk of a wider row
NORM_WARPS = 16  # one 512-thread program per SM: P = SMs, the fewest partial rows that keep every SM busy
NORM_STAGES = 2  # the row loop's software pipeline: the next step's loads fly while this one computes
# Where the number of multiprocessors is unknown (CPU, the interpreter): a small count, so that interpreted
# tests run the persistent loop with several row blocks per program (the bytes figure then uses it too).
DEFAULT_SMS = 4


def multiprocessors(device: torch.device | str) -> int:
    """The SM count of a CUDA device; DEFAULT_SMS elsewhere."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return DEFAULT_SMS


@dataclass(frozen=True)
class NormBackwardPlan:
    """How the norm backward covers an (M, N) input: `programs` persistent programs of NORM_WARPS warps, each
    taking a tile of BLOCK_M rows × BLOCK_N columns per loop step, or, when `chunked` (rows wider than
    NORM_REGISTER_N), one row per step in BLOCK_N-column chunks."""

    block_m: int
    block_n: int
    programs: int
    chunked: bool

    def partial_bytes(self, n: int, gradients: int) -> int:
        """Bytes of the fp32 partial rows: written by the backward, read by `sum_partials`."""
        return 2 * gradients * self.programs * n * 4


def norm_backward_plan(rows: int, n: int, sms: int) -> NormBackwardPlan:
    """The tile and program count of the norm backward for `rows` rows of `n` columns on a device with `sms`
    multiprocessors (`multiprocessors(device)`): one program per SM (no more than there are row blocks); a
    tile of NORM_TILE elements (8 a thread), or one whole row up to NORM_REGISTER_N; rows wider than that in
    NORM_TILE-column chunks. `benchbench kernels check` compiles every case without spills on sm_90 and sm_100
    (at a tile of 8192 elements the multi-row tiles spilled, and 8192-column chunks spilled 8 B on sm_100)."""
    chunked = n > NORM_REGISTER_N
    block_n = NORM_TILE if chunked else triton.next_power_of_2(max(n, 1))
    block_m = max(1, NORM_TILE // block_n)
    programs = min(triton.cdiv(rows, block_m), sms)  # 0 when there are no rows
    return NormBackwardPlan(block_m, block_n, programs, chunked)


def partial_rows(plan: NormBackwardPlan, n: int, needed: bool, placeholder: torch.Tensor) -> torch.Tensor:
    """The (P, N) fp32 partial rows of one weight gradient, uninitialised (each of the P programs writes its
    whole row: P ≤ the row blocks, so none is idle), or `placeholder`, a pointer the kernel leaves alone, when the
    gradient is not needed."""
    if not needed:
        return placeholder
    return torch.empty(plan.programs, n, device=placeholder.device, dtype=torch.float32)


def launch_norm_backward(plan: NormBackwardPlan, rows: int, kernel, chunked_kernel, args: tuple) -> None:
    """Launch a norm backward's persistent programs: `chunked_kernel` (BLOCK_N, STAGES after `args`) for rows
    too wide for registers, else `kernel` (BLOCK_M, BLOCK_N, STAGES); nothing for zero rows."""
    if not rows:
        return
    if plan.chunked:
        chunked_kernel[(plan.programs,)](*args, plan.block_n, NORM_STAGES, num_warps=NORM_WARPS)
    else:
        kernel[(plan.programs,)](*args, plan.block_m, plan.block_n, NORM_STAGES, num_warps=NORM_WARPS)


def local_multiprocessors() -> int:
    """The SM count of this machine's CUDA device, DEFAULT_SMS without one: what the bytes figures of the norm
    backward assume, as the kernels launched here would run."""
    return multiprocessors("cuda" if torch.cuda.is_available() else "cpu")


@triton.jit
def _sum_partials(PART, OUT, P, N, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    """OUT[c] = Σ_p PART[p, c] in fp32, cast to OUT's dtype. PART (P, N) fp32 contiguous; OUT (N,)."""
    cols = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    cmask = cols < N
    acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for p0 in tl.range(0, P, BLOCK_P):
        rows = p0 + tl.arange(0, BLOCK_P)
        mask = (rows < P)[:, None] & cmask[None, :]
        acc += tl.load(PART + rows[:, None] * N + cols[None, :], mask=mask, other=0.0)
    tl.store(OUT + cols, tl.sum(acc, axis=0).to(OUT.dtype.element_ty), mask=cmask)


def sum_partials(part: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The column sums of the (P, N) fp32 partial rows, in `dtype`: the second stage of the norm backward."""
    p, n = part.shape
    if p == 0 or n == 0:  # no rows: a zero gradient
        return torch.zeros(n, device=part.device, dtype=dtype)
    out = torch.empty(n, device=part.device, dtype=dtype)
    _sum_partials[(triton.cdiv(n, 128),)](part, out, p, n, 16, 128, num_warps=4)
    return out
