"""`benchbench gpu-check`: one prepared command for a lent GPU, within a time budget (default 300 s).

Steps, in order of what a GPU is scarce for if time runs short:

1. **env**: versions, the device, its clocks and power state (nvidia-smi), SDPA's enabled backends.
2. **ceilings**: the measured bf16 matmul rate and copy bandwidth every percentage is relative to.
3. **target:<shape>**: the four attention targets (T=4096, D ∈ {64, 128}, causal and not; D=128 first) for the
   Triton kernel, SDPA's flash backend and SDPA's cuDNN backend, each checked against the fp32 reference, then
   timed by all three GPU timers (benchbench.measure.gpu_timers), with the backend that actually ran read from
   the GPU kernels' names.
4. **norms:<op>**: LayerNorm and RMSNorm at 4096×8192 bf16, Triton against PyTorch's fused op and the eager one.
5. **kernels:<op>**: every Triton kernel once with autotuning off, at a small and an awkward shape, in bf16, fp16
   and fp32, forward and backward, against the fp32 reference (a NaN or infinity fails, as a wrong value does).
6. **fused:<op>**: the other fused kernels against the eager op they replace, at their largest sweep shape.
7. **goals**: the performance goals judged on what was measured (attention forward at D=128 ≥ 1.3× flash and
   ≥ 60% of the bf16 matmul rate; norms ≥ 85% of copy bandwidth; each fused kernel faster than the eager op);
   they are also re-judged after every timed step, so a run cut short keeps its verdicts.

The JSON (`gpu_check.json`, kind `gpu_check`) is rewritten atomically after every step, so a timeout or a kill
leaves a valid file with the steps done; a step starts only while budget remains, and those that cannot are
recorded as skipped. On a CPU (`--device cpu`) the same steps run at small shapes, the Triton kernels in the
interpreter (rows marked interpreted: checked, not timed), the rest with the CPU timer; no goal is judged.

Nothing here imports fvcore, onnx or the zoo: it runs with a GPU machine's own torch and triton.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchbench.core.dtypes import dtype_name
from benchbench.core.env import capture_env, gpu_clocks
from benchbench.core.errors import one_line
from benchbench.core.schema import write
from benchbench.estimate.ceilings import measure_ceilings
from benchbench.kernelbench.compare import compare_op, shape_label
from benchbench.kernelbench.gpu_check_records import GpuCheck, GpuCheckStep, TimedCall
from benchbench.kernelbench.records import CompareRow, GoalVerdict
from benchbench.kernels._common import autotune
from benchbench.kernels.registry import KernelImpl, get_kernel, get_op, list_kernels, list_ops
from benchbench.measure import gpu_timers
from benchbench.measure.records import TimerReading
from benchbench.measure.timing import TimingConfig, measure

DEFAULT_BUDGET_S = 300.0
JSON_NAME = "gpu_check.json"
PRIMARY_TIMER = "batched"  # the one rates and goals are computed from; all three are reported


@dataclass(frozen=True)
class Plan:
    """What gpu-check runs on one kind of device."""

    check_shapes: dict[str, tuple[dict, ...]]  # op -> (small, awkward)
    check_dtypes: tuple[torch.dtype, ...]
    targets: tuple[dict, ...]  # attention
    target_impls: tuple[str, ...]
    norm_shape: dict
    norm_impls: tuple[str, ...]
    fused: dict[str, dict]  # op -> shape, against its eager op
    dtype: torch.dtype = torch.bfloat16  # what the timed steps run in
    timers: gpu_timers.GpuTimerConfig = field(default_factory=gpu_timers.GpuTimerConfig)
    cpu_timing: TimingConfig = field(default_factory=lambda: TimingConfig(warmup=1, min_repeats=3, max_repeats=20,
                                                                          min_time_s=0.05))  # fmt: skip


GPU_PLAN = Plan(
    check_shapes={
        "attention": ({"B": 1, "H": 2, "T": 128, "D": 64, "causal": False},
                      {"B": 2, "H": 4, "Hkv": 2, "T": 129, "D": 80, "causal": True, "pad": 7}),
        "layernorm": ({"M": 64, "N": 1024}, {"M": 37, "N": 1000}),
        "rmsnorm": ({"M": 64, "N": 1024}, {"M": 37, "N": 1000}),
        "softmax": ({"M": 64, "N": 1024}, {"M": 37, "N": 9001}),  # past LOOP_ABOVE: the looped kernels
        "gelu": ({"M": 64, "N": 1024}, {"M": 37, "N": 1000}),
        "swiglu": ({"M": 64, "N": 1024}, {"M": 37, "N": 1000}),
        "selective_scan": ({"B": 1, "D": 64, "L": 256, "N": 16}, {"B": 2, "D": 17, "L": 129, "N": 13}),
    },
    check_dtypes=(torch.bfloat16, torch.float16, torch.float32),
    targets=tuple({"B": 2, "H": 16, "T": 4096, "D": d, "causal": c} for d in (64, 128) for c in (False, True)),
    target_impls=("triton", "sdpa_flash", "sdpa_cudnn"),
    norm_shape={"M": 4096, "N": 8192},
    norm_impls=("triton", "torch", "eager"),
    fused={"softmax": {"M": 4096, "N": 8192}, "gelu": {"M": 4096, "N": 8192}, "swiglu": {"M": 4096, "N": 8192},
           "selective_scan": {"B": 2, "D": 768, "L": 2048, "N": 16}},
)  # fmt: skip

CPU_PLAN = Plan(
    check_shapes={
        "attention": ({"B": 1, "H": 2, "T": 16, "D": 16, "causal": False},
                      {"B": 1, "H": 2, "Hkv": 1, "T": 17, "D": 24, "causal": True, "pad": 5}),
        "layernorm": ({"M": 4, "N": 64}, {"M": 3, "N": 17}),
        "rmsnorm": ({"M": 4, "N": 64}, {"M": 3, "N": 17}),
        "softmax": ({"M": 4, "N": 64}, {"M": 3, "N": 17}),
        "gelu": ({"M": 4, "N": 64}, {"M": 3, "N": 17}),
        "swiglu": ({"M": 4, "N": 64}, {"M": 3, "N": 17}),
        "selective_scan": ({"B": 1, "D": 4, "L": 16, "N": 4}, {"B": 1, "D": 3, "L": 17, "N": 5}),
    },
    check_dtypes=(torch.bfloat16, torch.float16, torch.float32),
    targets=tuple({"B": 1, "H": 2, "T": 32, "D": d, "causal": c} for d in (64, 128) for c in (False, True)),
    target_impls=("triton", "sdpa_flash", "sdpa_cudnn", "sdpa"),
    norm_shape={"M": 32, "N": 256},
    norm_impls=("triton", "torch", "eager"),
    fused={"softmax": {"M": 32, "N": 256}, "gelu": {"M": 32, "N": 256}, "swiglu": {"M": 32, "N": 256},
           "selective_scan": {"B": 1, "D": 8, "L": 32, "N": 4}},
    dtype=torch.float32,
)  # fmt: skip


def plan_for(device: str) -> Plan:
    """The check's plan for `device`: the GPU plan on CUDA, the small CPU plan (the code path only) elsewhere."""
    return GPU_PLAN if torch.device(device).type == "cuda" else CPU_PLAN


# ---- the journal: a record rewritten after every step, and the budget -----------------------------------


class Journal:
    """Runs steps while budget remains and rewrites the record's JSON atomically after each one."""

    def __init__(
        self, record: GpuCheck, path: Path, budget_s: float, clock: Callable[[], float] = time.monotonic
    ):
        self.record, self.path, self.budget_s, self.clock = record, Path(path), budget_s, clock
        self.t0 = clock()
        self.deadline = self.t0 + budget_s
        self.save()

    def elapsed(self) -> float:
        """Seconds since the check began."""
        return self.clock() - self.t0

    def remaining(self) -> float:
        """Seconds left in the budget (negative once it is spent)."""
        return self.deadline - self.clock()

    def save(self) -> None:
        """Rewrite the record's JSON atomically, with the elapsed time so far."""
        self.record.elapsed_s = self.elapsed()
        write(self.path, self.record)

    def step(self, name: str, fn: Callable[[], str | None]) -> GpuCheckStep:
        """Run `fn` (returning None/"done", or "failed" with checks failed) unless the budget is spent."""
        started = self.elapsed()
        step = GpuCheckStep(name, "skipped", started, note="time budget spent")
        if self.remaining() > 0:
            try:
                step.status, step.note = (fn() or "done"), ""
            except Exception as exc:  # a step that raises is recorded and the check goes on
                step.status, step.note = "error", one_line(exc)
            step.elapsed_s = self.elapsed() - started
        self.record.steps.append(step)
        self.save()
        return step

    def finish(self) -> GpuCheck:
        """Mark the record "done" (or "budget spent" when a step was skipped), save it and return it."""
        skipped = any(s.status == "skipped" for s in self.record.steps)
        self.record.status = "budget spent" if skipped else "done"
        self.save()
        return self.record


# ---- timing one implementation with every timer ----------------------------------------------------------


def _first_tensor(out: Any) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else next(t for t in out if isinstance(t, torch.Tensor))


def _calls(impl: KernelImpl, args: tuple, kwargs: dict, mode: str) -> Callable[[], Any]:
    """The callable to time: the forward under no_grad, or the backward of one forward kept for it."""
    if mode == "fwd":

        def fwd() -> Any:
            with torch.no_grad():
                return impl.fn(*args, **kwargs)

        return fwd
    args = tuple(a.detach().requires_grad_() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                 for a in args)  # fmt: skip
    leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    out = _first_tensor(impl.fn(*args, **kwargs))
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(out)
    return lambda: torch.autograd.grad(out, leaves, dout, retain_graph=True)


def gpu_kernel_names(fn: Callable[[], Any]) -> list[str]:
    """The names of the GPU kernels one call of `fn` launches (torch.profiler)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sorted({e.name for e in prof.events() if getattr(e, "device_type", None) == DeviceType.CUDA})


def sdpa_backend(kernel_names: list[str]) -> str:
    """Which SDPA backend ran, from its kernels' names: cuDNN's contain "cudnn", flash's "flash", the
    memory-efficient one's "fmha"/"cutlass"/"mem_eff"; anything else is the math fallback."""
    low = [n.lower() for n in kernel_names]
    if any("cudnn" in n for n in low):
        return "cudnn"
    if any("flash" in n for n in low):
        return "flash"
    if any(k in n for n in low for k in ("fmha", "mem_eff", "cutlass")):
        return "efficient"
    return "math" if kernel_names else ""


def time_call(spec: Any, impl: KernelImpl, shape: dict, mode: str, dtype: torch.dtype, device: str, plan: Plan,
              parity: CompareRow | None) -> TimedCall:  # fmt: skip
    """`impl` at `shape` in one direction: its parity row from the check, then every timer side by side."""
    row = TimedCall(spec.name, impl.name, shape_label(shape), mode, dtype_name(dtype), "timed")
    if parity is not None:
        row.ok, row.max_rel_err = parity.ok, parity.max_rel_err
        if parity.status in ("unsupported", "error", "skipped"):
            row.status, row.note = parity.status, parity.note
            return row
        if parity.ok is False:
            row.status, row.note = "error", f"wrong output, not timed: {parity.note}"
            return row
    cuda = torch.device(device).type == "cuda"
    if not cuda and impl.interpreted_on_cpu:
        row.status, row.note = "interpreted", "Triton interpreter: checked for correctness, not timed"
        return row
    args, kwargs = spec.make_inputs({k: v for k, v in shape.items() if k != "set"}, dtype, device)
    call = _calls(impl, args, kwargs, mode)
    if cuda:
        row.timers = gpu_timers.time_all(call, device, plan.timers)
        if impl.name.startswith("sdpa"):
            row.kernels = gpu_kernel_names(call)[:8]
            row.backend = sdpa_backend(row.kernels)
    else:
        stats = measure(call, device=device, config=plan.cpu_timing)
        row.timers = [TimerReading("cpu", stats.p50_ms, stats.min_ms, stats.n)]
    row.spread = gpu_timers.spread(row.timers)
    row.disagree = gpu_timers.disagree(row.timers)
    flops_fn = spec.flops if mode == "fwd" else spec.backward_flops
    bytes_fn = spec.bytes_moved if mode == "fwd" else spec.backward_bytes_moved
    row.flops = flops_fn(shape) if flops_fn else None
    row.nbytes = bytes_fn(shape, dtype) if bytes_fn else None
    p50 = row.p50(PRIMARY_TIMER) if cuda else row.p50("cpu")
    if p50:
        row.tflops = row.flops / (p50 * 1e-3) / 1e12 if row.flops else None
        row.gbps = row.nbytes / (p50 * 1e-3) / 1e9 if row.nbytes else None
    return row


def time_impls(op: str, impls: tuple[str, ...], shape: dict, dtype: torch.dtype, device: str, plan: Plan,
               deadline: float) -> list[TimedCall]:  # fmt: skip
    """Check `impls` of `op` at `shape` once (compare_op, autotuning on), then time each in both directions."""
    spec = get_op(op)
    known = {k.name for k in list_kernels(spec.name)}
    names = [n for n in impls if n in known]
    res = compare_op(spec.name, impls=names, shapes=[shape], device=device, dtype=dtype, backward=True,
                     deadline=deadline, time_it=False)  # fmt: skip
    timed = []
    for name in names:
        impl = get_kernel(spec.name, name)
        for mode in ("fwd", "bwd"):
            parity = next((r for r in res.rows if r.impl == name and r.mode == mode), None)
            if time.monotonic() > deadline:
                timed.append(TimedCall(spec.name, name, shape_label(shape), mode, dtype_name(dtype), "skipped",
                                       note="time budget spent"))  # fmt: skip
                continue
            try:
                timed.append(time_call(spec, impl, shape, mode, dtype, device, plan, parity))
            except Exception as exc:  # one implementation failing is a row, not a crash
                timed.append(TimedCall(spec.name, name, shape_label(shape), mode, dtype_name(dtype), "error",
                                       note=one_line(exc)))  # fmt: skip
    return timed


# ---- the goals --------------------------------------------------------------------------------------------


def _find(rows: list[TimedCall], op: str, impl: str, shape: str, mode: str) -> TimedCall | None:
    return next((r for r in rows if (r.op, r.impl, r.shape, r.mode) == (op, impl, shape, mode)), None)


def _verdict(goal: str, op: str, mode: str, metric: str, shape: str, threshold: float, value: float | None,
             ours: TimedCall | None, ref: TimedCall | None = None, cuda: bool = True, **kw: Any
             ) -> GoalVerdict:  # fmt: skip
    note = ""
    if not cuda:
        note = "not judged: measured only on a GPU"
    elif value is None:
        missing = [r for r in (ours, ref) if r is None or r.p50(PRIMARY_TIMER) is None]
        note = "; ".join(
            f"{r.impl} {r.mode}: {r.status} {r.note}".strip() if r else "not run" for r in missing
        )
    wrong = ours is not None and ours.ok is False
    met = None if value is None else bool(value >= threshold and not wrong)
    return GoalVerdict(goal=goal, op=op, mode=mode, metric=metric, shape=shape, threshold=threshold, value=value,
                       met=met, ours_p50_ms=ours.p50(PRIMARY_TIMER) if ours else None,
                       yardstick=ref.impl if ref else kw.get("yardstick", ""),
                       yardstick_p50_ms=ref.p50(PRIMARY_TIMER) if ref else None,
                       ours_tflops=ours.tflops if ours else None, matmul_tflops=kw.get("matmul_tflops"),
                       note=note)  # fmt: skip


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def judge(record: GpuCheck, plan: Plan) -> list[GoalVerdict]:
    """The goals on what was measured with the primary timer; on a CPU (nothing timed on a GPU) none is met."""
    rows, c = record.timings, record.ceilings
    cuda = torch.device(record.device).type == "cuda"
    out = []
    for shape in plan.targets:
        if shape["D"] != 128 or shape["T"] < 4096:
            continue
        label = shape_label(shape)
        ours = _find(rows, "attention", "triton", label, "fwd")
        flash = _find(rows, "attention", "sdpa_flash", label, "fwd")
        speed = _ratio(flash and flash.p50(PRIMARY_TIMER), ours and ours.p50(PRIMARY_TIMER)) if cuda else None
        out.append(_verdict("attention forward >= 1.3x SDPA flash", "attention", "fwd", "speedup_vs_flash", label,
                            1.3, speed, ours, flash, cuda))  # fmt: skip
        frac = _ratio(ours and ours.tflops, c and c.matmul_tflops) if cuda else None
        out.append(_verdict("attention forward >= 60% of bf16 matmul", "attention", "fwd", "matmul_fraction",
                            label, 0.60, frac, ours, cuda=cuda, matmul_tflops=c.matmul_tflops if c else None))  # fmt: skip
    for op in ("layernorm", "rmsnorm"):
        label = shape_label(plan.norm_shape)
        for mode in ("fwd", "bwd"):
            ours = _find(rows, op, "triton", label, mode)
            frac = _ratio(ours and ours.gbps, c and c.copy_gbs) if cuda else None
            out.append(_verdict(f"{op} {mode} >= 85% of copy bandwidth", op, mode, "copy_fraction", label, 0.85,
                                frac, ours, cuda=cuda))  # fmt: skip
    fused = [(op, shape_label(plan.norm_shape)) for op in ("layernorm", "rmsnorm")]
    fused += [(op, shape_label(s)) for op, s in plan.fused.items()]
    for op, label in fused:
        for mode in ("fwd", "bwd"):
            ours, eager = _find(rows, op, "triton", label, mode), _find(rows, op, "eager", label, mode)
            if ours is None or ours.status == "unsupported":
                continue
            speed = _ratio(eager and eager.p50(PRIMARY_TIMER), ours.p50(PRIMARY_TIMER)) if cuda else None
            out.append(_verdict(f"{op} {mode} faster than eager", op, mode, "speedup_vs_eager", label, 1.0, speed,
                                ours, eager, cuda))  # fmt: skip
    return out


# ---- the check --------------------------------------------------------------------------------------------


def run_gpu_check(device: str, out_dir: str | Path, budget_s: float = DEFAULT_BUDGET_S, plan: Plan | None = None,
                  log: Callable[[str], None] = print) -> GpuCheck:  # fmt: skip
    """Run every step on `device` within `budget_s`, rewriting `out_dir/gpu_check.json` after each step."""
    plan = plan or plan_for(device)
    cuda = torch.device(device).type == "cuda"
    record = GpuCheck(device=str(device), budget_s=budget_s, interpreted=not cuda)
    if not cuda:
        record.notes.append("CPU run: the code path only. Triton kernels run in the interpreter (rows marked "
                            "interpreted: checked, not timed), shapes are small, GPU timers do not run, "
                            "no goal is judged.")  # fmt: skip
    journal = Journal(record, Path(out_dir) / JSON_NAME, budget_s)

    def say(msg: str) -> None:
        log(f"[{journal.elapsed():5.0f}s] {msg}")

    def env() -> None:
        record.env = capture_env(device)
        record.device_name = (
            torch.cuda.get_device_name(torch.device(device)) if cuda else record.env["cpu_model"]
        )
        record.clocks = gpu_clocks(torch.device(device)) if cuda else {}
        record.env["sdpa_backends_enabled"] = {
            "flash": torch.backends.cuda.flash_sdp_enabled(), "cudnn": torch.backends.cuda.cudnn_sdp_enabled(),
            "efficient": torch.backends.cuda.mem_efficient_sdp_enabled(),
            "math": torch.backends.cuda.math_sdp_enabled(),
        }  # fmt: skip
        say(f"{record.device_name}: torch {torch.__version__}, triton {record.env['versions'].get('triton')}")

    def ceilings() -> None:
        record.ceilings = measure_ceilings(device, plan.dtype)
        say(f"ceilings: {record.ceilings.dtype} matmul {record.ceilings.matmul_tflops:.3g} TFLOP/s, copy "
            f"{record.ceilings.copy_gbs:.3g} GB/s")  # fmt: skip

    def kernels(op: str) -> Callable[[], str]:
        def run() -> str:
            impl = get_kernel(op, "triton")
            with autotune(False):
                for dtype in plan.check_dtypes:
                    res = compare_op(op, impls=["triton"], shapes=list(plan.check_shapes[op]), device=device,
                                     dtype=dtype, backward=impl.backward, deadline=journal.deadline,
                                     time_it=False)  # fmt: skip
                    record.checks += [r for r in res.rows if not r.baseline]
            mine = [r for r in record.checks if r.op == op]
            bad = [r for r in mine if r.ok is False]
            say(f"kernels {op}: {len(mine) - len(bad)} of {len(mine)} rows right"
                + (f"; WRONG: {bad[0].dtype} {bad[0].shape} {bad[0].mode} {bad[0].note}" if bad else ""))  # fmt: skip
            return "failed" if bad else "done"

        return run

    def timed(op: str, impls: tuple[str, ...], shape: dict, dtype: torch.dtype) -> str:
        rows = time_impls(op, impls, shape, dtype, device, plan, journal.deadline)
        record.timings += rows
        record.goals = judge(record, plan)
        for r in rows:
            p50 = r.p50(PRIMARY_TIMER) if cuda else r.p50("cpu")
            shown = f"{p50:.4g} ms" if p50 else r.status
            spread = f", timers spread {r.spread:.2f}x" if r.spread and cuda else ""
            say(
                f"  {op}/{r.impl} {r.mode} {r.shape}: {shown}{spread}{' [' + r.backend + ']' if r.backend else ''}"
            )
        return "failed" if any(r.ok is False for r in rows) else "done"

    # Order: what a GPU is scarce for first (the timed targets, the D=128 goal shapes before D=64), then the
    # correctness of every kernel at small shapes (compile-heavy), then the rest; goals are re-judged after every
    # timed step, so a run cut short still says what it measured.
    journal.step("env", env)
    journal.step("ceilings", ceilings)
    for shape in sorted(plan.targets, key=lambda s: -s["D"]):
        journal.step(f"target:{shape_label(shape)}",
                     lambda shape=shape: timed("attention", plan.target_impls, shape, plan.dtype))  # fmt: skip
    for op in ("layernorm", "rmsnorm"):
        journal.step(f"norms:{op}", lambda op=op: timed(op, plan.norm_impls, plan.norm_shape, plan.dtype))
    for op in list_ops():
        if any(k.name == "triton" for k in list_kernels(op)) and op in plan.check_shapes:
            journal.step(f"kernels:{op}", kernels(op))
    for op, shape in plan.fused.items():
        journal.step(
            f"fused:{op}", lambda op=op, shape=shape: timed(op, ("triton", "eager"), shape, plan.dtype)
        )

    def goals() -> None:
        record.goals = judge(record, plan)
        judged = [g for g in record.goals if g.met is not None]
        say(f"goals: {sum(g.met for g in judged)} of {len(judged)} judged met ({len(record.goals) - len(judged)} "
            "not measured)")  # fmt: skip

    journal.step("goals", goals)
    return journal.finish()
