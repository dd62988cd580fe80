"""`benchbench kernels check`: every Triton kernel compiled for Hopper and Blackwell on a machine with no GPU.

Triton compiles for a GPU it does not have: `triton.compile(ASTSource(...), target=GPUTarget("cuda", 90, 32))`
runs the whole pipeline down to PTX and a cubin for sm_90. This module drives it with the kernels' own host
code, so the compiled variants are exactly the ones a GPU run launches:

1. **Record.** Each op's Triton implementation is called on small CPU tensors for every `OpSpec.compile_shapes`
   entry and dtype it claims, forward and backward, while `JITFunction.run` and `Autotuner.run` are replaced by
   recorders: nothing runs, every launch (kernel, arguments, constexprs, and for an autotuned kernel all its
   configs) is kept. Autotuned kernels are recorded a second time with autotuning off (their fixed config).
2. **Compile.** Each launch × config is specialised the way `JITFunction.run` would (Triton's own binder and
   `_pack_args`, on a backend for the target) and compiled for every target.
3. **Inspect.** The bundled `cuobjdump --dump-resource-usage` gives registers and local memory (the stack frame,
   where spilled registers go, plus local arrays: what the driver reports as a function's local size);
   Triton's metadata gives the dynamic shared memory; `nvdisasm` lists the instructions, of which the tensor-core
   ones are counted (HGMMA: Hopper's wgmma; HMMA: mma.sync; UTC*MMA: Blackwell's tcgen05), and the setmaxnreg
   ones (USETMAXREG) that warp-specialised code trades registers with; the TTGIR gives its worker partitions.
4. **Judge.** `benchbench.kernels._resources.launch_problem` (the rule the autotuners prune by on a GPU) says
   whether each config can launch; ptxas's own `-v` report says whether it spills (a stack frame is not a
   spill). The check fails if a kernel has no launchable config without spills on a target, or if the fused
   attention's 16-bit code for sm_90 has no HGMMA, or its forward no TMA loads (UTMALDG).

The work runs in spawned worker processes with `TRITON_INTERPRET=0`: the interpreter replaces `@triton.jit`
functions at import time, so a process that interprets (the test session) cannot compile.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError, one_line
from benchbench.kernelbench.records import KernelCheck, KernelCompileRow

# Kernels whose 16-bit sm_90 code must use Hopper's tensor cores through wgmma (SASS HGMMA), and those whose
# loads must go through the tensor memory accelerator (SASS UTMALDG: the forward's tensor descriptors).
HGMMA_KERNELS = ("_attn_fwd", "_attn_bwd")
TMA_KERNELS = ("_attn_fwd",)
TMA_LOAD_RE = re.compile(r"\bUTMALDG\b")  # Hopper/Blackwell bulk tensor loads (PTX cp.async.bulk.tensor)
# PTX setmaxnreg (SASS USETMAXREG): warp groups of a warp-specialised kernel hand registers to one another (the
# producer gives up registers, the consumers take them)
SETMAXREG_RE = re.compile(r"\bUSETMAXREG\b")
# Instructions that write global memory: plain and vector stores, reductions and atomics, TMA stores. A kernel
# without one writes no output: ptxas turns code it proves always faulting into a trap and drops the rest (seen on
# sm_100 for a backward config at head dim 128), and such a cubin has few registers and no spills.
GLOBAL_WRITE_RE = re.compile(r"\b(?:STG|RED|REDG|ATOMG|UTMASTG|UTMAREDG|UBLKCP)\b")
_PARTITION_RE = re.compile(r"\bpartition(\d+)\(")
TENSOR_CORE_RE = re.compile(r"\b((?:UTC|[HIDQB]G?)MMA|[A-Z]*GMMA|UTC[A-Z]*MMA)\b")
_RESOURCE_RE = re.compile(r"REG:(\d+)\s+STACK:(\d+)\s+SHARED:(\d+)\s+LOCAL:(\d+)")
# ptxas -v: "Function properties for NAME / N bytes stack frame, N bytes spill stores, N bytes spill loads"
_PTXAS_SPILL_RE = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def parse_targets(text: str) -> list[int]:
    """'sm_90,sm_100' → [90, 100]; an unknown target is a BadInputError naming the known ones."""
    from benchbench.kernels._resources import LIMITS

    caps = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        m = re.fullmatch(r"(?:sm_?)?(\d+)a?", part)
        if m is None or int(m.group(1)) not in LIMITS:
            known = ", ".join(v.name for v in LIMITS.values())
            raise BadInputError(f"unknown target {part!r}; allowed: {known} (comma-separated)")
        caps.append(int(m.group(1)))
    if not caps:
        raise BadInputError("--target is empty; give one or more of sm_90, sm_100, ...")
    return sorted(set(caps), key=caps.index)


def toolchain_problem() -> str | None:
    """Why Triton cannot compile and inspect CUDA kernels here (None if it can)."""
    try:
        import triton
        from triton.backends.compiler import GPUTarget
        from triton.compiler.compiler import make_backend

        make_backend(GPUTarget("cuda", 90, 32))
        tools = {"ptxas": triton.knobs.nvidia.ptxas, "cuobjdump": triton.knobs.nvidia.cuobjdump,
                 "nvdisasm": triton.knobs.nvidia.nvdisasm}  # fmt: skip
        for name, knob in tools.items():
            if knob is None or not Path(knob.path).is_file():
                return f"Triton's CUDA tool {name} is missing (install triton's CUDA backend or set TRITON_{name.upper()}_PATH)"
    except Exception as exc:  # no triton, or a triton without its CUDA backend
        return f"Triton cannot compile for CUDA here: {one_line(exc)}"
    return None


# ---- 1. record the launches of the host code -----------------------------------------------------------


@dataclass
class Launch:
    """One recorded launch: the JIT function, its arguments, and the configs it may run with."""

    fn: Any  # triton JITFunction
    args: tuple
    kwargs: dict
    configs: list[tuple[str, str, dict]]  # (source, label, launch options and constexprs of the config)


@contextlib.contextmanager
def record_launches() -> Iterator[list[Launch]]:
    """Within the block, Triton launches are recorded into the yielded list instead of being run."""
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction

    from benchbench.kernels._common import RECORDING

    launches: list[Launch] = []
    jit_run, tuner_run = JITFunction.run, Autotuner.run

    def record_jit(self, *args, grid, warmup, **kwargs):
        launches.append(Launch(self, args, {}, [("host", _label(kwargs), dict(kwargs))]))

    def record_tuner(self, *args, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("grid", "warmup")}
        configs = [("autotune", _label(c.all_kwargs()), c.all_kwargs()) for c in self.configs]
        launches.append(Launch(self.fn, args, kwargs, configs))

    JITFunction.run, Autotuner.run = record_jit, record_tuner
    token = RECORDING.set(True)
    try:
        yield launches
    finally:
        RECORDING.reset(token)
        JITFunction.run, Autotuner.run = jit_run, tuner_run


def _label(kwargs: dict) -> str:
    blocks = [
        f"{k}={v}" for k, v in kwargs.items() if k.startswith(("BLOCK", "CHUNK")) and isinstance(v, int)
    ]
    ws = ["ws"] if kwargs.get("WARP_SPEC") else []  # a warp-specialised variant (attention's forward)
    return " ".join(
        [*blocks, f"warps={kwargs.get('num_warps', 4)}", f"stages={kwargs.get('num_stages', 3)}", *ws]
    )


def _call(op: str, shape: dict, dtype_name: str) -> None:
    """Run the Triton implementation of `op` once forward and (if it has one) backward on CPU tensors."""
    import torch

    from benchbench.core.dtypes import parse_dtype
    from benchbench.kernels.registry import get_kernel, get_op

    spec = get_op(op)
    impl = get_kernel(spec.name, "triton")
    args, kwargs = spec.make_inputs(_sizes(shape), parse_dtype(dtype_name), "cpu")
    if impl.backward:
        args = tuple(a.detach().requires_grad_() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                     for a in args)  # fmt: skip
    out = impl.fn(*args, **kwargs)
    out = out if isinstance(out, torch.Tensor) else next(t for t in out if isinstance(t, torch.Tensor))
    leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    if impl.backward and leaves:  # outputs are uninitialised memory: only the launches matter
        torch.autograd.grad(out, leaves, torch.zeros_like(out), allow_unused=True)


def _sizes(shape: dict) -> dict:
    return {k: v for k, v in shape.items() if k not in ("set", "dtype")}


def record_case(op: str, shape: dict, dtype_name: str) -> list[Launch]:
    """Every launch of one call of `op` (autotuned, then once more with autotuning off for the fixed configs)."""
    from benchbench.kernels._common import autotune

    with record_launches() as tuned:
        _call(op, shape, dtype_name)
    autotuned = {launch.fn for launch in tuned if any(c[0] == "autotune" for c in launch.configs)}
    fixed: list[Launch] = []
    if autotuned:
        with autotune(False), record_launches() as untuned:
            _call(op, shape, dtype_name)
        for launch in untuned:  # the autotuned kernels' one config with autotuning off
            if launch.fn in autotuned:
                (_, label, config) = launch.configs[0]
                fixed.append(replace(launch, configs=[("fixed", label, config)]))
    return tuned + fixed


# ---- 2. compile for a target, 3. inspect ----------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One compile: a launch of a case, one of its configs, for one target."""

    op: str
    shape: tuple[tuple[str, Any], ...]
    dtype: str
    launch: int
    config: int
    target: int


def _specialise(launch: Launch, config: dict, capability: int) -> tuple[Any, Any, Any]:
    """(source, target, options) exactly as `JITFunction.run` would build them for this launch on the target."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    fn = launch.fn
    target = GPUTarget("cuda", capability, 32)
    backend = make_backend(target)
    kwargs = {**launch.kwargs, **config}
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, options = binder(*launch.args, **kwargs)
    options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound, specialization, options)
    return ASTSource(fn, signature, constexprs, attrs), target, options


def _resources(cubin: bytes, name: str) -> tuple[dict[str, int], dict[str, int], int, int, int]:
    """(REG/STACK/SHARED/LOCAL from cuobjdump, tensor-core mnemonic counts, TMA loads, setmaxnreg instructions
    and global writes from nvdisasm) of a cubin."""
    import triton

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.cubin"
        path.write_bytes(cubin)
        usage = subprocess.run([triton.knobs.nvidia.cuobjdump.path, "--dump-resource-usage", str(path)],
                               capture_output=True, text=True, check=True, timeout=120).stdout  # fmt: skip
        sass = subprocess.run([triton.knobs.nvidia.nvdisasm.path, str(path)], capture_output=True, text=True,
                              check=True, timeout=300).stdout  # fmt: skip
    m = _RESOURCE_RE.search(usage)
    if m is None:
        raise RuntimeError(f"cuobjdump printed no resource line for {name}: {usage[:200]!r}")
    res = dict(zip(("REG", "STACK", "SHARED", "LOCAL"), (int(g) for g in m.groups())))
    counts = (
        len(TMA_LOAD_RE.findall(sass)),
        len(SETMAXREG_RE.findall(sass)),
        len(GLOBAL_WRITE_RE.findall(sass)),
    )
    return res, count_tensor_core(sass), *counts


def ptxas_report(ptx: str, capability: int) -> dict[str, int]:
    """ptxas's own verdict on spilling: {"stack_frame", "spill_stores", "spill_loads"} in bytes, from `ptxas -v`
    on the PTX Triton made, for the arch Triton compiles it for (sm_90a, sm_100a). A stack frame without spill
    stores is not a spill: sm_100 code keeps small frames (8-24 B) for reasons other than register pressure."""
    from triton.backends.nvidia.compiler import get_ptxas, sm_arch_from_capability

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.ptx"
        src.write_text(ptx)
        log = subprocess.run([get_ptxas(capability).path, "-v", f"--gpu-name={sm_arch_from_capability(capability)}",
                              str(src), "-o", str(Path(tmp) / "k.cubin")], capture_output=True, text=True,
                             check=True, timeout=300)  # fmt: skip
    return parse_ptxas_log(log.stdout + log.stderr)


def parse_ptxas_log(text: str) -> dict[str, int]:
    """The largest stack frame, spill stores and spill loads (bytes) over the functions of a `ptxas -v` log."""
    totals = {"stack_frame": 0, "spill_stores": 0, "spill_loads": 0}
    for m in _PTXAS_SPILL_RE.finditer(text):
        for key, value in zip(totals, m.groups()):
            totals[key] = max(totals[key], int(value))
    return totals


def warp_partitions(ttgir: str) -> int:
    """The worker partitions of the warp-specialised regions in a TTGIR listing (`ttg.warp_specialize` ops with
    their `partitionN` regions), 0 where nothing was warp-specialised."""
    if "ttg.warp_specialize" not in ttgir:
        return 0
    return len(set(_PARTITION_RE.findall(ttgir)))


def count_tensor_core(sass: str) -> dict[str, int]:
    """Tensor-core instructions in a SASS listing by base mnemonic (HGMMA.64x128x16.F32.BF16 → HGMMA)."""
    counts: dict[str, int] = {}
    for line in sass.splitlines():
        code = line.split("/*")[0] if "*/" not in line else line.split("*/", 1)[-1]
        for m in TENSOR_CORE_RE.finditer(code.split(";")[0]):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def _row(job: Job, launch: Launch) -> KernelCompileRow:
    source, label, config = launch.configs[job.config]
    shape = dict(job.shape)
    return KernelCompileRow(
        op=job.op, kernel=launch.fn.__name__, case=f"{job.dtype} {_case_label(shape)}", dtype=job.dtype,
        config=label, source=source, target=f"sm_{job.target}", num_warps=int(config.get("num_warps", 4)),
        num_stages=int(config.get("num_stages", 3)), compiled=False, launchable=False, spills=False,
    )  # fmt: skip


def _case_label(shape: dict) -> str:
    return ",".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in _sizes(shape).items())


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (ptxas): a compile's cost whatever the machine's
    load, where wall-clock time on a shared machine is several times longer."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def compile_job(job: Job, launch: Launch) -> KernelCompileRow:
    """Compile one launch × config for one target and judge it."""
    import triton

    from benchbench.kernels._resources import launch_problem, limits_for

    row = _row(job, launch)
    start, cpu = time.perf_counter(), cpu_seconds()
    try:
        src, target, options = _specialise(launch, launch.configs[job.config][2], job.target)
        compiled = triton.compile(src, target=target, options=options.__dict__)
        row.compile_cpu_s = cpu_seconds() - cpu
        res, tc, row.tma_loads, row.setmaxreg, writes = _resources(compiled.asm["cubin"], row.kernel)
        row.warp_partitions = warp_partitions(compiled.asm.get("ttgir", ""))
    except Exception as exc:  # a config that does not compile is a row, not a crash
        row.problem = one_line(exc)
        row.compile_s = time.perf_counter() - start
        return row
    row.compile_s = time.perf_counter() - start
    row.compiled = True
    # local memory per thread = the stack frame (STACK) + local arrays (LOCAL): what the driver reports as a
    # function's local size. Whether registers spilled is ptxas's own count of spill stores, not the frame size.
    row.registers, row.local_bytes, row.stack_bytes = res["REG"], res["LOCAL"] + res["STACK"], res["STACK"]
    row.shared_bytes = int(compiled.metadata.shared)
    row.num_warps = int(compiled.metadata.num_warps)
    row.tensor_core = tc
    try:
        report = ptxas_report(compiled.asm["ptx"], job.target)
        row.spill_stores = report["spill_stores"]
    except Exception as exc:  # no report: judge by local memory, as the driver would count it
        row.spill_stores, row.note = None, f"no ptxas report ({one_line(exc)}); spills judged by local memory"
    row.spills = row.local_bytes > 0 if row.spill_stores is None else row.spill_stores > 0
    problem = launch_problem(row.shared_bytes, row.registers, row.num_warps, limits_for(job.target))
    if writes == 0:
        problem = "compiled to no global store (a trap or empty kernel): it writes no output"
    row.launchable = problem is None
    spilled = f"spills: {row.spill_stores} B of spill stores per thread (ptxas)" if row.spill_stores else (
        f"spills: {row.local_bytes} B of local memory per thread")  # fmt: skip
    row.problem = problem or (spilled if row.spills else "")
    return row


# ---- worker processes -------------------------------------------------------------------------------------

_RECORDED: dict[tuple, list[Launch]] = {}


def _worker_init() -> None:
    os.environ["TRITON_INTERPRET"] = "0"  # before any kernel module is imported in this process
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9's default, said out loud
    import torch

    torch.set_num_threads(1)


def _launches(op: str, shape: tuple, dtype: str) -> list[Launch]:
    key = (op, shape, dtype)
    if key not in _RECORDED:
        _RECORDED[key] = record_case(op, dict(shape), dtype)
    return _RECORDED[key]


def plan_case(op: str, shape: tuple, dtype: str, targets: list[int], subset: str = "full",
              sources: tuple[str, ...] | None = None, runnable: bool = False) -> list[tuple[Job, str, str, str]]:  # fmt: skip
    """The compile jobs of one case as (job, key, source, config label); the key is equal for identical compiles
    (they run once). The CI subset leaves out the autotuners' configs (it compiles what runs with autotuning off),
    except the warp-specialised ones (`WARP_SPEC`) on the targets where the autotuner may pick them: their compile
    depends most on the Triton version and the target.
    `sources` keeps only configs of those sources ("autotune", "fixed", "host"); `runnable` only the configs the
    autotuner may run on each target (the warm-up of a GPU run: no warp-specialised config where it is pruned)."""
    jobs = []
    for i, launch in enumerate(_launches(op, shape, dtype)):
        for j, (source, label, config) in enumerate(launch.configs):
            for cap in _config_targets(source, config, targets, subset, sources, runnable):
                try:
                    src, _, options = _specialise(launch, config, cap)
                    key = f"{src.hash()}-{options.hash()}-{cap}"
                except Exception as exc:  # fails again, with its reason, when compiled
                    key = f"unspecialisable-{op}-{shape}-{dtype}-{i}-{j}-{cap}-{type(exc).__name__}"
                jobs.append((Job(op, shape, dtype, i, j, cap), key, source, label))
    return jobs


def _config_targets(source: str, config: dict, targets: list[int], subset: str, sources: tuple[str, ...] | None,
                    runnable: bool) -> list[int]:  # fmt: skip
    """The targets `plan_case` compiles one config for (see there)."""
    if subset == "ci" and source == "autotune" and not config.get("WARP_SPEC"):
        return []
    if sources is not None and source not in sources:
        return []
    if runnable or subset == "ci":
        return [cap for cap in targets if _runs_on(config, cap)]
    return list(targets)


def _runs_on(config: dict, capability: int) -> bool:
    """Whether an autotuner may pick `config` on a GPU of `capability`: a warp-specialised config only where the
    attention forward's feature check allows it (its autotuner prunes it elsewhere)."""
    if not config.get("WARP_SPEC"):
        return True
    from benchbench.kernels.attention import warp_spec_supported

    return warp_spec_supported(capability)


def run_jobs(jobs: list[Job]) -> list[KernelCompileRow]:
    return [compile_job(job, _launches(job.op, job.shape, job.dtype)[job.launch]) for job in jobs]


def warm_jobs(jobs: list[Job]) -> list[tuple[str, float]]:
    """Compile each job into Triton's cache (no inspection): (kernel name or error line, seconds) per job."""
    import triton

    done = []
    for job in jobs:
        launch = _launches(job.op, job.shape, job.dtype)[job.launch]
        start = time.perf_counter()
        try:
            src, target, options = _specialise(launch, launch.configs[job.config][2], job.target)
            triton.compile(src, target=target, options=options.__dict__)
            what = launch.fn.__name__
        except Exception as exc:  # the GPU run compiles it again and reports the error where it matters
            what = f"error: {launch.fn.__name__}: {one_line(exc)}"
        done.append((what, time.perf_counter() - start))
    return done


@dataclass
class WarmResult:
    """What `warm_cache` compiled into Triton's cache, and how long it took."""

    cases: int
    compiles: int
    seconds: float  # wall clock
    compile_s: float  # summed over workers
    workers: int
    errors: list[str]


def warm_cache(cases: list[tuple[str, dict, str, tuple[str, ...]]], capability: int, *, workers: int,
               cache_dir: str | None = None) -> WarmResult:  # fmt: skip
    """Compile the launches of `cases` ((op, shape, dtype name, config sources)) for `capability` in `workers`
    spawned processes, into Triton's on-disk cache (`cache_dir`, else Triton's own), so that a GPU process that
    then launches the same kernels (and an autotuner that compiles its configs) loads them instead of compiling
    one after another. The cache key is the one `JITFunction.run` computes: the same binder and `_pack_args`."""
    start = time.perf_counter()
    if cache_dir:
        os.environ["TRITON_CACHE_DIR"] = str(cache_dir)  # inherited by the spawned workers
    keyed = [
        (op, tuple(sorted(_sizes(shape).items())), dtype, sources) for op, shape, dtype, sources in cases
    ]
    errors: list[str] = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        futures = [pool.submit(plan_case, op, shape, dtype, [capability], "full", sources, True)
                   for op, shape, dtype, sources in keyed]  # fmt: skip
        unique: dict[str, Job] = {}
        for (op, shape, dtype, _), fut in zip(keyed, futures):
            try:
                for job, key, _, _ in fut.result():
                    unique.setdefault(key, job)
            except Exception as exc:  # the host code failed: the GPU run meets the same error and records it
                errors.append(f"{op} {dtype} {_case_label(dict(shape))}: {one_line(exc)}")
        todo = list(unique.values())
        chunks = [todo[i::workers] for i in range(min(len(todo), workers))]
        results = [r for fut in [pool.submit(warm_jobs, c) for c in chunks] for r in fut.result()]
    errors += [what for what, _ in results if what.startswith("error:")]
    return WarmResult(len(cases), len(todo), time.perf_counter() - start, sum(s for _, s in results), workers,
                      errors)  # fmt: skip


def compile_seconds(rows: list[KernelCompileRow]) -> dict[str, dict[str, float]]:
    """{"op/kernel": {config label: CPU seconds}}: the longest compile (triton.compile, ptxas included) of each
    kernel × config measured in `rows` (duplicates compiled once carry nothing and do not count)."""
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.compiled and r.compile_cpu_s:
            per = table.setdefault(f"{r.op}/{r.kernel}", {})
            per[r.config] = round(max(per.get(r.config, 0.0), r.compile_cpu_s), 2)
    return {k: dict(sorted(v.items())) for k, v in sorted(table.items())}


def compile_times_toml(check: KernelCheck, command: str) -> str:
    """The measured compile seconds of a check as the TOML data file gpu-check plans from."""
    import json

    env = check.env
    versions = env.get("versions", {})
    lines = [
        "# CPU seconds (triton.compile with ptxas, without Triton's cache) to compile each Triton kernel x config",
        "# for one GPU target, measured by `benchbench kernels check` on a machine with no GPU: CPU time, so the",
        "# machine's load does not inflate it; on an idle machine wall time is about the same. gpu-check plans its run",
        "# from these (benchbench/runs/gpu_check_plan.py). Regenerate after changing a kernel or its configs:",
        f"#   {command}",
        "",
        "[measured]",
        f"targets = {json.dumps(check.targets)}",
        f"triton = {json.dumps(versions.get('triton') or '')}",
        f"torch = {json.dumps(versions.get('torch') or '')}",
        f"cpu = {json.dumps(env.get('cpu_model', ''))}",
        f"cpu_cores = {env.get('cpu_cores') or 0}",
        f"load_1min = {(env.get('machine') or {}).get('load1') or 0}",
        f"measured_at = {json.dumps(check.created_at)}",
        "",
    ]
    for kernel, per in compile_seconds(check.rows).items():
        lines.append(f"[seconds.{json.dumps(kernel)}]")
        lines += [f"{json.dumps(label)} = {secs}" for label, secs in per.items()]
        lines.append("")
    return "\n".join(lines)


# ---- the check ---------------------------------------------------------------------------------------------


def compile_cases(ops: list[str] | None = None, subset: str = "full") -> list[tuple[str, tuple, str]]:
    """(op, shape, dtype) for every op with a Triton implementation: its compile shapes × the dtypes it claims.

    A shape may pin `"dtype"`; the CI subset uses each op's `ci_compile_shapes` instead.
    """
    from benchbench.core.dtypes import dtype_name
    from benchbench.kernels.registry import get_op, list_kernels, list_ops

    cases = []
    for op in ops or list_ops():
        spec = get_op(op)
        impl = next((k for k in list_kernels(spec.name) if k.name == "triton"), None)
        if impl is None:
            continue
        shapes = spec.ci_compile_shapes if subset == "ci" else spec.compile_shapes
        for shape in shapes:
            dtypes = [shape["dtype"]] if "dtype" in shape else [dtype_name(d) for d in impl.dtypes]
            cases += [(spec.name, tuple(sorted(_sizes(shape).items())), dt) for dt in dtypes]
    return cases


def check_kernels(
    targets: list[int],
    *,
    ops: list[str] | None = None,
    subset: str = "full",
    jobs: int | None = None,
    log: Any = None,
) -> KernelCheck:
    """Compile every recorded launch × config of every Triton kernel for every target, in `jobs` processes."""
    from benchbench.core.env import capture_env

    if subset not in ("full", "ci"):
        raise BadInputError(f"unknown subset {subset!r}; allowed: full, ci")
    problem = toolchain_problem()
    if problem:
        raise BadInputError(problem)
    start = time.perf_counter()
    cases = compile_cases(ops, subset)
    workers = max(1, jobs or os.cpu_count() or 1)
    rows: list[KernelCompileRow] = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        futures = [(c, pool.submit(plan_case, *c, targets, subset)) for c in cases]
        planned, unrecorded = [], []
        for (op, shape, dtype), fut in futures:
            try:
                planned += fut.result()
            except Exception as exc:  # the host code itself failed: that op's launches are unknown
                unrecorded.append(
                    f"{op} {dtype} {_case_label(dict(shape))}: could not record launches: {one_line(exc)}"
                )
        unique: dict[str, Job] = {}
        for job, key, _, _ in planned:
            unique.setdefault(key, job)
        todo = list(unique.values())
        if log:
            log(f"{len(cases)} cases, {len(planned)} compiles ({len(todo)} distinct) for "
                f"{', '.join(f'sm_{t}' for t in targets)} in {workers} processes")  # fmt: skip
        chunks = [todo[i :: workers * 4] for i in range(min(len(todo), workers * 4))]
        done: dict[Job, KernelCompileRow] = {}
        for chunk, fut in [(c, pool.submit(run_jobs, c)) for c in chunks]:
            for job, row in zip(chunk, fut.result()):
                done[job] = row
    for job, key, source, label in planned:  # every planned job gets its row, duplicates from the one compile
        row = done[unique[key]]
        if unique[key] != job:
            row = replace(row, case=f"{job.dtype} {_case_label(dict(job.shape))}", dtype=job.dtype, source=source,
                          config=label, compile_s=0.0, compile_cpu_s=None, tensor_core=dict(row.tensor_core))  # fmt: skip
        rows.append(row)
    result = KernelCheck(targets=[f"sm_{t}" for t in targets], subset=subset, rows=rows, env=capture_env("cpu"),
                         elapsed_s=time.perf_counter() - start)  # fmt: skip
    result.failures = unrecorded + judge(rows, targets)
    result.notes.append(
        "compiled on a machine with no GPU: registers, shared memory and spills are ptxas's; no kernel was run"
    )
    return result


def judge(rows: list[KernelCompileRow], targets: list[int]) -> list[str]:
    """One line per failure: a kernel with no launchable config free of spills on a target; attention's 16-bit
    sm_90 code without HGMMA, its forward's without TMA loads."""
    failures = []
    for cap in targets:
        failures += _spill_failures(rows, f"sm_{cap}")
    return failures + (_sm90_failures(rows) if 90 in targets else [])


def _spill_failures(rows: list[KernelCompileRow], target: str) -> list[str]:
    """Kernels with no launchable config free of spills on `target`."""
    failures = []
    for op, kernel in sorted({(r.op, r.kernel) for r in rows}):
        mine = [r for r in rows if r.op == op and r.kernel == kernel and r.target == target]
        if mine and not any(r.ok for r in mine):
            why = sorted({r.problem for r in mine if r.problem})[:2]
            failures.append(
                f"{op}/{kernel}: no launchable config without spills on {target} ({'; '.join(why)})"
            )
    return failures


def _sm90_failures(rows: list[KernelCompileRow]) -> list[str]:
    """Attention kernels whose 16-bit sm_90 code lacks HGMMA, or (the forward) TMA loads."""
    failures = []
    sixteen = [r for r in rows if r.target == "sm_90" and r.dtype != "float32" and r.launchable]
    for kernel in HGMMA_KERNELS:
        mine = [r for r in rows if r.kernel == kernel and r.target == "sm_90" and r.dtype != "float32"]
        if mine and not any(r.tensor_core.get("HGMMA") for r in sixteen if r.kernel == kernel):
            failures.append(f"attention/{kernel}: no launchable 16-bit sm_90 config uses HGMMA (wgmma)")
    for kernel in TMA_KERNELS:
        mine = [r for r in rows if r.kernel == kernel and r.target == "sm_90" and r.dtype != "float32"]
        if mine and not any(r.tma_loads for r in sixteen if r.kernel == kernel):
            failures.append(
                f"attention/{kernel}: no launchable 16-bit sm_90 config loads through TMA (UTMALDG)"
            )
    return failures
