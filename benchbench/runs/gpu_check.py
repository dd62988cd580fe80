"""`benchbench gpu-check`: one prepared command for a lent GPU, within a time budget (default 480 s).

Steps, in order of value if time runs short (the plan and its time estimate: `runs/gpu_check_plan.py`,
`benchbench gpu-check --dry-run`):

1. **env**: versions, the device, its clocks and power state (nvidia-smi), SDPA's enabled backends.
2. **ceilings**: the measured bf16 matmul rate and copy bandwidth every percentage is relative to.
3. **warm**: the kernels of the timed steps (every 16-bit autotune config at each target's autotune key, the
   norms', decode's) compiled for this GPU in parallel worker processes into Triton's cache, so the timed steps
   load them instead of compiling one config after another.
4. **target:<shape>**: the four attention targets (T=4096, D ∈ {64, 128}, causal and not; D=128 first) for the
   Triton kernel, SDPA's flash and cuDNN backends (and torch.compile of the reference at the first), each checked
   against the fp32 reference, then timed by all three GPU timers (benchbench.measure.gpu_timers), with the SDPA
   backend that actually ran read from the GPU kernels' names.
5. **norms:<op>**: LayerNorm and RMSNorm at 4096×8192 bf16: Triton against PyTorch's fused op, torch.compile of
   the reference and the eager one.
6. **decode:<shape>**: split-KV decode attention (one query token, long paged KV cache, GQA) against SDPA
   (PyTorch's fused op).
7. **kernels:<op>**: every Triton kernel once with autotuning off, at a small and an awkward shape, in bf16, fp16
   and fp32, forward and backward, against the fp32 reference (a NaN or infinity fails, as a wrong value does).
8. **fused:<op>**: the other fused kernels against PyTorch's fused op, torch.compile and the eager op.
9. **goals**: the goals (`runs/gpu_check_goals.py`), each naming its yardstick, re-judged after every timed step
   so a run cut short keeps its verdicts; a yardstick the plan leaves out at a shape (`Plan.left_out`) gets a
   "not measured" verdict saying why.

Everything lands in the `--out` folder as it happens (on a lent machine: `$OUT`, the one folder that comes
back): `plan.txt` first, `gpu_check.json` (kind `gpu_check`) rewritten atomically after every step, and
`gpu_check.log`, one line per event. A step starts only while budget remains; those that cannot are recorded as
skipped. On a CPU (`--device cpu`) the same steps run at small shapes, the Triton kernels in the interpreter
(rows marked interpreted: checked, not timed), the rest with the CPU timer; nothing is warmed, no goal judged.

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
from benchbench.kernelbench.records import CompareRow
from benchbench.kernels._common import autotune
from benchbench.kernels.registry import KernelImpl, get_kernel, get_op, list_kernels, list_ops
from benchbench.measure import gpu_timers
from benchbench.measure.records import TimerReading
from benchbench.measure.timing import TimingConfig, measure
from benchbench.runs import gpu_check_plan as planning
from benchbench.runs.gpu_check_goals import PRIMARY_TIMER, judge

DEFAULT_BUDGET_S = 480.0  # covers the whole GPU plan by its estimate (tests/runs/test_gpu_check_plan.py)
JSON_NAME = "gpu_check.json"
LOG_NAME = "gpu_check.log"
PLAN_NAME = "plan.txt"


@dataclass(frozen=True)
class Plan:
    """What gpu-check runs on one kind of device."""

    check_shapes: dict[str, tuple[dict, ...]]  # op -> (small, awkward)
    check_dtypes: tuple[torch.dtype, ...]
    targets: tuple[dict, ...]  # attention
    target_impls: tuple[str, ...]
    norm_shape: dict
    norm_impls: tuple[str, ...]
    fused: dict[str, dict]  # op -> shape
    fused_impls: tuple[str, ...] = ("triton", "torch", "compile", "eager")  # those an op has run
    compile_targets: int = 1  # the first this many targets also time torch.compile of the reference
    compile_decode: int = 0  # the first this many decode shapes also time torch.compile of the reference
    # why a yardstick is not timed where the plan leaves it out (the goals say it: never a silent omission)
    left_out: dict[str, str] = field(default_factory=dict)
    norm_ops: tuple[str, ...] = ("layernorm", "rmsnorm")
    decode_op: str = "decode_attention"
    decode_shapes: tuple[dict, ...] = ()
    decode_impls: tuple[str, ...] = ("triton", "sdpa")  # SDPA: PyTorch's fused op for one query token
    warm: bool = True  # compile the timed steps' kernels in parallel before they run (a GPU)
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
        "decode_attention": ({"B": 1, "H": 2, "T": 64, "D": 64, "page": 16},
                             {"B": 3, "H": 6, "Hkv": 2, "T": 1031, "D": 80, "page": 7}),
    },
    check_dtypes=(torch.bfloat16, torch.float16, torch.float32),
    targets=tuple({"B": 2, "H": 16, "T": 4096, "D": d, "causal": c} for d in (64, 128) for c in (False, True)),
    target_impls=("triton", "sdpa_flash", "sdpa_cudnn"),
    norm_shape={"M": 4096, "N": 8192},
    norm_impls=("triton", "torch", "compile", "eager"),
    fused={"softmax": {"M": 4096, "N": 8192}, "gelu": {"M": 4096, "N": 8192}, "swiglu": {"M": 4096, "N": 8192},
           "selective_scan": {"B": 2, "D": 768, "L": 2048, "N": 16}},
    decode_shapes=({"B": 8, "H": 32, "Hkv": 8, "T": 8192, "D": 128, "page": 64},
                   {"B": 1, "H": 32, "Hkv": 8, "T": 32768, "D": 128, "page": 64}),
    left_out={"compile": "torch.compile of the reference is timed at the first attention target only and not for "
                         "decode (inductor's compile costs about 30 s per shape of the 480 s budget; `kernels "
                         "compare OP --device cuda` times it)"},
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
        "decode_attention": ({"B": 1, "H": 2, "T": 16, "D": 16, "page": 4},
                             {"B": 2, "H": 6, "Hkv": 2, "T": 37, "D": 24, "page": 5}),
    },
    check_dtypes=(torch.bfloat16, torch.float16, torch.float32),
    targets=tuple({"B": 1, "H": 2, "T": 32, "D": d, "causal": c} for d in (64, 128) for c in (False, True)),
    target_impls=("triton", "sdpa_flash", "sdpa_cudnn", "sdpa"),
    norm_shape={"M": 32, "N": 256},
    norm_impls=("triton", "torch", "eager"),
    fused={"softmax": {"M": 32, "N": 256}, "gelu": {"M": 32, "N": 256}, "swiglu": {"M": 32, "N": 256},
           "selective_scan": {"B": 1, "D": 8, "L": 32, "N": 4}},
    fused_impls=("triton", "torch", "eager"),  # torch.compile: minutes of C++ compilation on a small CPU
    compile_targets=0,
    left_out={"compile": "left out on the CPU: torch.compile's C++ compilation takes minutes on a small CPU"},
    decode_shapes=({"B": 2, "H": 4, "Hkv": 2, "T": 37, "D": 16, "page": 8},),
    warm=False,
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


# ---- the steps, in order of value --------------------------------------------------------------------------


def _has_triton(op: str) -> bool:
    return op in list_ops() and any(k.name == "triton" for k in list_kernels(op))


def plan_steps(plan: Plan) -> list[planning.PlannedStep]:
    """Every step of the check in the order it runs: the scarcest measurements first."""
    step = planning.PlannedStep
    steps = [step("env", "env"), step("ceilings", "ceilings")]
    if plan.warm:
        steps.append(step("warm", "warm"))
    for i, shape in enumerate(sorted(plan.targets, key=lambda s: -s["D"])):
        impls = plan.target_impls + (("compile",) if i < plan.compile_targets else ())
        steps.append(step(f"target:{shape_label(shape)}", "target", "attention", shape, impls))
    steps += [step(f"norms:{op}", "norms", op, plan.norm_shape, plan.norm_impls) for op in plan.norm_ops]
    if _has_triton(plan.decode_op):
        steps += [step(f"decode:{shape_label(s)}", "decode", plan.decode_op, s,
                       plan.decode_impls + (("compile",) if i < plan.compile_decode else ()))
                  for i, s in enumerate(plan.decode_shapes)]  # fmt: skip
    steps += [
        step(f"kernels:{op}", "kernels", op)
        for op in list_ops()
        if _has_triton(op) and op in plan.check_shapes
    ]
    for op, shape in plan.fused.items():
        known = {k.name for k in list_kernels(op)}
        steps.append(
            step(f"fused:{op}", "fused", op, shape, tuple(i for i in plan.fused_impls if i in known))
        )
    steps.append(step("goals", "goals"))
    return steps


def estimated_plan(plan: Plan, workers: int, times: planning.CompileTimes | None = None
                   ) -> list[planning.PlannedStep]:  # fmt: skip
    """The steps with their estimated seconds on an H100-class GPU (from the recorded compile times)."""
    return planning.estimate(plan_steps(plan), plan, times or planning.load_compile_times(), workers)


def warm_cases(steps: list[planning.PlannedStep], plan: Plan) -> list[tuple[str, dict, str, tuple[str, ...]]]:
    """What the warm step compiles: each timed step's Triton launches at its shape (every autotune config), and
    each check step's at its shapes and dtypes with autotuning off (the fixed configs)."""
    cases = []
    for s in steps:
        if s.kind in ("target", "norms", "decode") and "triton" in s.impls:
            cases.append((s.op, s.shape, dtype_name(plan.dtype), ("autotune", "host")))
        elif s.kind == "kernels":
            cases += [(s.op, shape, dtype_name(d), ("fixed", "host")) for d in plan.check_dtypes
                      for shape in plan.check_shapes[s.op]]  # fmt: skip
    return cases


class GpuCheckRun:
    """One gpu-check: its record, journal, log and plan; one method per kind of step."""

    def __init__(self, device: str, out_dir: Path, budget_s: float, plan: Plan, log: Callable[[str], None],
                 workers: int) -> None:  # fmt: skip
        self.device, self.plan, self.workers = device, plan, workers
        self.cuda = torch.device(device).type == "cuda"
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.out_dir / LOG_NAME
        self.log_path.write_text("")
        self._log = log
        self.record = GpuCheck(device=str(device), budget_s=budget_s, interpreted=not self.cuda)
        if not self.cuda:
            self.record.notes.append("CPU run: the code path only. Triton kernels run in the interpreter (rows "
                                     "marked interpreted: checked, not timed), shapes are small, GPU timers do not "
                                     "run, no goal is judged.")  # fmt: skip
        self.journal = Journal(self.record, self.out_dir / JSON_NAME, budget_s)

    def say(self, msg: str) -> None:
        """A progress line: to the caller's log and appended (flushed) to gpu_check.log in the out folder."""
        line = f"[{self.journal.elapsed():5.0f}s] {msg}"
        self._log(line)
        with self.log_path.open("a") as f:
            f.write(line + "\n")

    # -- the steps

    def env(self, step: planning.PlannedStep) -> None:
        """Step "env": the device, its clocks and the versions, recorded and said."""
        record = self.record
        record.env = capture_env(self.device)
        cuda = self.cuda
        record.device_name = (
            torch.cuda.get_device_name(torch.device(self.device)) if cuda else record.env["cpu_model"]
        )
        record.clocks = gpu_clocks(torch.device(self.device)) if cuda else {}
        record.env["sdpa_backends_enabled"] = {
            "flash": torch.backends.cuda.flash_sdp_enabled(), "cudnn": torch.backends.cuda.cudnn_sdp_enabled(),
            "efficient": torch.backends.cuda.mem_efficient_sdp_enabled(),
            "math": torch.backends.cuda.math_sdp_enabled(),
        }  # fmt: skip
        self.say(
            f"{record.device_name}: torch {torch.__version__}, triton {record.env['versions'].get('triton')}"
        )

    def ceilings(self, step: planning.PlannedStep) -> None:
        """Step "ceilings": the device's matmul rate and copy bandwidth, measured once."""
        c = self.record.ceilings = measure_ceilings(self.device, self.plan.dtype)
        self.say(f"ceilings: {c.dtype} matmul {c.matmul_tflops:.3g} TFLOP/s, copy {c.copy_gbs:.3g} GB/s")

    def warm(self, step: planning.PlannedStep) -> str:
        """Step "warm": every kernel the later steps launch, compiled into Triton's cache in parallel."""
        from benchbench.kernelbench.gpu_compile import warm_cache

        major, minor = torch.cuda.get_device_capability(torch.device(self.device))
        cases = warm_cases(self.steps, self.plan)
        res = warm_cache(cases, 10 * major + minor, workers=self.workers)
        self.record.notes.append(f"warm: {res.compiles} kernel compiles for sm_{major}{minor} in {res.seconds:.0f} s "
                                 f"on {res.workers} processes ({res.compile_s:.0f} s of compiling)")  # fmt: skip
        self.say(
            self.record.notes[-1] + (f"; {len(res.errors)} failed: {res.errors[0]}" if res.errors else "")
        )
        return "done"

    def timed(self, step: planning.PlannedStep) -> str:
        """A timed step: each implementation of the step's op at its shape, then the goals judged again."""
        rows = time_impls(step.op, step.impls, step.shape, self.plan.dtype, self.device, self.plan,
                          self.journal.deadline)  # fmt: skip
        self.record.timings += rows
        self.record.goals = judge(self.record, self.plan, self.steps)
        for r in rows:
            ms = r.p50(PRIMARY_TIMER) if self.cuda else r.p50("cpu")
            shown = f"{ms:.4g} ms" if ms else r.status
            spread = f", timers spread {r.spread:.2f}x" if r.spread and self.cuda else ""
            backend = f" [{r.backend}]" if r.backend else ""
            self.say(f"  {step.op}/{r.impl} {r.mode} {r.shape}: {shown}{spread}{backend}")
        return "failed" if any(r.ok is False for r in rows) else "done"

    def kernels(self, step: planning.PlannedStep) -> str:
        """A correctness step: the op's Triton kernel against its reference on awkward shapes, every dtype."""
        op = step.op
        impl = get_kernel(op, "triton")
        with autotune(False):
            for dtype in self.plan.check_dtypes:
                res = compare_op(op, impls=["triton"], shapes=list(self.plan.check_shapes[op]), device=self.device,
                                 dtype=dtype, backward=impl.backward, deadline=self.journal.deadline,
                                 time_it=False)  # fmt: skip
                self.record.checks += [r for r in res.rows if not r.baseline]
        mine = [r for r in self.record.checks if r.op == op]
        bad = [r for r in mine if r.ok is False]
        wrong = f"; WRONG: {bad[0].dtype} {bad[0].shape} {bad[0].mode} {bad[0].note}" if bad else ""
        self.say(f"kernels {op}: {len(mine) - len(bad)} of {len(mine)} rows right{wrong}")
        return "failed" if bad else "done"

    def goals(self, step: planning.PlannedStep) -> None:
        """Step "goals": every goal judged from the timings, and how many were met."""
        self.record.goals = judge(self.record, self.plan, self.steps)
        judged = [g for g in self.record.goals if g.met is not None]
        self.say(f"goals: {sum(g.met for g in judged)} of {len(judged)} judged met "
                 f"({len(self.record.goals) - len(judged)} not measured)")  # fmt: skip

    # -- the run

    def run(self, steps: list[planning.PlannedStep]) -> GpuCheck:
        """Run `steps` in order, each journalled to the out folder as it ends; the finished record."""
        self.steps = steps
        handlers = {"env": self.env, "ceilings": self.ceilings, "warm": self.warm, "target": self.timed,
                    "norms": self.timed, "decode": self.timed, "kernels": self.kernels, "fused": self.timed,
                    "goals": self.goals}  # fmt: skip
        for step in steps:
            self.journal.step(step.name, lambda step=step: handlers[step.kind](step))
            done = self.record.steps[-1]
            self.say(f"step {done.name}: {done.status} in {done.elapsed_s:.1f} s (estimated {step.estimate_s:.1f} s)"
                     f"{' ' + done.note if done.note else ''}")  # fmt: skip
        return self.journal.finish()


def run_gpu_check(device: str, out_dir: str | Path, budget_s: float = DEFAULT_BUDGET_S, plan: Plan | None = None,
                  log: Callable[[str], None] = print, workers: int | None = None) -> GpuCheck:  # fmt: skip
    """Run every step on `device` within `budget_s`; the out folder gets plan.txt first, then gpu_check.json
    rewritten after each step and gpu_check.log line by line."""
    from benchbench.core.files import write_text

    plan = plan or plan_for(device)
    workers = workers or planning.default_workers()
    times = planning.load_compile_times()
    steps = estimated_plan(plan, workers, times)
    write_text(
        Path(out_dir) / PLAN_NAME, "\n".join(planning.format_plan(steps, budget_s, times, workers)) + "\n"
    )
    check = GpuCheckRun(device, Path(out_dir), budget_s, plan, log, workers)
    return check.run(steps)
