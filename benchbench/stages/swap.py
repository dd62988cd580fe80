"""The `swap` stage: each model with SWAP_STAGE_OPS swapped for the Triton kernels (`kernelbench.swap_check`):
parity, and the before/after speed-up that the `min_kernel_speedup` budget reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchbench.core.stage import BudgetMetric, StageContext, stage
from benchbench.kernelbench.records import SwapRun
from benchbench.measure.records import ProfileResult

if TYPE_CHECKING:
    from benchbench.sources.target import Target

# The ops the swap stage routes to the Triton kernels; ops a model does not call are reported with no site.
SWAP_STAGE_OPS = ("attention", "layernorm", "rmsnorm", "gelu")


def _kernel_speedup(p: ProfileResult) -> float | None:
    """The swap stage's before/after speed-up (None where it was not timed, e.g. Triton interpreted on a CPU)."""
    return p.swap.speed.speedup if p.swap else None


def _speedup_ci(p: ProfileResult) -> list[float] | None:
    return p.swap.speed.ratio_ci95 if p.swap else None


@stage("swap", record=SwapRun, order=75,
       budgets={"min_kernel_speedup": BudgetMetric(_kernel_speedup, "min", ci=_speedup_ci, timing=True)})  # fmt: skip
def swap_stage(target: Target, result: ProfileResult, ctx: StageContext) -> SwapRun:
    """The model with SWAP_STAGE_OPS swapped for the Triton kernels: parity, and the before/after speed-up
    that the gate's `min_kernel_speedup` budget reads (on a CPU the kernels are interpreted, not timed)."""
    from benchbench.core.dtypes import parse_dtype
    from benchbench.kernelbench.swap_check import check_swap

    return check_swap(target, list(SWAP_STAGE_OPS), "triton", device=ctx.device, dtype=parse_dtype(ctx.dtype))
