"""Kernel comparison: every implementation of an op over a shape sweep, with time, TFLOP/s, GB/s and % of peak.

Each row is checked against the baseline implementation run on fp32 copies of the same inputs. The
ceilings (matmul rate in the compare dtype, large-copy bandwidth) are measured in the same run on the same
device, so "% of peak" is relative to what this machine reached, not to a datasheet. GPU timings use CUDA
events with warm-up, an L2 flush before every repeat and the median of many repeats. On the CPU, Triton
kernels only run in the interpreter: their rows are checked for correctness and marked "interpreted".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from benchbench.core.device import available_memory_bytes
from benchbench.core.dtypes import dtype_name
from benchbench.core.env import capture_env
from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.parity import check_outputs
from benchbench.estimate.ceilings import measure_ceilings
from benchbench.estimate.records import Ceilings
from benchbench.kernelbench.records import CompareResult, CompareRow
from benchbench.kernels.registry import KernelImpl, OpSpec, get_op, list_kernels
from benchbench.measure.interleave import interleave
from benchbench.measure.records import LatencyStats
from benchbench.measure.timing import TimingConfig, measure

GPU_TIMING = TimingConfig(warmup=5, min_repeats=30, max_repeats=200, min_time_s=0.2, flush_l2=True)
CPU_TIMING = TimingConfig(warmup=1, min_repeats=6, max_repeats=2000, min_time_s=0.05, max_time_s=0.5)


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


def check_shape_memory(spec: OpSpec, shape: dict, dtype: torch.dtype, device: str) -> None:
    """Refuse, before anything is allocated, a shape whose tensors would not fit: a comparison holds the inputs
    and outputs in `dtype`, their fp32 copies for the reference, and gradients (about 4× the bytes moved)."""
    if spec.bytes_moved is None:
        return
    need, free = 4 * spec.bytes_moved(shape, torch.float32), available_memory_bytes(device)
    if free and need > free:
        raise BadInputError(f"shape {shape_label(shape)} of {spec.name} needs about {need / 2**30:.1f} GiB on {device}, "
                            f"more than the {free / 2**30:.1f} GiB free; give a smaller shape")  # fmt: skip


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


class _Case:
    """One shape's inputs, the fp32 reference outputs (and gradients) and the output gradient for backward."""

    def __init__(self, spec: OpSpec, baseline: KernelImpl, shape: dict, dtype: torch.dtype, device: str,
                 backward: bool) -> None:  # fmt: skip
        self.dtype = dtype
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


def _check_row(impl: KernelImpl, case: _Case, mode: str, timed: bool,
               interpreted: bool) -> tuple[dict[str, Any], Callable[[], Any] | None]:  # fmt: skip
    """Check `impl` on one case against the reference: the row's fields, and the call to time (None if not timed)."""
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

    names = ["output"] + [f"grad of input {i}" for i in range(len(got) - 1)]
    parity = check_outputs(got, case.want, names=names, dtype=dtype_name(case.dtype))
    row: dict[str, Any] = {"max_abs_err": parity.max_abs, "max_rel_err": parity.max_rel, "ok": parity.ok,
                           "note": parity.reason or ""}  # fmt: skip
    if interpreted:
        row["status"] = "interpreted"
        row["note"] = row["note"] or "Triton interpreter: correctness only"
        return row, None
    if not timed:
        row["status"] = "checked"
        return row, None
    row["status"] = "timed"
    return row, call


def _latency_fields(stats: LatencyStats) -> dict[str, Any]:
    return {"p50_ms": stats.p50_ms, "p90_ms": stats.p90_ms, "repeats": stats.n, "ci95_ms": stats.ci95_ms,
            "cv": stats.cv, "stop_reason": stats.stop_reason}  # fmt: skip


def _time_rows(calls: dict[str, Callable[[], Any]], base: str | None, device: str,
               timing: TimingConfig) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Time every checked implementation of one shape together in interleaved rounds (one alone: `measure`).

    Speed-up = reference / implementation (`base`), the median of the rounds' ratios with its 95% CI."""
    if len(calls) == 1:
        ((label, call),) = calls.items()
        fields = _latency_fields(measure(call, device=device, config=timing))
        if label == base:
            fields.update(speedup=1.0, ratio_ci95=[1.0, 1.0])  # the reference against itself, by definition
        return {label: fields}
    ref = base if base in calls else next(iter(calls))
    timed = interleave(calls, device=device, config=timing, ratios=[(ref, x) for x in calls if x != ref])
    out = {label: _latency_fields(timed.stats(label)) for label in calls}
    if base in calls:
        out[base].update(speedup=1.0, ratio_ci95=[1.0, 1.0])
        for label in calls:
            if label != base:
                r = timed.ratio(base, label)
                out[label].update(speedup=r.value, ratio_ci95=r.ci95)
    return out


def _choose_impls(
    spec: OpSpec, impls: list[str] | None, reference: str | None
) -> tuple[list[KernelImpl], KernelImpl]:
    """(the implementations to run, the baseline among them): those named (the baseline added), or all."""
    all_impls = list_kernels(spec.name)
    by_name = {k.name: k for k in all_impls}
    for name in impls or []:
        if name not in by_name:
            raise unknown_name(f"implementation of {spec.name}", name, by_name)
    baseline = next((k for k in all_impls if k.baseline), all_impls[0])
    chosen = [by_name[n] for n in impls] if impls else all_impls
    if baseline not in chosen:
        chosen = [baseline, *chosen]  # correctness needs the baseline, and by default the speed-ups too
    if reference is not None and reference not in {k.name for k in chosen}:
        raise unknown_name(f"reference implementation of {spec.name}", reference, [k.name for k in chosen])
    return chosen, baseline


def _runnable_here(chosen: list[KernelImpl], dev: torch.device) -> tuple[list[KernelImpl], list[str]]:
    """(the implementations that run on `dev`'s type, one note per implementation left out)."""
    off = [k for k in chosen if dev.type not in k.devices]
    notes = [f"{k.name} not run: it runs on {', '.join(k.devices)}" for k in off]
    return [k for k in chosen if k not in off], notes


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
    reference: str | None = None,
    skip: dict[str, str] | None = None,
) -> CompareResult:
    """Time every implementation of `op` (or those named) at every shape; rows past `deadline` are skipped.

    The implementations of a shape are timed together in interleaved rounds; speed-up = reference / row, with its
    95% CI, against `reference` (an implementation among those run; default the baseline). An implementation
    named twice is an A/A comparison: its second row is named `NAME#2`. `time_it=False` only checks each
    implementation against the baseline (status "checked"). `skip` leaves implementations out by name, each with
    the reason its rows then state (status "skipped"): torch.compile on a small CPU, say, is minutes of C++.
    """
    spec = get_op(op)
    chosen, baseline = _choose_impls(spec, impls, reference)
    dev = torch.device(device)
    notes = []
    if not impls:  # the whole registry: leave out what cannot run on this device at all, and say so
        chosen, notes = _runnable_here(chosen, dev)
    timing = timing or (GPU_TIMING if dev.type == "cuda" else CPU_TIMING)
    start = time.perf_counter()
    if ceilings is None and time_it:
        ceilings = measure_ceilings(device, dtype)
    modes = ["fwd", "bwd"] if backward else ["fwd"]
    rows: list[CompareRow] = []
    for shape in shapes or default_shapes(spec, device):
        for mode in modes:
            rows += _compare_shape(spec, chosen, baseline, shape, mode, dev, dtype, timing if time_it else None,
                                   ceilings, deadline, reference, skip or {})  # fmt: skip
    if dev.type == "cpu" and any(r.status == "interpreted" for r in rows):
        notes.append("interpreted: a Triton kernel in the CPU interpreter, checked for correctness only")
    return CompareResult(spec.name, str(dev), dtype_name(dtype), ceilings, rows, capture_env(str(dev)),
                         time.perf_counter() - start, notes)  # fmt: skip


def _unsupported(impl: KernelImpl, spec: OpSpec, case: _Case, mode: str, dev: torch.device,
                 dtype: torch.dtype) -> str | None:  # fmt: skip
    """Why `impl` cannot run this case (device, dtype, no backward, its own check), or None when it can."""
    why = impl.supports(dev.type, dtype)
    if why is None and mode == "bwd" and not impl.backward:
        why = f"{spec.name}/{impl.name} has no backward"
    if why is None and impl.check is not None:
        why = impl.check(*case.args, **case.kwargs)
    return why


def _not_run(impl: KernelImpl, baseline: bool, skip: dict[str, str] | None, spec: OpSpec, case: _Case, mode: str,
             dev: torch.device, dtype: torch.dtype) -> tuple[str, str] | None:  # fmt: skip
    """(status, note) of a row that is not run: "skipped" when `skip` leaves `impl` out (never the baseline, which
    every check needs), "unsupported" when it cannot take the case; None when it runs."""
    if skip and impl.name in skip and not baseline:
        return "skipped", f"left out: {skip[impl.name]}"
    why = _unsupported(impl, spec, case, mode, dev, dtype)
    return None if why is None else ("unsupported", why)


def _add_timings(rows: list[CompareRow], calls: dict[str, Callable[[], Any]], ref_name: str | None, device: str,
                 timing: TimingConfig) -> None:  # fmt: skip
    """Time the checked calls together and copy the figures onto their rows; a timing failure marks them error."""
    try:
        timed = _time_rows(calls, ref_name, device, timing)
    except Exception as exc:  # a call that fails only when repeated: its shape's rows say so
        timed = {}
        for r in rows:
            if r.impl in calls:
                r.status, r.note = "error", f"timing: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    for r in rows:
        for key, value in timed.get(r.impl, {}).items():
            setattr(r, key, value)


def _compare_shape(
    spec, chosen, baseline, shape, mode, dev, dtype, timing, ceilings, deadline, reference=None, skip=None
) -> list[CompareRow]:
    """One row per implementation at one shape and mode: checked against the baseline, then timed together."""
    label = shape_label(shape)
    params = {k: v for k, v in shape.items() if k != "set"}
    names = _row_names(chosen)
    base_name = next((n for k, n in zip(chosen, names) if k is baseline), None)
    ref_name = reference or base_name  # what the speed-ups are against

    def row(impl: KernelImpl, name: str, status: str, **kw: Any) -> CompareRow:
        return CompareRow(spec.name, name, name == base_name, str(dev), dtype_name(dtype), label, mode, status,
                          reference=ref_name, params=params, **kw)  # fmt: skip

    if deadline is not None and time.monotonic() > deadline:
        return [row(k, n, "skipped", note="time budget spent") for k, n in zip(chosen, names)]
    try:
        case = _Case(spec, baseline, shape, dtype, str(dev), backward=mode == "bwd")
    except Exception as exc:  # the reference itself failed (e.g. out of memory): every row says so
        return [
            row(k, n, "error", note=f"reference: {type(exc).__name__}: {exc}") for k, n in zip(chosen, names)
        ]
    rows: list[CompareRow] = []
    calls: dict[str, Callable[[], Any]] = {}
    for impl, name in zip(chosen, names):
        if deadline is not None and time.monotonic() > deadline:
            rows.append(row(impl, name, "skipped", note="time budget spent"))
            continue
        not_run = _not_run(impl, impl is baseline, skip, spec, case, mode, dev, dtype)
        if not_run is not None:
            rows.append(row(impl, name, not_run[0], note=not_run[1]))
            continue
        interpreted = dev.type == "cpu" and impl.interpreted_on_cpu
        try:
            result, call = _check_row(impl, case, mode, timing is not None, interpreted)
        except Exception as exc:  # one failing implementation is a row, not a crash
            rows.append(
                row(impl, name, "error", note=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            )
            continue
        rows.append(row(impl, name, result.pop("status"), **result))
        if call is not None:
            calls[name] = call
    if calls and timing is not None:
        _add_timings(rows, calls, ref_name, str(dev), timing)
    _fill_rates(spec, rows, shape, mode, dtype, ceilings)
    return rows


def _row_names(chosen: list[KernelImpl]) -> list[str]:
    """Row names: an implementation named twice (an A/A comparison) gets '#2', '#3' on its later rows."""
    seen: dict[str, int] = {}
    names = []
    for k in chosen:
        seen[k.name] = seen.get(k.name, 0) + 1
        names.append(k.name if seen[k.name] == 1 else f"{k.name}#{seen[k.name]}")
    return names


def _fill_rates(spec: OpSpec, rows: list[CompareRow], shape: dict, mode: str, dtype: torch.dtype,
                ceilings: Ceilings | None) -> None:  # fmt: skip
    """The reference's p50, TFLOP/s, GB/s and % of the bound resource's measured ceiling."""
    base = next((r for r in rows if r.impl == r.reference and r.p50_ms), None)
    flops_fn = spec.flops if mode == "fwd" else spec.backward_flops
    flops = flops_fn(shape) if flops_fn else None
    bytes_fn = spec.bytes_moved if mode == "fwd" else spec.backward_bytes_moved  # each op's own derivation
    nbytes = bytes_fn(shape, dtype) if bytes_fn else None
    for r in rows:
        if not r.p50_ms:
            continue
        sec = r.p50_ms * 1e-3
        if base is not None:
            r.baseline_p50_ms = base.p50_ms  # the speed-up and its CI come from the interleaved rounds
        r.tflops = flops / sec / 1e12 if flops else None
        r.gbps = nbytes / sec / 1e9 if nbytes else None
        if ceilings is None:
            continue
        compute = flops is not None and (nbytes is None or flops / nbytes >= ceilings.ridge)
        if compute and r.tflops is not None:
            r.bound, r.pct_peak = "compute", 100.0 * r.tflops / ceilings.matmul_tflops
        elif r.gbps is not None:
            r.bound, r.pct_peak = "memory", 100.0 * r.gbps / ceilings.copy_gbs
