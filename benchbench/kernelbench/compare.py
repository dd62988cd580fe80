"""Kernel comparison: every implementation of an op over a shape sweep, with time, TFLOP/s, GB/s and % of peak.

Each row is checked against the baseline implementation run on fp32 copies of the same inputs. The
ceilings (matmul rate in the compare dtype, large-copy bandwidth) are measured in the same run on the same
device, so "% of peak" is relative to what this machine reached, not to a datasheet. GPU timings use CUDA
events with warm-up, an L2 flush before every repeat and the median of many repeats. On the CPU, Triton
kernels only run in the interpreter: their rows are checked for correctness and marked "interpreted".
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchbench.core.env import capture_env
from benchbench.core.errors import BadInputError
from benchbench.core.files import write_json
from benchbench.estimate.ceilings import Ceilings, measure_ceilings
from benchbench.kernels.registry import KernelImpl, OpSpec, get_op, list_kernels
from benchbench.measure.timing import TimingConfig, measure

# Error allowed against the fp32 baseline, relative to max(1, max |reference|), per dtype.
COMPARE_TOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
GPU_TIMING = TimingConfig(warmup=5, min_repeats=30, max_repeats=200, min_time_s=0.2, flush_l2=True)
CPU_TIMING = TimingConfig(warmup=1, min_repeats=3, max_repeats=50, min_time_s=0.05)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


@dataclass
class CompareRow:
    """One implementation at one shape, forward or backward."""

    op: str
    impl: str
    baseline: bool
    device: str
    dtype: str
    shape: str
    mode: str  # "fwd" or "bwd"
    status: str  # "timed", "checked" (not timed), "interpreted", "unsupported", "error" or "skipped"
    p50_ms: float | None = None
    p90_ms: float | None = None
    repeats: int = 0
    baseline_p50_ms: float | None = None
    speedup: float | None = None  # baseline p50 / this p50
    tflops: float | None = None
    gbps: float | None = None
    pct_peak: float | None = None  # of the measured ceiling of the bound resource
    bound: str | None = None  # "compute" or "memory"
    ok: bool | None = None  # within tolerance of the fp32 baseline
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "compare", **asdict(self)}


@dataclass
class CompareResult:
    """All rows of one `kernels compare`, with the ceilings they are measured against."""

    op: str
    device: str
    dtype: str
    ceilings: Ceilings | None
    rows: list[CompareRow]
    env: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "kernel_compare", "op": self.op, "device": self.device, "dtype": self.dtype,
                "ceilings": asdict(self.ceilings) if self.ceilings else None, "elapsed_s": self.elapsed_s,
                "rows": [r.to_dict() for r in self.rows], "notes": self.notes, "env": self.env}  # fmt: skip


def shape_label(shape: dict) -> str:
    return ",".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in shape.items() if k != "set")


def parse_shape(text: str, spec: OpSpec) -> dict:
    """'B=2,H=4,T=256,D=64' -> a shape dict; unnamed keys come from the op's first default shape."""
    base = {k: v for k, v in spec.shapes[0].items() if k != "set"}
    shape = dict(base)
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep or key not in base:
            raise BadInputError(f"bad shape {text!r} for op {spec.name}: give KEY=VALUE pairs with keys from "
                                f"{', '.join(base)} (e.g. {shape_label(base)})")  # fmt: skip
        if isinstance(base[key], bool):
            if value.lower() not in ("0", "1", "true", "false"):
                raise BadInputError(f"shape key {key} takes true/false, got {value!r}")
            shape[key] = value.lower() in ("1", "true")
        else:
            try:
                shape[key] = int(value)
            except ValueError:
                raise BadInputError(f"shape key {key} takes an integer, got {value!r}") from None
            if shape[key] < 1:
                raise BadInputError(f"shape key {key} must be >= 1, got {value}")
    return shape


def default_shapes(spec: OpSpec, device: str) -> list[dict]:
    """The op's sweep; shapes marked set='gpu' run only on CUDA."""
    cuda = torch.device(device).type == "cuda"
    return [s for s in spec.shapes if cuda or s.get("set") != "gpu"]


def _upcast(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor) and obj.is_floating_point():
        return obj.detach().float().requires_grad_(obj.requires_grad)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_upcast(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _upcast(v) for k, v in obj.items()}
    return obj


def _grad_leaves(args: tuple) -> list[torch.Tensor]:
    return [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]


def _with_grad(args: tuple) -> tuple:
    """Positional floating-point tensor arguments become leaves that require grad."""
    return tuple(a.detach().requires_grad_() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                 for a in args)  # fmt: skip


def _first_tensor(out: Any) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else next(t for t in out if isinstance(t, torch.Tensor))


def _errors(got: list[torch.Tensor], want: list[torch.Tensor]) -> tuple[float, float]:
    abs_err, rel_err = 0.0, 0.0
    for a, b in zip(got, want):
        if b.numel() == 0:
            continue
        err = (a.float() - b.float()).abs().max().item()
        abs_err = max(abs_err, err)
        rel_err = max(rel_err, err / max(1.0, b.float().abs().max().item()))
    return abs_err, rel_err


class _Case:
    """One shape's inputs, the fp32 reference outputs (and gradients) and the output gradient for backward."""

    def __init__(self, spec: OpSpec, baseline: KernelImpl, shape: dict, dtype: torch.dtype, device: str,
                 backward: bool) -> None:  # fmt: skip
        self.args, self.kwargs = spec.make_inputs(shape, dtype, device)
        if backward:
            self.args = _with_grad(self.args)
        ref_args = _upcast(self.args)
        with torch.enable_grad() if backward else torch.no_grad():
            ref = _first_tensor(baseline.fn(*ref_args, **_upcast(self.kwargs)))
        self.dout = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1)).to(ref.device)
        if backward:
            leaves = _grad_leaves(ref_args)
            self.want = [ref.detach(), *torch.autograd.grad(ref, leaves, self.dout)]
        else:
            self.want = [ref]


def _run_row(impl: KernelImpl, case: _Case, mode: str, device: str, timing: TimingConfig | None,
             interpreted: bool) -> dict[str, Any]:  # fmt: skip
    """Check `impl` on one case against the reference, then time it (unless interpreted)."""
    args, kwargs = case.args, case.kwargs
    if mode == "fwd":
        with torch.no_grad():
            out = _first_tensor(impl.fn(*args, **kwargs))
        got = [out]

        def call() -> Any:
            with torch.no_grad():
                return impl.fn(*args, **kwargs)

    else:
        out = _first_tensor(impl.fn(*args, **kwargs))
        leaves = _grad_leaves(args)
        dout = case.dout.to(out.dtype)
        got = [out.detach(), *torch.autograd.grad(out, leaves, dout, retain_graph=True)]

        def call() -> Any:
            return torch.autograd.grad(out, leaves, dout, retain_graph=True)

    abs_err, rel_err = _errors(got, case.want)
    row: dict[str, Any] = {"max_abs_err": abs_err, "max_rel_err": rel_err}
    if interpreted:
        row["status"] = "interpreted"
        row["note"] = "Triton interpreter: correctness only"
        return row
    if timing is None:
        row["status"] = "checked"
        return row
    stats = measure(call, device=device, config=timing)
    row.update(status="timed", p50_ms=stats.p50_ms, p90_ms=stats.p90_ms, repeats=stats.n)
    return row


def compare_op(
    op: str,
    *,
    impls: list[str] | None = None,
    shapes: list[dict] | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    backward: bool = False,
    timing: TimingConfig | None = None,
    ceilings: Ceilings | None = None,
    deadline: float | None = None,
    time_it: bool = True,
) -> CompareResult:
    """Time every implementation of `op` (or those named) at every shape; rows past `deadline` are skipped.

    `time_it=False` only checks each implementation against the baseline (status "checked").
    """
    spec = get_op(op)
    all_impls = list_kernels(spec.name)
    by_name = {k.name: k for k in all_impls}
    for name in impls or []:
        if name not in by_name:
            from benchbench.core.errors import unknown_name

            raise unknown_name(f"implementation of {spec.name}", name, by_name)
    baseline = next((k for k in all_impls if k.baseline), all_impls[0])
    chosen = [by_name[n] for n in impls] if impls else all_impls
    if baseline not in chosen:
        chosen = [baseline, *chosen]  # speed-ups need the baseline's time
    dev = torch.device(device)
    notes = []
    if not impls:  # the whole registry: leave out what cannot run on this device at all, and say so
        off = [k for k in chosen if dev.type not in k.devices]
        chosen = [k for k in chosen if k not in off]
        notes += [f"{k.name} not run: it runs on {', '.join(k.devices)}" for k in off]
    timing = timing or (GPU_TIMING if dev.type == "cuda" else CPU_TIMING)
    start = time.perf_counter()
    if ceilings is None and time_it:
        ceilings = measure_ceilings(device, dtype)
    modes = ["fwd", "bwd"] if backward else ["fwd"]
    rows: list[CompareRow] = []
    for shape in shapes or default_shapes(spec, device):
        for mode in modes:
            rows += _compare_shape(spec, chosen, baseline, shape, mode, dev, dtype, timing if time_it else None,
                                   ceilings, deadline)  # fmt: skip
    if dev.type == "cpu" and any(r.status == "interpreted" for r in rows):
        notes.append("interpreted: a Triton kernel in the CPU interpreter, checked for correctness only")
    return CompareResult(spec.name, str(dev), dtype_name(dtype), ceilings, rows, capture_env(str(dev)),
                         time.perf_counter() - start, notes)  # fmt: skip


def _compare_shape(
    spec, chosen, baseline, shape, mode, dev, dtype, timing, ceilings, deadline
) -> list[CompareRow]:
    label = shape_label(shape)
    params = {k: v for k, v in shape.items() if k != "set"}

    def row(impl: KernelImpl, status: str, **kw: Any) -> CompareRow:
        return CompareRow(spec.name, impl.name, impl.baseline, str(dev), dtype_name(dtype), label, mode, status,
                          params=params, **kw)  # fmt: skip

    if deadline is not None and time.monotonic() > deadline:
        return [row(k, "skipped", note="time budget spent") for k in chosen]
    try:
        case = _Case(spec, baseline, shape, dtype, str(dev), backward=mode == "bwd")
    except Exception as exc:  # the reference itself failed (e.g. out of memory): every row says so
        return [row(k, "error", note=f"reference: {type(exc).__name__}: {exc}") for k in chosen]
    rows: list[CompareRow] = []
    for impl in chosen:
        if deadline is not None and time.monotonic() > deadline:
            rows.append(row(impl, "skipped", note="time budget spent"))
            continue
        why = impl.supports(dev.type, dtype)
        if why is None and mode == "bwd" and not impl.backward:
            why = f"{spec.name}/{impl.name} has no backward"
        if why is None and impl.check is not None:
            why = impl.check(*case.args, **case.kwargs)
        if why is not None:
            rows.append(row(impl, "unsupported", note=why))
            continue
        interpreted = dev.type == "cpu" and impl.interpreted_on_cpu
        try:
            result = _run_row(impl, case, mode, str(dev), timing, interpreted)
        except Exception as exc:  # one failing implementation is a row, not a crash
            rows.append(row(impl, "error", note=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
            continue
        r = row(impl, result.pop("status"), **result)
        r.ok = r.max_rel_err is not None and r.max_rel_err <= COMPARE_TOL.get(dtype, 5e-2)
        rows.append(r)
    _fill_rates(spec, rows, shape, mode, dtype, ceilings)
    return rows


def _fill_rates(spec: OpSpec, rows: list[CompareRow], shape: dict, mode: str, dtype: torch.dtype,
                ceilings: Ceilings | None) -> None:  # fmt: skip
    """Speed-up against the baseline, TFLOP/s, GB/s and % of the bound resource's measured ceiling."""
    base = next((r for r in rows if r.baseline and r.p50_ms), None)
    flops_fn = spec.flops if mode == "fwd" else spec.backward_flops
    flops = flops_fn(shape) if flops_fn else None
    nbytes = spec.bytes_moved(shape, dtype) if spec.bytes_moved else None
    if nbytes is not None and mode == "bwd":
        nbytes *= 2  # reads the forward's inputs and the output gradient, writes the input gradients
    for r in rows:
        if not r.p50_ms:
            continue
        sec = r.p50_ms * 1e-3
        if base is not None:
            r.baseline_p50_ms = base.p50_ms
            r.speedup = base.p50_ms / r.p50_ms
        r.tflops = flops / sec / 1e12 if flops else None
        r.gbps = nbytes / sec / 1e9 if nbytes else None
        if ceilings is None:
            continue
        compute = flops is not None and (nbytes is None or flops / nbytes >= ceilings.ridge)
        if compute and r.tflops is not None:
            r.bound, r.pct_peak = "compute", 100.0 * r.tflops / ceilings.matmul_tflops
        elif r.gbps is not None:
            r.bound, r.pct_peak = "memory", 100.0 * r.gbps / ceilings.copy_gbs


def write_compare(result: CompareResult, json_path: str | Path) -> list[Path]:
    """Write the result as JSON and a plot (PNG and SVG) beside it; returns the paths written."""
    path = Path(json_path)
    write_json(path, result)
    written = [path]
    try:
        written += plot_compare(result, path.with_suffix(""))
    except Exception as exc:  # a missing plot must not lose the numbers
        print(f"plot not written: {type(exc).__name__}: {exc}")
    return written


def plot_compare(result: CompareResult, stem: Path) -> list[Path]:
    """Bars of p50 time per shape and implementation (log scale); interpreted rows have no bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in result.rows if r.p50_ms]
    labels = list(dict.fromkeys(f"{r.shape} {r.mode}" for r in result.rows))
    impls = list(dict.fromkeys(r.impl for r in timed))
    untimed = sorted({f"{r.impl} ({r.status})" for r in result.rows if r.impl not in impls})
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(labels) * max(1, len(impls)) / 2), 4.5))
    width = 0.8 / max(1, len(impls))
    for i, impl in enumerate(impls):
        xs, ys = [], []
        for j, label in enumerate(labels):
            r = next((r for r in timed if r.impl == impl and f"{r.shape} {r.mode}" == label), None)
            if r is not None:
                xs.append(j + i * width)
                ys.append(r.p50_ms)
        ax.bar(xs, ys, width, label=impl)
    ax.set_xticks([j + width * (len(impls) - 1) / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("p50 time (ms)")
    if timed and max(r.p50_ms for r in timed) / max(min(r.p50_ms for r in timed), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_title(f"{result.op} on {result.device}, {result.dtype}")
    if untimed:
        ax.text(0.01, 0.98, "not timed: " + ", ".join(untimed), transform=ax.transAxes, va="top", fontsize=7)
    if impls:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in out:
        fig.savefig(p)
    plt.close(fig)
    return out
