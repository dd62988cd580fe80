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

import torch

from benchbench.core.dtypes import parse_dtype
from benchbench.core.results import HealthReport, ProfileResult, Readiness, ServeResult, SwapRun
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


# The serving stage searches each model's highest Poisson rate within a p99 budget relative to its own speed:
# SERVING_P99_FACTOR × its batch-1 p50 on the serving threads (at least SERVING_P99_FLOOR_MS), so every model has a knee to find, in
# short probes (the minimum 368 queries each, at most SERVING_MAX_PROBES of them and SERVING_PROBE_S each, so
# no rate below 368 / SERVING_PROBE_S is probed). It takes tens
# of seconds per model on two cores, so no built-in CPU suite runs it; a suite file lists it in `stages`.
SERVING_P99_FACTOR = 5.0
SERVING_P99_FLOOR_MS = 20.0
SERVING_MAX_PROBES = 6
SERVING_PROBE_S = 20.0


def serving_p99_budget_ms(target: Target) -> float:
    """SERVING_P99_FACTOR × the batch-1 p50 timed here on the threads serving uses (not the profile's, which ran
    on the run's threads), at least SERVING_P99_FLOOR_MS."""
    from benchbench.core.forward import forward_fn
    from benchbench.measure.sweep import num_threads
    from benchbench.measure.timing import TimingConfig, measure
    from benchbench.serve.scenarios import default_threads, query_pool

    query = query_pool(target, 1)[0]
    device = next((p.device for p in target.model.parameters()), torch.device("cpu"))
    with num_threads(default_threads()):
        stats = measure(forward_fn(target.model.eval(), query, device, torch.float32), device=device,
                        config=TimingConfig(warmup=2, min_repeats=10, max_repeats=200, min_time_s=0.1, max_time_s=0.5))  # fmt: skip
    return max(SERVING_P99_FLOOR_MS, SERVING_P99_FACTOR * stats.p50_ms)


def serving_stage(target: Target, result: ProfileResult, ctx: StageContext) -> ServeResult:
    """Eager serving of `target`: the max QPS within `serving_p99_budget_ms`, its probes (the load curve the
    report plots) and the measured cost (no price on a CPU: the hardware table prices GPUs only)."""
    from benchbench.serve.cost import attach_costs
    from benchbench.serve.scenarios import ServeConfig, default_threads, serve_target
    from benchbench.serve.search import MIN_QUERIES

    cfg = ServeConfig(scenario="server", find_max=True, p99_budget_ms=serving_p99_budget_ms(target),
                      queries=MIN_QUERIES, min_duration_s=0.5, max_duration_s=SERVING_PROBE_S, max_probes=SERVING_MAX_PROBES,
                      tolerance=0.1, threads=default_threads())  # fmt: skip
    return attach_costs(serve_target(target, ["eager"], cfg, device=ctx.device))


# name -> stage, in the order a run applies them. A suite lists the ones it runs (`Suite.stages`).
STAGES: dict[str, Stage] = {
    "export": export_stage,
    "health": health_stage,
    "swap": swap_stage,
    "serving": serving_stage,
}
