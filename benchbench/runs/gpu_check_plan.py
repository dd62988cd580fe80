"""The plan of `benchbench gpu-check`: its steps in order of value, and how long each should take on a GPU.

The estimate is built from measured compile times (`benchbench/data/kernel_compile_times.toml`, written by
`benchbench kernels check --target sm_90 --compile-times FILE`: seconds per kernel × config, compiled without
Triton's cache) and a model of the timed work:

- **compiles**: each step compiles the kernels its op launches: every 16-bit autotune config of an autotuned
  kernel at a new autotune key (each attention target is one), the one fixed config otherwise, once per dtype
  and shape variant. The `warm` step compiles the kernels of the timed steps and of the correctness checks in
  parallel worker processes into Triton's cache before they run (`kernelbench.gpu_compile.warm_cache`), so
  those steps then only load them; the fused steps, last and least valuable, compile their own.
- **timed calls**: each (implementation, direction) row is called `CALLS_PER_ROW` times (the GPU timers' warm-up
  and three timers × their repeats, plus the parity check against the fp32 reference) at an assumed rate
  (`ASSUMED_TFLOPS` for matrix work, `ASSUMED_GBS` for memory-bound work: below an H100's, so the estimate errs
  long), plus a fixed `ROW_OVERHEAD_S` (allocation, profiler pass for the SDPA backend, Python).
- **torch.compile**: `INDUCTOR_S` per (op, shape) yardstick: an assumption (inductor's compile of a small
  reference forward and backward), not a measurement on a GPU.

`--dry-run` prints this plan without touching a GPU; the default budget covers the whole GPU plan.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_COMPILE_S = 5.0  # a kernel × config with no recorded compile time
WARM_SPAWN_S = 15.0  # starting the warm-up workers (each imports torch and triton) and recording the launches
LOAD_S = 0.05  # loading a compiled kernel from Triton's on-disk cache
AUTOTUNE_BENCH_S = 0.15  # the autotuner's do_bench of one config (25 ms warm-up + 100 ms repeats + sync)
ASSUMED_TFLOPS = 250.0  # matrix work, bf16, on an H100-class GPU: below every yardstick's measured rate
ASSUMED_GBS = 1500.0  # memory-bound work: below half of an H100's copy bandwidth
CALLS_PER_ROW = (
    3 + 3 * 25 + 10 + 4
)  # timer warm-up, three timers × 25 repeats, graph capture, parity and spares
ROW_OVERHEAD_S = 0.5
INDUCTOR_S = 30.0  # torch.compile of one reference forward + backward at one shape (assumed, see above)
FIXED_S = {"env": 3.0, "ceilings": 6.0, "goals": 0.5}
WARMED = ("target", "norms", "decode", "kernels")  # the steps whose kernels the warm step compiles first
LENT_GPU_CPU_CORES = 16  # the lent H200's host (device README): a dry run's default workers


@dataclass(frozen=True)
class CompileTimes:
    """Measured compile seconds per "op/kernel" and config label, and where they were measured."""

    seconds: dict[str, dict[str, float]]
    measured: dict[str, Any] = field(default_factory=dict)

    def kernels(self, op: str) -> list[str]:
        """The recorded kernels of `op` ("op/kernel"), sorted."""
        return sorted(k for k in self.seconds if k.split("/", 1)[0] == op)

    def worst(self, kernel: str) -> float:
        """The longest recorded compile of `kernel` ("op/kernel") over its configs: configs differ little."""
        per = self.seconds.get(kernel)
        return max(per.values()) if per else DEFAULT_COMPILE_S


def data_file() -> Path:
    """The packaged compile-time data, benchbench/data/kernel_compile_times.toml."""
    return Path(str(resources.files("benchbench.data") / "kernel_compile_times.toml"))


def load_compile_times(path: str | Path | None = None) -> CompileTimes:
    """The recorded compile times (the packaged data file unless `path`)."""
    raw = tomllib.loads(Path(path or data_file()).read_text())
    seconds = {k: {c: float(s) for c, s in v.items()} for k, v in raw.get("seconds", {}).items()}
    return CompileTimes(seconds, raw.get("measured", {}))


@dataclass
class PlannedStep:
    """One step of the check: what it runs and how long it should take on an H100-class GPU."""

    name: str
    kind: str  # env, ceilings, warm, target, norms, decode, kernels, fused, goals
    op: str = ""
    shape: dict = field(default_factory=dict)
    impls: tuple[str, ...] = ()
    compiles: int = 0  # kernel compiles the step itself pays for (not warmed beforehand)
    compile_s: float = 0.0
    work_s: float = 0.0  # timed calls, parity, autotune benchmarking, torch.compile

    @property
    def estimate_s(self) -> float:
        """The step's estimated seconds: its compiles plus its timed work."""
        return self.compile_s + self.work_s


def autotune_configs(op: str) -> dict[str, int]:
    """{"op/kernel": number of autotune configs} for the autotuned kernels of `op` (others compile once)."""
    if op != "attention":
        return {}
    from benchbench.kernels import attention

    return {f"attention/{name}": n for name, n in attention.TUNED_16BIT.items()}


def compile_cost(op: str, times: CompileTimes, *, autotuned: bool, variants: int = 1) -> tuple[int, float]:
    """(compiles, seconds) of one call of `op`'s kernels in `variants` specialisations (dtypes × shapes)."""
    tuned = autotune_configs(op) if autotuned else {}
    n, secs = 0, 0.0
    for kernel in times.kernels(op):
        k = tuned.get(kernel, 1) * variants
        n += k
        secs += k * times.worst(kernel)
    return n, secs


def row_seconds(flops: float | None, nbytes: float | None) -> float:
    """One timed (implementation, direction) row: its calls at the assumed rates, plus the fixed overhead."""
    call = max((flops or 0.0) / (ASSUMED_TFLOPS * 1e12), (nbytes or 0.0) / (ASSUMED_GBS * 1e9)) + 20e-6
    return CALLS_PER_ROW * call + ROW_OVERHEAD_S


def timed_work(op: str, shape: dict, impls: tuple[str, ...], dtype: Any) -> float:
    """The timed rows of `impls` of `op` at `shape`, forward and backward, plus inductor for "compile"."""
    from benchbench.kernels.registry import get_op

    spec = get_op(op)
    fwd = row_seconds(spec.flops(shape) if spec.flops else None, spec.bytes_moved(shape, dtype))
    bwd_flops = spec.backward_flops(shape) if spec.backward_flops else None
    bwd_bytes = spec.backward_bytes_moved(shape, dtype) if spec.backward_bytes_moved else None
    bwd = row_seconds(bwd_flops, bwd_bytes)
    inductor = INDUCTOR_S if "compile" in impls else 0.0
    return len(impls) * (fwd + bwd) + inductor


def estimate(steps: list[PlannedStep], plan: Any, times: CompileTimes, workers: int) -> list[PlannedStep]:
    """Fill each step's compiles and seconds; the warm step compiles the timed steps' kernels in `workers`
    processes (longest first onto the least loaded worker: the makespan, not the sum)."""
    warmed: list[float] = []
    for step in steps:
        if step.kind in FIXED_S:
            step.work_s = FIXED_S[step.kind]
        elif step.kind in ("target", "norms", "decode", "fused"):
            n, secs = compile_cost(step.op, times, autotuned=True)
            tuned = sum(autotune_configs(step.op).values())
            step.work_s = timed_work(step.op, step.shape, step.impls, plan.dtype) + tuned * AUTOTUNE_BENCH_S
            if plan.warm and step.kind in WARMED:
                warmed += [secs / max(n, 1)] * n
                step.compiles, step.compile_s = 0, n * LOAD_S
            else:
                step.compiles, step.compile_s = n, secs
        elif step.kind == "kernels":
            variants = len(plan.check_dtypes) * len(plan.check_shapes.get(step.op, ()))
            n, secs = compile_cost(step.op, times, autotuned=False, variants=variants)
            step.work_s = variants * 2 * ROW_OVERHEAD_S
            if plan.warm:
                warmed += [secs / max(n, 1)] * n
                step.compiles, step.compile_s = 0, n * LOAD_S
            else:
                step.compiles, step.compile_s = n, secs
    for step in steps:
        if step.kind == "warm":
            step.compiles = len(warmed)
            step.compile_s = WARM_SPAWN_S + makespan(warmed, workers) if warmed else 0.0
    return steps


def makespan(jobs: list[float], workers: int) -> float:
    """The time `workers` take for `jobs` (seconds each), longest first onto the least loaded worker."""
    loads = [0.0] * max(1, workers)
    for job in sorted(jobs, reverse=True):
        i = loads.index(min(loads))
        loads[i] += job
    return max(loads)


def default_workers() -> int:
    """Compile workers: this machine's cores where a GPU is here, else the lent H200 host's (for a dry run)."""
    import torch

    if torch.cuda.is_available():
        return max(1, min(LENT_GPU_CPU_CORES, os.cpu_count() or 1))
    return LENT_GPU_CPU_CORES


def format_plan(steps: list[PlannedStep], budget_s: float, times: CompileTimes, workers: int) -> list[str]:
    """The plan as plain lines: each step with its compiles and estimate, the total against the budget."""
    m = times.measured
    lines = [f"gpu-check plan: {len(steps)} steps, compile times from {data_file().name} (triton {m.get('triton', '?')}, "
             f"{m.get('cpu', '?')}, {m.get('measured_at', '?')}), {workers} compile workers"]  # fmt: skip
    total = 0.0
    lines.append(f"  {'step':<46} {'compiles':>8} {'compile s':>9} {'work s':>7} {'total s':>8}")
    for s in steps:
        total += s.estimate_s
        lines.append(f"  {s.name:<46} {s.compiles:8d} {s.compile_s:9.1f} {s.work_s:7.1f} {total:8.1f}")
    verdict = "fits" if total <= budget_s else "DOES NOT FIT"
    lines.append(f"estimate {total:.0f} s on an H100-class GPU: {verdict} the budget of {budget_s:.0f} s")
    return lines


def total_estimate(steps: list[PlannedStep]) -> float:
    """The whole plan's estimated seconds."""
    return math.fsum(s.estimate_s for s in steps)
