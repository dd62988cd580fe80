"""Run a model before and after a kernel swap: output parity within a per-dtype tolerance, and the speed ratio.

Parity is the one check (`core/parity.py`), on the model's outputs and on each swapped site's own output. When
the model's outputs are too small or too flat to judge at its own weights (`inconclusive`), both are checked
again with the weights re-initialised to a non-degenerate scale (`core.parity.reinitialised`), and the record
says so. A swap that swapped no call site has the verdict `nothing-swapped` (never a pass), with the
attention-like ops that ran outside every route.

Both versions are timed in interleaved rounds (before, after, after, before, ...; `benchbench.measure.interleave`),
so machine drift hits both alike, and the speed-up carries a 95% CI.
On the CPU a swapped Triton kernel runs in the interpreter: the speed is reported as "interpreted".
"""

from __future__ import annotations

from typing import Any

import torch

from benchbench.core.dtypes import dtype_name
from benchbench.core.env import capture_env
from benchbench.core.forward import forward_fn, to_device
from benchbench.core.parity import (
    REINIT_RULE,
    check_outputs,
    inconclusive_reasons,
    reinitialised,
    with_remedy,
)
from benchbench.core.results import Parity
from benchbench.core.tensors import tensors_in
from benchbench.kernelbench.records import SwapRun, SwapSpeed
from benchbench.kernels.registry import get_kernel
from benchbench.kernels.swap import ATTENTION, SwapReport, swap
from benchbench.measure.interleave import MIN_ROUNDS, interleave
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import Target

SWAP_TIMING = TimingConfig(warmup=2, min_repeats=5, min_time_s=0.1, max_time_s=1.0)


def compare_outputs(ref: Any, out: Any, dtype: torch.dtype) -> Parity:
    """Every floating-point output tensor of the swapped model (any nesting) against the original's, at the
    tolerance of the compute dtype."""
    refs = [t for t in tensors_in(ref) if t.is_floating_point()]
    outs = [t for t in tensors_in(out) if t.is_floating_point()]
    return check_outputs(outs, refs, dtype=dtype_name(dtype))


def _candidate_paths(report: SwapReport) -> list[str]:
    """Modules that may hold a swapped site: patched modules and attention-like ones."""
    paths = [s.site.split(": ", 1)[0] for s in report.sites.values()] + [w.path for w in report.watched]
    return list(dict.fromkeys(paths))


def _site_paths(report: SwapReport) -> list[str]:
    """Module paths of the call sites that ran a swapped implementation."""
    paths = []
    for s in report.sites.values():
        path = s.site.split(": ", 1)[0]
        if s.swapped_calls and path not in paths:
            paths.append(path)
    return paths


class _Capture:
    """Forward hooks keeping the output tensors of named modules (the last call of each)."""

    def __init__(self, model: torch.nn.Module, paths: list[str]) -> None:
        modules = dict(model.named_modules())
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self.handles = []
        for path in paths:
            mod = modules.get("" if path == "<root>" else path)
            if mod is not None:
                self.handles.append(mod.register_forward_hook(self._keeper(path)))

    def _keeper(self, path: str) -> Any:
        def keep(module: Any, args: Any, output: Any) -> None:
            self.outputs[path] = [t.detach() for t in tensors_in(output)]

        return keep

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def compare_sites(
    ref: dict[str, list[torch.Tensor]], out: dict[str, list[torch.Tensor]], dtype: torch.dtype
) -> Parity | None:
    """Each swapped site module's floating-point outputs after the swap against before, named by module."""
    got, want, names = [], [], []
    for path, tensors in out.items():
        for i, (g, w) in enumerate(zip(tensors, ref.get(path, []))):
            if g.is_floating_point():
                got.append(g)
                want.append(w)
                names.append(path if len(tensors) == 1 else f"{path}[{i}]")
    return check_outputs(got, want, names=names, dtype=dtype_name(dtype)) if names else None


def _interpreted(report: SwapReport, device: torch.device) -> bool:
    if device.type != "cpu":
        return False
    return any(s.swapped_calls and get_kernel(s.op, s.impl).interpreted_on_cpu for s in report.sites.values())


def _compare(run, report: SwapReport, capture: _Capture, dtype: torch.dtype) -> tuple[Parity, Parity | None]:
    """The swapped model against the original (paused swap) on one forward each: outputs, and each swapped
    site's module outputs."""
    capture.outputs.clear()
    with report.paused():
        ref = run()
    before = dict(capture.outputs)
    capture.outputs.clear()
    out = run()
    after = dict(capture.outputs)
    paths = _site_paths(report)
    site_parity = compare_sites({p: before[p] for p in paths if p in before},
                                {p: after[p] for p in paths if p in after}, dtype)  # fmt: skip
    return compare_outputs(ref, out, dtype), site_parity


def _bit_identical(parity: Parity) -> bool:
    return bool(parity.outputs) and all(o.max_abs == 0 for o in parity.outputs)


def _identical_note(report: SwapReport) -> str:
    """What ran when the swapped model's outputs equal the original's bit for bit: an exact 0 is not a skipped
    swap when the implementation computes the same ops in the same order (eager attention against torch's own
    nn.MultiheadAttention path at a head dim whose 1/√d is a power of two, 64 in ViT-B, rounds alike)."""
    ran = [f"{s.impl} on {s.swapped_calls} of {s.calls} calls at {s.site}" for s in report.sites.values()
           if s.swapped_calls]  # fmt: skip
    return ("outputs bit-identical to the original, and the swapped code ran (counted per call): "
            + "; ".join(ran[:3]) + (f"; and {len(ran) - 3} more sites" if len(ran) > 3 else "")
            + ". The implementation computes the same operations in the same order as the code it replaced, so "
            "an exact 0 is expected (eager attention against nn.MultiheadAttention at a power-of-two scale 1/√d)")  # fmt: skip


def check_swap(
    target: Target,
    ops: str | list[str],
    impl: str | dict[str, str] = "triton",
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    timing: TimingConfig | None = None,
    rounds: int = MIN_ROUNDS,
    intercept: str = "patch",
    mha: bool = True,
) -> SwapRun:
    """Run `target` before and after swapping `ops` to `impl`; compare outputs and time both in interleaved rounds.
    `mha=False` turns the nn.MultiheadAttention route off."""
    dev = torch.device(device)
    model = target.model.eval().to(dev)
    inputs = to_device(target.inputs, dev)
    run = forward_fn(model, inputs, dev, dtype)
    report = swap(model, ops, impl, intercept=intercept, mha=mha)
    notes: list[str] = []
    # The outputs of the modules that may hold a site, swapped and not: the model's output may not show them.
    capture = _Capture(model, _candidate_paths(report))
    try:
        try:
            parity, site_parity = _compare(run, report, capture, dtype)
            swapped = report.summary()  # the call sites as seen on one forward pass
            judged = (parity.verdict, site_parity.verdict if site_parity else None)
            if swapped.swapped_sites and "inconclusive" in judged:  # nothing swapped: nothing to judge again
                with reinitialised(model) as n:
                    again, site_again = _compare(run, report, capture, dtype)
                rule = f"{REINIT_RULE} ({n} tensors, seed 0), before and after the swap alike"
                reasons = inconclusive_reasons(parity) + (
                    inconclusive_reasons(site_parity) if site_parity else []
                )
                parity = with_remedy(parity, again, rule)
                if site_parity is not None and site_again is not None:
                    site_parity = with_remedy(site_parity, site_again, rule)
                notes.append(f"outputs too small or flat to judge at the model's own weights ({'; '.join(reasons)}); "
                             f"{rule}")  # fmt: skip
            if ATTENTION in report.ops:
                report.trace_uncovered_attention(run)
                swapped.uncovered_ops = dict(report.uncovered)
        finally:
            capture.remove()
        if swapped.swapped_sites and _bit_identical(parity):
            notes.append(_identical_note(report))
        if swapped.swapped_sites == 0:
            seen = ", ".join(f"{op} ×{n}" for op, n in swapped.uncovered_ops.items())
            notes.append("no call site was swapped, so nothing was tested"
                         + (f"; attention ran as ops no route covers: {seen}" if seen else ""))  # fmt: skip
        if _interpreted(report, dev):
            speed = SwapSpeed(
                "interpreted", note="Triton runs in its CPU interpreter here: timings mean nothing"
            )
        elif report.swapped_sites == 0:
            speed = SwapSpeed("skipped", note="no call site was swapped")
        else:
            speed = _time_side_by_side(run, report, dev, timing or SWAP_TIMING, rounds)
    finally:
        report.restore()
    return SwapRun(target.name, target.size, str(dev), str(dtype).removeprefix("torch."), target.batch_size,
                   list(report.ops), dict(report.impl), swapped, parity, speed, capture_env(str(dev)),
                   site_parity, notes)  # fmt: skip


def _time_side_by_side(
    run, report: SwapReport, dev: torch.device, cfg: TimingConfig, rounds: int
) -> SwapSpeed:
    """Before (the swap paused) and after, in interleaved rounds: speed-up = before / after with its 95% CI."""
    timed = interleave({"before": run, "after": run}, device=dev, config=cfg, contexts={"before": report.paused},
                       ratios=[("before", "after")], min_rounds=rounds)  # fmt: skip
    r = timed.ratio("before", "after")
    before, after = timed.stats("before"), timed.stats("after")
    return SwapSpeed("timed", before.p50_ms, after.p50_ms, r.value, r.ci95, before.n + after.n, timed.rounds,
                     before.ci95_ms, after.ci95_ms, timed.stop_reason,
                     note=f"{timed.rounds} interleaved rounds of {timed.calls_per_round} calls; the swapped "
                          "model's timing includes the call interception")  # fmt: skip
