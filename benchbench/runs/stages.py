"""The stages a run adds to each model's profile, in one explicit table.

A stage is `fn(target, result, ctx) -> record`: it reads the built target and the profile measured so far,
and its return value becomes the field `result.<name>` of the `ProfileResult`. A stage that raises is recorded on that model (its error names
the stage) and the run goes on. To add one, see ADD_STAGE.md beside this file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.core.dtypes import parse_dtype
from benchbench.core.results import HealthReport, ProfileResult, Readiness, SwapRun
from benchbench.deploy.readiness import ReadinessConfig, check_readiness
from benchbench.health.check import ProbeSize, check_health
from benchbench.health.probe import ProbeConfig
from benchbench.kernelbench.swap_check import check_swap
from benchbench.sources.target import Target


@dataclass
class StageContext:
    """What a stage gets besides the target: where the run writes files and on what device."""

    out_dir: Path
    device: str
    dtype: str = "float32"


Stage = Callable[[Target, ProfileResult, StageContext], Any]


def export_stage(target: Target, result: ProfileResult, ctx: StageContext) -> Readiness:
    """Readiness of `target` with short timings, files under `ctx.out_dir/onnx/`."""
    start = time.perf_counter()
    readiness = check_readiness(target, Path(ctx.out_dir) / "onnx", ReadinessConfig(device=ctx.device))
    readiness.stage_s = time.perf_counter() - start
    return readiness


# The run profiles inference at batch 1, which says nothing of how the model will be trained: the health
# stage's lint assumes this per-device training batch (recorded in the section) so batch-size rules stay meaningful.
RUN_TRAIN_BATCH = 32

# The health stage's probe has this many seconds (the probe stops itself there, `ProbeResult.complete`); a model
# whose fewest probe steps would not fit, judged from its profiled forward pass, is not probed and the section
# says why.
PROBE_BUDGET_S = 10.0


def probe_cost_s(forward_ms: float, cfg: ProbeConfig, batch_size: int = 1) -> float:
    """Rough seconds of the fewest probe steps: 3 forward-equivalents per step, at the probe's batch."""
    scale = ProbeSize().max_batch / max(batch_size, 1)
    return forward_ms / 1000 * 3 * cfg.min_steps * max(scale, 1.0)


def health_stage(target: Target, result: ProfileResult, ctx: StageContext) -> HealthReport:
    """The lint for every model; the probe within PROBE_BUDGET_S where its fewest steps fit."""
    cfg = ProbeConfig(budget_s=PROBE_BUDGET_S)
    p50 = result.latency.p50_ms if result.latency else None
    cost = None if p50 is None else probe_cost_s(p50, cfg, result.batch_size)
    cheap = cost is not None and cost <= PROBE_BUDGET_S
    report = check_health(target, probe=cfg, run_probe=cheap, train_batch_size=RUN_TRAIN_BATCH)
    if not cheap:
        est = "an unknown time (no latency measured)" if cost is None else f"about {cost:.1f} s"
        report.probe_skipped = (
            f"{cfg.min_steps} probe steps would take {est}, over the {PROBE_BUDGET_S:g} s budget"
        )
    return report


# The ops the swap stage routes to the Triton kernels; ops a model does not call are reported with no site.
SWAP_STAGE_OPS = ("attention", "layernorm", "rmsnorm", "gelu")


def swap_stage(target: Target, result: ProfileResult, ctx: StageContext) -> SwapRun:
    """The model with SWAP_STAGE_OPS swapped for the Triton kernels: parity, and the before/after speed-up
    that the gate's `min_kernel_speedup` budget reads (on a CPU the kernels are interpreted, not timed)."""
    return check_swap(target, list(SWAP_STAGE_OPS), "triton", device=ctx.device, dtype=parse_dtype(ctx.dtype))


# name -> stage, in the order a run applies them. A suite lists the ones it runs (`Suite.stages`).
STAGES: dict[str, Stage] = {
    "export": export_stage,
    "health": health_stage,
    "swap": swap_stage,
}
