"""The goals `benchbench gpu-check` judges, each against a named yardstick measured in the same run.

- attention forward at D=128, T >= 4096 (bf16): >= 1.3x SDPA's flash backend; >= 470 TFLOP/s (the Triton
  tutorial's level on Hopper), 600 as the stretch; backward >= 0.8x the forward's rate (TFLOP/s).
- LayerNorm and RMSNorm, forward and backward: >= 90% of the measured copy bandwidth; faster than PyTorch's fused
  op (`F.layer_norm`, `F.rms_norm`) and than torch.compile of the eager reference.
- decode attention at T >= 8192: >= 80% of the measured copy bandwidth.
- attention, both directions: against SDPA's cuDNN backend and torch.compile of the reference too.
- decode attention and the other fused kernels: faster than PyTorch's fused op where one exists (SDPA for decode;
  else the eager composition), and than torch.compile of the reference.

Every verdict names its yardstick (`yardstick_name`: the implementation and what it is); a yardstick the run did
not time at a shape still gets its verdict, "not measured", with the reason (`Plan.left_out`, or "not in this step
of the plan").

Each verdict is met, missed, or not measured (with why); on a CPU none is judged.
"""

from __future__ import annotations

from typing import Any

from benchbench.kernelbench.compare import shape_label
from benchbench.kernelbench.gpu_check_records import GpuCheck, TimedCall
from benchbench.kernelbench.records import GoalVerdict

PRIMARY_TIMER = "batched"  # the timer rates and goals are computed from; all three are reported
ATTENTION_SPEEDUP, ATTENTION_TFLOPS, ATTENTION_STRETCH, BWD_VS_FWD = 1.3, 470.0, 600.0, 0.8
NORM_COPY_FRACTION, DECODE_COPY_FRACTION = 0.90, 0.80


def find(rows: list[TimedCall], op: str, impl: str, shape: str, mode: str) -> TimedCall | None:
    """The timing of `impl` of `op` at `shape` and `mode`, or None."""
    return next((r for r in rows if (r.op, r.impl, r.shape, r.mode) == (op, impl, shape, mode)), None)


def p50(row: TimedCall | None) -> float | None:
    """The row's median in ms on the primary timer, or None when not timed."""
    return row.p50(PRIMARY_TIMER) if row else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is unknown or b is not positive."""
    return a / b if a and b else None


def _missing(*rows: tuple[str, TimedCall | None]) -> str:
    """Why a value is missing: the rows that did not time, by name."""
    out = []
    for name, r in rows:
        if r is None:
            out.append(f"{name}: not run")
        elif p50(r) is None:
            out.append(f"{name} {r.mode}: {r.status} {r.note}".strip())
    return "; ".join(out)


def verdict(goal: str, ours: TimedCall | None, metric: str, threshold: float, value: float | None, *,
            yardstick: str, ref: TimedCall | None = None, cuda: bool = True, **extra: Any) -> GoalVerdict:  # fmt: skip
    """One goal: met when the value reaches the threshold and our output was right; None when not measured."""
    if not cuda:
        value, note = None, "not judged: measured only on a GPU"
    else:
        note = "" if value is not None else _missing(("ours", ours), *((("yardstick", ref),) if ref else ()))
    wrong = ours is not None and ours.ok is False
    if wrong:
        note = (note + "; " if note else "") + "our output is WRONG"
    return GoalVerdict(
        goal=goal, op=ours.op if ours else extra.get("op", ""), mode=ours.mode if ours else extra.get("mode", ""),
        metric=metric, shape=ours.shape if ours else extra.get("shape", ""), threshold=threshold, value=value,
        met=None if value is None else bool(value >= threshold and not wrong), ours_p50_ms=p50(ours),
        yardstick=yardstick, yardstick_p50_ms=p50(ref), ours_tflops=ours.tflops if ours else None,
        matmul_tflops=extra.get("matmul_tflops"), note=note,
    )  # fmt: skip


def yardstick_name(op: str, impl: str) -> str:
    """The yardstick as the output names it: the implementation and what it is ("torch: PyTorch's fused
    F.layer_norm", "compile: torch.compile of layer_norm_ref")."""
    from benchbench.kernels.registry import list_kernels

    impl_spec = next((k for k in list_kernels(op) if k.name == impl), None)
    what = impl_spec.description.rstrip(".") if impl_spec and impl_spec.description else ""
    return f"{impl}: {what}" if what else impl


def faster_than(rows: list[TimedCall], op: str, label: str, mode: str, impl: str, what: str, cuda: bool,
                absent: str | None = None) -> GoalVerdict | None:  # fmt: skip
    """Ours faster than `impl` (speed-up = its p50 / ours). Where `impl` was not planned: a verdict "not measured"
    that says why (`absent`), or None when it was never a yardstick of this op."""
    ref = find(rows, op, impl, label, mode)
    ours = find(rows, op, "triton", label, mode)
    goal = f"{op} {mode} faster than {what}"
    yardstick = yardstick_name(op, impl)
    if ref is None:
        if absent is None:
            return None
        g = verdict(goal, ours, f"speedup_vs_{impl}", 1.0, None, yardstick=yardstick, cuda=cuda, op=op, mode=mode,
                    shape=label)  # fmt: skip
        g.note = f"not measured: {absent}"
        return g
    return verdict(goal, ours, f"speedup_vs_{impl}", 1.0, ratio(p50(ref), p50(ours)), yardstick=yardstick, ref=ref,
                   cuda=cuda, op=op, mode=mode, shape=label)  # fmt: skip


def planned_impls(steps: Any, op: str, label: str) -> set[str]:
    """The implementations the plan's `steps` run for `op` at the shape labelled `label`."""
    return {i for s in steps if s.op == op and s.shape and shape_label(s.shape) == label for i in s.impls}


def _yardsticks(rows: list[TimedCall], op: str, label: str, mode: str, cuda: bool, fused: tuple[str, str] | None,
                plan: Any, steps: Any) -> list[GoalVerdict]:  # fmt: skip
    """Ours against PyTorch's fused op (`fused`: (impl, what); None where PyTorch has none: the eager composition
    then) and torch.compile of the reference; a yardstick with no timing says why."""
    planned = planned_impls(steps, op, label)

    def why(impl: str) -> str:
        if impl in planned:
            return "its step did not run (time budget spent, or the step raised: see the steps)"
        return (
            plan.left_out.get(impl, f"{impl} is not in this step of the plan") if plan else "not in the plan"
        )

    impl, what = fused or ("eager", "the eager composition (PyTorch has no fused op)")
    out = [faster_than(rows, op, label, mode, impl, what, cuda, why(impl)),
           faster_than(rows, op, label, mode, "compile", "torch.compile of the reference", cuda, why("compile"))]  # fmt: skip
    return [g for g in out if g is not None]


def attention_goals(rows: list[TimedCall], label: str, cuda: bool, matmul_tflops: float | None,
                    plan: Any = None, steps: Any = ()) -> list[GoalVerdict]:  # fmt: skip
    """The forward against SDPA flash and in TFLOP/s, the backward against the forward's rate; both directions
    against SDPA's cuDNN backend and torch.compile of the reference (each saying why where not measured)."""
    fwd, bwd = (
        find(rows, "attention", "triton", label, "fwd"),
        find(rows, "attention", "triton", label, "bwd"),
    )
    flash = find(rows, "attention", "sdpa_flash", label, "fwd")
    kw = {"cuda": cuda, "op": "attention", "shape": label, "matmul_tflops": matmul_tflops}
    rate = fwd.tflops if fwd and p50(fwd) else None
    out = [
        verdict(f"attention fwd >= {ATTENTION_SPEEDUP}x SDPA flash", fwd, "speedup_vs_sdpa_flash", ATTENTION_SPEEDUP,
                ratio(p50(flash), p50(fwd)), yardstick=yardstick_name("attention", "sdpa_flash"), ref=flash,
                mode="fwd", **kw),
        verdict(f"attention fwd >= {ATTENTION_TFLOPS:g} TFLOP/s", fwd, "tflops", ATTENTION_TFLOPS, rate,
                yardstick="Triton tutorial on Hopper", mode="fwd", **kw),
        verdict(f"attention fwd >= {ATTENTION_STRETCH:g} TFLOP/s (stretch)", fwd, "tflops", ATTENTION_STRETCH, rate,
                yardstick="FlashAttention-3 / cuDNN level", mode="fwd", **kw),
        verdict(f"attention bwd >= {BWD_VS_FWD}x the forward's rate", bwd, "bwd_vs_fwd_rate", BWD_VS_FWD,
                ratio(bwd.tflops if bwd and p50(bwd) else None, rate), yardstick="triton fwd", ref=fwd, mode="bwd",
                **kw),
    ]  # fmt: skip
    for mode in ("fwd", "bwd"):
        out += _yardsticks(
            rows, "attention", label, mode, cuda, ("sdpa_cudnn", "SDPA's cuDNN backend"), plan, steps
        )
    return out


def bandwidth_goal(rows: list[TimedCall], op: str, label: str, mode: str, fraction: float, copy_gbs: float | None,
                   cuda: bool) -> GoalVerdict:  # fmt: skip
    """The goal that `op`'s Triton kernel reaches `fraction` of the measured copy bandwidth."""
    ours = find(rows, op, "triton", label, mode)
    value = ratio(ours.gbps if ours else None, copy_gbs)
    return verdict(f"{op} {mode} >= {fraction:.0%} of copy bandwidth", ours, "copy_fraction", fraction, value,
                   yardstick="measured copy", cuda=cuda, op=op, mode=mode, shape=label)  # fmt: skip


def norm_goals(rows: list[TimedCall], op: str, label: str, copy_gbs: float | None, cuda: bool,
               plan: Any = None, steps: Any = ()) -> list[GoalVerdict]:  # fmt: skip
    """A norm's goals per direction: its share of copy bandwidth, and faster than the fused op and torch.compile."""
    out = []
    for mode in ("fwd", "bwd"):
        out.append(bandwidth_goal(rows, op, label, mode, NORM_COPY_FRACTION, copy_gbs, cuda))
        out += _yardsticks(rows, op, label, mode, cuda, ("torch", "PyTorch's fused op"), plan, steps)
    return out


def fused_op(op: str) -> tuple[str, str] | None:
    """PyTorch's fused op among `op`'s implementations ("torch", or SDPA for decode), None where it has none."""
    from benchbench.kernels.registry import list_kernels

    names = {k.name for k in list_kernels(op)}
    if "torch" in names:
        return "torch", "PyTorch's fused op"
    if "sdpa" in names:
        return "sdpa", "PyTorch's SDPA"
    return None


def fused_goals(
    rows: list[TimedCall], op: str, label: str, cuda: bool, plan: Any = None, steps: Any = ()
) -> list[GoalVerdict]:
    """A fused op's goals per direction: faster than PyTorch's fused op (else eager) and torch.compile."""
    out = []
    for mode in ("fwd", "bwd"):
        ours = find(rows, op, "triton", label, mode)
        if ours is None or ours.status == "unsupported":
            continue
        out += _yardsticks(rows, op, label, mode, cuda, fused_op(op), plan, steps)
    return out


def judge(record: GpuCheck, plan: Any, steps: Any = ()) -> list[GoalVerdict]:
    """Every goal on what was measured with the primary timer; on a CPU none is judged. `steps`, the plan's steps
    (`gpu_check.plan_steps`), tell a yardstick left out of the plan from one whose step did not run."""
    rows, c = record.timings, record.ceilings
    cuda = record.device.startswith("cuda")
    copy = c.copy_gbs if c else None
    out = []
    for shape in plan.targets:
        if shape["D"] == 128 and shape["T"] >= 4096:
            out += attention_goals(
                rows, shape_label(shape), cuda, c.matmul_tflops if c else None, plan, steps
            )
    for op in plan.norm_ops:
        out += norm_goals(rows, op, shape_label(plan.norm_shape), copy, cuda, plan, steps)
    for shape in plan.decode_shapes:
        label = shape_label(shape)
        if shape["T"] >= 8192:
            out.append(bandwidth_goal(rows, plan.decode_op, label, "fwd", DECODE_COPY_FRACTION, copy, cuda))
        out += fused_goals(rows, plan.decode_op, label, cuda, plan, steps)
    for op, shape in plan.fused.items():
        out += fused_goals(rows, op, shape_label(shape), cuda, plan, steps)
    return out
