"""gpu-check's goals: every fused kernel against PyTorch's fused op and torch.compile of its reference, each
verdict naming its yardstick, and a yardstick the plan leaves out at a shape stated, never silently dropped.

The rows are made up (no GPU here): what is tested is the judging, not a measurement."""

from __future__ import annotations

from benchbench.kernelbench.compare import shape_label
from benchbench.kernelbench.gpu_check_records import GpuCheck, TimedCall
from benchbench.measure.records import TimerReading
from benchbench.runs.gpu_check import CPU_PLAN, GPU_PLAN, plan_steps
from benchbench.runs.gpu_check_goals import judge

FAST, SLOW = 1.0, 2.0  # ms: ours, and every yardstick (so each timed "faster than" goal is met)


def _record(plan, device: str) -> GpuCheck:
    """A record with a timing for every implementation every timed step of `plan` runs, both directions."""
    record = GpuCheck(device=device, budget_s=480.0)
    for step in plan_steps(plan):
        for impl in step.impls:
            for mode in ("fwd", "bwd"):
                ms = FAST if impl == "triton" else SLOW
                t = TimedCall(step.op, impl, shape_label(step.shape), mode, "bfloat16", "timed", ok=True,
                              timers=[TimerReading("batched", ms)], tflops=500.0, gbps=3000.0)  # fmt: skip
                record.timings.append(t)
    return record


def _goals(plan, device: str, drop: tuple[str, str] | None = None):
    record = _record(plan, device)
    if drop:  # a step that did not run: its rows are missing
        record.timings = [t for t in record.timings if (t.op, t.impl) != drop]
    return judge(record, plan, plan_steps(plan))


def test_every_goal_names_its_yardstick_and_the_timed_ones_are_judged():
    goals = _goals(GPU_PLAN, "cuda")
    assert goals and all(g.yardstick for g in goals)
    by_op = {}
    for g in goals:
        by_op.setdefault(g.op, set()).add(g.metric)
    # PyTorch's fused op and torch.compile of the reference for every fused kernel (SDPA for decode; the eager
    # composition where PyTorch has no fused op: the selective scan)
    for op in ("layernorm", "rmsnorm", "softmax", "gelu", "swiglu"):
        assert {"speedup_vs_torch", "speedup_vs_compile"} <= by_op[op], op
    assert {"speedup_vs_sdpa", "speedup_vs_compile", "copy_fraction"} <= by_op["decode_attention"]
    assert {"speedup_vs_eager", "speedup_vs_compile"} <= by_op["selective_scan"]
    assert {"speedup_vs_sdpa_flash", "speedup_vs_sdpa_cudnn", "speedup_vs_compile"} <= by_op["attention"]
    norm = next(
        g for g in goals if g.op == "layernorm" and g.metric == "speedup_vs_torch" and g.mode == "fwd"
    )
    assert (
        norm.met
        and norm.value == SLOW / FAST
        and norm.yardstick.startswith("torch: PyTorch's fused F.layer_norm")
    )
    compiled = next(g for g in goals if g.op == "layernorm" and g.metric == "speedup_vs_compile")
    assert compiled.yardstick == "compile: torch.compile of layer_norm_ref" and compiled.met


def test_a_yardstick_the_plan_leaves_out_gets_a_verdict_saying_why():
    goals = _goals(GPU_PLAN, "cuda")
    attention = [g for g in goals if g.op == "attention" and g.metric == "speedup_vs_compile"]
    first = shape_label(next(s.shape for s in plan_steps(GPU_PLAN) if s.kind == "target"))
    timed = [g for g in attention if g.shape == first]
    left = [g for g in attention if g.shape != first]
    assert timed and all(g.met for g in timed)  # the first target times torch.compile
    assert left and all(g.met is None and g.note.startswith("not measured: torch.compile of the reference is "
                                                             "timed at the first attention target") for g in left)  # fmt: skip
    decode = [g for g in goals if g.op == "decode_attention" and g.metric == "speedup_vs_compile"]
    assert decode and all(g.met is None and "not for decode" in g.note for g in decode)  # the budget


def test_a_step_that_did_not_run_is_not_mistaken_for_a_left_out_yardstick():
    goals = _goals(GPU_PLAN, "cuda", drop=("rmsnorm", "compile"))
    missing = [g for g in goals if g.op == "rmsnorm" and g.metric == "speedup_vs_compile"]
    assert missing and all(g.met is None and "did not run" in g.note for g in missing)


def test_on_a_cpu_nothing_is_judged_and_torch_compile_is_said_to_be_left_out():
    goals = _goals(CPU_PLAN, "cpu")
    assert goals and all(g.met is None and g.yardstick for g in goals)
    compiled = [g for g in goals if g.metric == "speedup_vs_compile"]
    assert compiled and all("left out on the CPU" in g.note for g in compiled)
