"""Whether a compiled kernel can launch on a GPU: shared memory, registers and spills against the target's limits.

One rule, used twice: `benchbench kernels check` applies it to kernels compiled on a machine with no GPU (for
sm_90, sm_100, ...), and the autotuners prune by it on a real GPU (`prune_unlaunchable`), so a config that the
check flags is never benchmarked either.

Limits per compute capability are from NVIDIA's CUDA C++ Programming Guide, "Technical Specifications per
Compute Capability" (CUDA 12.x/13.0): the opt-in maximum of dynamic shared memory per block, 64 Ki 32-bit
registers per block and per SM, at most 255 registers per thread, 1024 threads per block. Registers are
allocated per warp in units of 256.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TargetLimits:
    """What one block may use on a GPU of compute capability `capability` (e.g. 90 for sm_90)."""

    capability: int
    gpus: str
    max_shared_bytes: int  # dynamic shared memory per block, opt-in maximum
    regs_per_block: int = 65536
    max_regs_per_thread: int = 255
    max_threads: int = 1024
    reg_alloc_unit: int = 256  # registers are allocated per warp in units of this many

    @property
    def name(self) -> str:
        return f"sm_{self.capability}"


LIMITS: dict[int, TargetLimits] = {
    80: TargetLimits(80, "A100", 166912),  # 163 KiB
    86: TargetLimits(86, "A10, RTX 30xx", 101376),  # 99 KiB
    89: TargetLimits(89, "L4, L40S, RTX 40xx", 101376),
    90: TargetLimits(90, "H100, H200", 232448),  # 227 KiB
    100: TargetLimits(100, "B200", 232448),
    120: TargetLimits(120, "RTX 50xx", 101376),
}


def limits_for(capability: int) -> TargetLimits:
    if capability not in LIMITS:
        raise ValueError(
            f"no launch limits for sm_{capability}; known: {', '.join(v.name for v in LIMITS.values())}"
        )
    return LIMITS[capability]


def regs_per_block(regs_per_thread: int, num_warps: int, limits: TargetLimits) -> int:
    """Registers a block of `num_warps` warps takes, with the per-warp allocation granularity."""
    per_warp = math.ceil(regs_per_thread * 32 / limits.reg_alloc_unit) * limits.reg_alloc_unit
    return per_warp * num_warps


def launch_problem(
    shared_bytes: int, regs_per_thread: int, num_warps: int, limits: TargetLimits
) -> str | None:
    """Why a kernel with these resources cannot launch on `limits` (None if it can)."""
    threads = 32 * num_warps
    if threads > limits.max_threads:
        return f"{threads} threads > {limits.max_threads} per block on {limits.name}"
    if shared_bytes > limits.max_shared_bytes:
        return f"shared memory {shared_bytes} B > {limits.max_shared_bytes} B per block on {limits.name}"
    if regs_per_thread > limits.max_regs_per_thread:
        return f"{regs_per_thread} registers per thread > {limits.max_regs_per_thread} on {limits.name}"
    used = regs_per_block(regs_per_thread, num_warps, limits)
    if used > limits.regs_per_block:
        return f"{used} registers per block ({regs_per_thread} × {threads} threads) > {limits.regs_per_block}"
    return None


def select_configs(configs: list, inspect: Callable, limits: TargetLimits | None) -> list:
    """The configs an autotuner should benchmark: those that can launch, and of them those that do not spill
    (all launchable ones if every one spills; all of them if none can launch, so the autotuner's own error
    names the problem). `inspect(config) -> (shared_bytes, regs_per_thread, spills)` compiles one config and
    raises triton's OutOfResources when the driver refuses it."""
    from triton.runtime.errors import OutOfResources

    clean, spilling = [], []
    for cfg in configs:
        try:
            shared, regs, spills = inspect(cfg)
        except OutOfResources:
            continue
        if limits is not None and launch_problem(shared, regs, cfg.num_warps, limits):
            continue
        (spilling if spills else clean).append(cfg)
    return clean or spilling or list(configs)


def prune_unlaunchable(kernel) -> Callable:
    """An `early_config_prune` for `triton.autotune` over the JIT function `kernel`, for a real GPU.

    Each config is compiled for the current device (Triton's cache makes that the compile the autotuner needs
    anyway) and judged by `select_configs` with the registers and spills the driver reports. If the compiled
    kernel cannot be inspected (another Triton's internals), the configs are returned unpruned with a warning
    rather than guessed at.
    """

    def prune(configs: list, named_args: dict, **kwargs) -> list:
        import torch

        call_kwargs = {k: v for k, v in kwargs.items() if k not in ("grid", "warmup")}
        args = [named_args[n] for n in kernel.arg_names if n in named_args]
        major, minor = torch.cuda.get_device_capability()

        def inspect(cfg) -> tuple[int, int, int]:
            compiled = kernel.warmup(*args, grid=(1,), **call_kwargs, **cfg.all_kwargs())
            compiled._init_handles()  # loads the cubin: registers and spills from the driver
            return compiled.metadata.shared, compiled.n_regs, compiled.n_spills

        try:
            return select_configs(configs, inspect, LIMITS.get(10 * major + minor))
        except (AttributeError, TypeError) as exc:
            warnings.warn(
                f"{kernel.__name__}: cannot inspect compiled configs ({exc}); not pruning", stacklevel=2
            )
            return configs

    return prune
