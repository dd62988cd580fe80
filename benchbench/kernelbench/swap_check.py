"""Run a model before and after a kernel swap: output parity within a per-dtype tolerance, and the speed ratio.

Both versions are timed side by side in one run (alternating rounds), so machine drift hits both alike.
On the CPU a swapped Triton kernel runs in the interpreter: the speed is reported as "interpreted".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch.utils._pytree import tree_leaves

from benchbench.core.env import capture_env
from benchbench.core.forward import forward_fn, to_device
from benchbench.core.target import Target
from benchbench.kernels.registry import get_kernel
from benchbench.kernels.swap import SwapReport, swap
from benchbench.measure.timing import LatencyStats, TimingConfig, measure

# Largest output difference allowed, relative to max(1, largest reference value), per compute dtype.
PARITY_TOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}


@dataclass
class Parity:
    """How far the swapped model's outputs are from the original's."""

    max_abs_err: float
    max_rel_err: float  # max abs error / max(1, max |reference|)
    tolerance: float
    verdict: str  # "pass" or "fail"
    outputs: int  # floating-point output tensors compared


@dataclass
class SwapSpeed:
    """Latency before and after the swap, measured side by side."""

    status: str  # "timed", "interpreted" (Triton in the CPU interpreter: no meaningful time) or "skipped"
    before_p50_ms: float | None = None
    after_p50_ms: float | None = None
    speedup: float | None = None  # before / after: above 1 the swap is faster
    samples: int = 0
    note: str = ""


@dataclass
class SwapRun:
    """One `benchbench swap`: what was swapped, whether the answers stayed, and how the speed changed."""

    model: str
    size: str
    device: str
    dtype: str
    batch_size: int
    ops: list[str]
    impl: dict[str, str]
    swap: dict[str, Any]
    parity: Parity
    speed: SwapSpeed
    env: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.parity.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = "swap"
        return d


def compare_outputs(ref: Any, out: Any, dtype: torch.dtype) -> Parity:
    """Max abs / relative error over every floating-point output tensor (any nesting of tuples/dicts)."""
    refs = [t for t in tree_leaves(ref) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if len(refs) != len(outs) or any(a.shape != b.shape for a, b in zip(refs, outs)):
        shapes = ([tuple(t.shape) for t in refs], [tuple(t.shape) for t in outs])
        raise RuntimeError(f"swapped model returns different outputs: {shapes[0]} vs {shapes[1]}")
    abs_err, rel_err = 0.0, 0.0
    for a, b in zip(refs, outs):
        if a.numel() == 0:
            continue
        err = (a.float() - b.float()).abs().max().item()
        abs_err = max(abs_err, err)
        rel_err = max(rel_err, err / max(1.0, a.float().abs().max().item()))
    tol = PARITY_TOL.get(dtype, 5e-2)
    ok = rel_err <= tol  # NaN compares False: a NaN output fails
    return Parity(abs_err, rel_err, tol, "pass" if ok else "fail", len(refs))


def _interpreted(report: SwapReport, device: torch.device) -> bool:
    if device.type != "cpu":
        return False
    return any(s.swapped_calls and get_kernel(s.op, s.impl).interpreted_on_cpu for s in report.sites.values())


def check_swap(
    target: Target,
    ops: str | list[str],
    impl: str | dict[str, str] = "triton",
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    timing: TimingConfig | None = None,
    rounds: int = 3,
    intercept: str = "patch",
) -> SwapRun:
    """Run `target` before and after swapping `ops` to `impl`; compare outputs and time both side by side."""
    dev = torch.device(device)
    model = target.model.eval().to(dev)
    inputs = to_device(target.inputs, dev)
    run = forward_fn(model, inputs, dev, dtype)
    ref = run()
    report = swap(model, ops, impl, intercept=intercept)
    try:
        out = run()
        parity = compare_outputs(ref, out, dtype)
        swapped = report.to_dict()  # the call sites as seen on one forward pass
        if _interpreted(report, dev):
            speed = SwapSpeed(
                "interpreted", note="Triton runs in its CPU interpreter here: timings mean nothing"
            )
        elif report.swapped_sites == 0:
            speed = SwapSpeed("skipped", note="no call site was swapped")
        else:
            speed = _time_side_by_side(
                run, report, dev, timing or TimingConfig(warmup=2, min_repeats=5), rounds
            )
    finally:
        report.restore()
    return SwapRun(target.name, target.size, str(dev), str(dtype).removeprefix("torch."), target.batch_size,
                   list(report.ops), dict(report.impl), swapped, parity, speed, capture_env(str(dev)))  # fmt: skip


def _time_side_by_side(
    run, report: SwapReport, dev: torch.device, cfg: TimingConfig, rounds: int
) -> SwapSpeed:
    before: list[float] = []
    after: list[float] = []
    for _ in range(max(1, rounds)):  # alternate so that drift and thermal state hit both alike
        with report.paused():
            before += measure(run, device=dev, config=cfg).samples_ms
        after += measure(run, device=dev, config=cfg).samples_ms
    b = LatencyStats.from_samples(before, device=str(dev)).p50_ms
    a = LatencyStats.from_samples(after, device=str(dev)).p50_ms
    return SwapSpeed("timed", b, a, b / a if a > 0 else None, len(before) + len(after),
                     note=f"{rounds} alternating rounds; the swapped model's timing includes the call interception")  # fmt: skip
