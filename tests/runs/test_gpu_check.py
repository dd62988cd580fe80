"""`benchbench gpu-check`: the step journal and budget, the code path end to end on the CPU, and a kill midway.

The GPU timers and the goals need a GPU and are not exercised here beyond their refusal on a CPU; what is tested
is that every step runs, that the JSON is valid after every step, and that the budget stops new steps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.core.schema import read
from benchbench.kernelbench.gpu_check_records import GpuCheck
from benchbench.measure import gpu_timers
from benchbench.measure.records import TimerReading
from benchbench.runs.gpu_check import (
    CPU_PLAN,
    JSON_NAME,
    LOG_NAME,
    PLAN_NAME,
    Journal,
    plan_steps,
    sdpa_backend,
)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_journal_runs_steps_while_budget_remains_and_rewrites_the_json(tmp_path):
    clock = _Clock()
    path = tmp_path / JSON_NAME
    journal = Journal(GpuCheck(device="cpu", budget_s=10.0), path, 10.0, clock=clock)
    assert read(path, kinds=("gpu_check",)).status == "running"  # valid before the first step

    def slow() -> None:
        clock.now += 6.0

    def wrong() -> str:
        clock.now += 1.0
        return "failed"

    def boom() -> None:
        raise RuntimeError("out of memory\nlong traceback")

    journal.step("a", slow)
    on_disk = read(path, kinds=("gpu_check",))
    assert [(s.name, s.status, s.elapsed_s) for s in on_disk.steps] == [("a", "done", 6.0)]
    journal.step("b", wrong)
    journal.step("c", boom)
    clock.now += 3.0  # 10 s spent: nothing more starts
    journal.step("d", slow)
    record = journal.finish()
    on_disk = read(path, kinds=("gpu_check",))
    assert [(s.name, s.status) for s in on_disk.steps] == [("a", "done"), ("b", "failed"), ("c", "error"),
                                                          ("d", "skipped")]  # fmt: skip
    assert (
        on_disk.steps[2].note == "RuntimeError: out of memory"
        and on_disk.steps[3].note == "time budget spent"
    )
    assert on_disk.status == record.status == "budget spent" and on_disk.elapsed_s == 10.0
    assert record.failures == ["step c: RuntimeError: out of memory"]


def test_gpu_timers_refuse_a_cpu():
    with pytest.raises(BadInputError, match="GPU timers need a CUDA device, got cpu"):
        gpu_timers.time_all(lambda: None, "cpu")


def test_timers_disagree_above_ten_percent():
    agree = [TimerReading("events", 1.05), TimerReading("batched", 1.0), TimerReading("graph", 0.97)]
    assert gpu_timers.spread(agree) == pytest.approx(1.05 / 0.97) and not gpu_timers.disagree(agree)
    split = [TimerReading("events", 1.3), TimerReading("batched", 1.0), TimerReading("graph", None, note="x")]
    assert gpu_timers.disagree(split)
    assert gpu_timers.spread([TimerReading("graph", 1.0)]) is None


def test_sdpa_backend_is_read_from_kernel_names():
    cudnn = ["cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_3_64x128x128_4x1x1_kernel0_0"]
    assert sdpa_backend(cudnn) == "cudnn"
    assert (
        sdpa_backend(["void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4>>"])
        == "flash"
    )
    assert sdpa_backend(
        ["fmha_cutlassF_bf16_aligned_64x128_rf_sm80(PyTorchMemEffAttention::AttentionKernel)"]
    ) == ("efficient")
    assert sdpa_backend(["ampere_bf16_s16816gemm", "softmax_warp_forward"]) == "math"


def test_the_check_imports_neither_fvcore_nor_onnx():
    """The lent GPU machine has its own torch and triton and nothing else benchbench depends on."""
    blocked = ("fvcore", "onnx", "onnxruntime", "onnxscript", "matplotlib", "rich", "pydantic", "scipy")
    code = (f"import sys; [sys.modules.__setitem__(m, None) for m in {blocked!r}]; "
            "import benchbench.runs.gpu_check, benchbench.cli.gpu_check; from benchbench.cli import build_parser; "
            "build_parser().parse_args(['gpu-check', '--out', 'x'])")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def _cli(tmp_path, budget: str) -> subprocess.Popen:
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    return subprocess.Popen([sys.executable, "-m", "benchbench", "gpu-check", "--device", "cpu", "--budget", budget,
                             "--out", str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


@pytest.mark.slow
def test_cpu_run_end_to_end(tmp_path):
    """Every step is visited within the 60 s budget: done, or (on a slow machine) recorded as skipped."""
    proc = _cli(tmp_path, "60")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    record = read(tmp_path / JSON_NAME, kinds=("gpu_check",))
    names = [s.name for s in record.steps]
    assert names == [s.name for s in plan_steps(CPU_PLAN)]  # every planned step, in order, done or skipped
    assert names[:2] == ["env", "ceilings"] and names[-1] == "goals"
    assert {"kernels:attention", "norms:layernorm", "fused:softmax", "kernels:decode_attention"} <= set(names)
    assert (tmp_path / PLAN_NAME).is_file() and "step env: done" in (tmp_path / LOG_NAME).read_text()
    assert sum(n.startswith("target:") for n in names) == 4
    assert record.status in ("done", "budget spent") and record.elapsed_s > 0
    assert record.interpreted and record.env["versions"]["torch"] == torch.__version__
    run = [s for s in record.steps if s.status != "skipped"]
    assert run[0].name == "env" and all(s.status == "done" for s in run), [
        (s.name, s.status, s.note) for s in run
    ]
    assert record.status == "done" or record.steps[-1].status == "skipped"
    checked = [r for r in record.checks if r.impl == "triton" and r.status != "skipped"]
    assert checked and all(r.status == "interpreted" and r.ok for r in checked)
    attention = {(r.dtype, r.mode) for r in checked if r.op == "attention"}
    assert attention == {(d, m) for d in ("bfloat16", "float16", "float32") for m in ("fwd", "bwd")}
    for t in record.timings:
        assert t.status in ("timed", "interpreted", "unsupported", "skipped"), (t.impl, t.status, t.note)
        if t.status == "timed":  # on a CPU: the CPU timer only, never a GPU timer
            assert [r.timer for r in t.timers] == ["cpu"] and t.timers[0].p50_ms > 0 and t.ok
        if t.impl == "triton" and t.status != "skipped":
            if t.mode == "bwd" and t.op in ("selective_scan", "decode_attention"):  # forward-only kernels
                assert t.status == "unsupported" and "no backward" in t.note
            else:
                assert t.status == "interpreted" and not t.timers and t.ok
        if t.impl in ("sdpa_flash", "sdpa_cudnn") and t.status != "skipped":
            assert t.status == "unsupported" and "runs on cuda" in t.note
    assert all(g.met is None for g in record.goals)  # nothing judged on a CPU
    assert "wrote" in err


@pytest.mark.slow
def test_killed_midway_leaves_valid_json_of_the_steps_done(tmp_path):
    proc = _cli(tmp_path, "600")
    path = tmp_path / JSON_NAME
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if path.exists() and len(read(path, kinds=("gpu_check",)).steps) >= 3:
                break
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    record = read(path, kinds=("gpu_check",))
    assert proc.returncode == -signal.SIGKILL
    assert record.status == "running" and len(record.steps) >= 3
    assert [s.name for s in record.steps[:2]] == ["env", "ceilings"] and record.ceilings is not None
    assert all(s.status in ("done", "failed") for s in record.steps)
