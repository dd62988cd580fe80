"""gpu-check's plan: the steps in order of value, the time estimate from the recorded compile times, the default
budget covering the whole GPU plan, the dry run (no GPU needed), and a CPU run that records every step."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchbench.core.schema import read
from benchbench.runs import gpu_check_plan as planning
from benchbench.runs.gpu_check import (
    CPU_PLAN,
    DEFAULT_BUDGET_S,
    GPU_PLAN,
    JSON_NAME,
    LOG_NAME,
    PLAN_NAME,
    estimated_plan,
    plan_steps,
    warm_cases,
)


def test_the_default_budget_covers_the_whole_gpu_plan_by_its_estimate():
    times = planning.load_compile_times()
    assert times.seconds and times.measured["targets"] == ["sm_90"]  # the data file was measured for Hopper
    steps = estimated_plan(GPU_PLAN, planning.LENT_GPU_CPU_CORES, times)
    assert planning.total_estimate(steps) <= DEFAULT_BUDGET_S <= 8 * 60
    # and if the warm step's compiles were all cache misses, the timed steps compiling their own still fit
    cold = planning.estimate(plan_steps(GPU_PLAN), _no_warm(GPU_PLAN), times, 1)
    assert planning.total_estimate(cold) <= DEFAULT_BUDGET_S


def _no_warm(plan):
    from dataclasses import replace

    return replace(plan, warm=False)


def test_the_estimate_follows_the_recorded_compile_times(tmp_path):
    times = planning.load_compile_times()
    slow = tmp_path / "slow.toml"
    lines = ["[measured]", 'targets = ["sm_90"]', ""]
    for kernel, per in times.seconds.items():
        lines += [f'[seconds."{kernel}"]', *(f'"{c}" = {10 * s}' for c, s in per.items()), ""]
    slow.write_text("\n".join(lines))
    slow_times = planning.load_compile_times(slow)
    base = {s.name: s for s in estimated_plan(GPU_PLAN, 16, times)}
    tenfold = {s.name: s for s in estimated_plan(GPU_PLAN, 16, slow_times)}
    # a fused step compiles its kernels itself: one config each at the recorded worst time
    kernels = times.kernels("softmax")
    assert base["fused:softmax"].compiles == len(kernels)
    assert base["fused:softmax"].compile_s == pytest.approx(sum(times.worst(k) for k in kernels))
    assert tenfold["fused:softmax"].compile_s == pytest.approx(10 * base["fused:softmax"].compile_s)
    # the warm step: every 16-bit autotune config of the four targets, the norms, decode and the checks, spread
    # over the workers; its time grows with the recorded times, the timed steps' does not (they only load)
    assert base["warm"].compiles > 4 * sum(planning.autotune_configs("attention").values())
    assert tenfold["warm"].compile_s > 5 * (base["warm"].compile_s - planning.WARM_SPAWN_S)
    assert (
        tenfold["target:B=2,H=16,T=4096,D=128,causal=0"].compile_s
        == base["target:B=2,H=16,T=4096,D=128,causal=0"].compile_s
    )


def test_makespan_puts_the_longest_first_on_the_least_loaded():
    assert planning.makespan([4, 3, 3, 2], 2) == 6  # 4+2 and 3+3
    assert planning.makespan([5, 1, 1], 4) == 5 and planning.makespan([], 3) == 0


def test_steps_run_in_order_of_value():
    names = [s.name for s in plan_steps(GPU_PLAN)]
    assert names[:3] == ["env", "ceilings", "warm"] and names[-1] == "goals"
    targets = names[3:7]
    assert all(n.startswith("target:") for n in targets) and all("D=128" in n for n in targets[:2])
    assert names[7:9] == ["norms:layernorm", "norms:rmsnorm"]
    assert names.index("decode:B=8,H=32,Hkv=8,T=8192,D=128,page=64") < names.index("kernels:attention")
    assert names.index("kernels:swiglu") < names.index("fused:softmax")
    # the warm step compiles the timed steps' kernels with every autotune config, the checks' with the fixed ones
    cases = warm_cases(plan_steps(GPU_PLAN), GPU_PLAN)
    assert ("attention", GPU_PLAN.targets[0], "bfloat16", ("autotune", "host")) in cases
    assert sum(c[0] == "attention" and c[3] == ("fixed", "host") for c in cases) == 3 * 2  # dtypes × shapes
    assert [s.kind for s in plan_steps(CPU_PLAN)].count("warm") == 0  # nothing to compile in the interpreter


def test_dry_run_prints_a_plan_that_fits_without_a_gpu(cli):
    code, out, _ = cli(["gpu-check", "--dry-run", "--device", "cuda"])
    assert code == 0
    assert "target:B=2,H=16,T=4096,D=128,causal=0" in out and "warm" in out
    assert f"fits the budget of {DEFAULT_BUDGET_S:.0f} s" in out
    code, out, _ = cli(["gpu-check", "--dry-run", "--device", "cuda", "--budget", "30"])
    assert code == 1 and "DOES NOT FIT the budget of 30 s" in out
    code, _, err = cli(["gpu-check", "--device", "cpu"])
    assert code == 2 and "--out DIR is required" in err


def test_a_cpu_run_records_every_step_in_the_out_folder(tmp_path):
    """A budget spent at once: every step is recorded (all but env, which may start in time, as skipped), and plan.txt, gpu_check.json and
    gpu_check.log are all in the folder. (The slow test_gpu_check.py::test_cpu_run_end_to_end runs them.)"""
    proc = subprocess.run([sys.executable, "-m", "benchbench", "gpu-check", "--device", "cpu", "--budget", "0.001",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "TRITON_INTERPRET": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = read(tmp_path / JSON_NAME, kinds=("gpu_check",))
    assert [s.name for s in record.steps] == [s.name for s in plan_steps(CPU_PLAN)]
    # env may start inside the millisecond; nothing after it can
    assert record.steps[0].status in ("done", "skipped")
    assert all(s.status == "skipped" and s.note == "time budget spent" for s in record.steps[1:])
    assert record.status == "budget spent"
    plan = (tmp_path / PLAN_NAME).read_text()
    assert "estimate" in plan and "kernels:attention" in plan
    log = (tmp_path / LOG_NAME).read_text()
    assert "step env: " in log and "step goals: skipped" in log
