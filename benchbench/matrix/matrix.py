"""Build the deployment matrix of one model: every runtime × precision asked for, each built, checked against
eager fp32 (parity on the first draw, a quality proxy over every draw), timed against eager fp32 in
interleaved rounds, and weighed (artifact bytes, peak memory, build seconds).

A row's verdict: `skipped` (the runtime is not installed here, is opt-in, or the precision does not apply: the
reason says which), `not-ready` (building failed, calling failed, or its outputs fail parity at the rule of its
precision; the blocking ops or lines by name), `ready-with-warnings` (it runs, but: graph breaks, loose or
inconclusive parity, little of the model quantized, ...) or `ready`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchbench.core.errors import BadInputError, one_line, unknown_name
from benchbench.core.parity import check_outputs, inconclusive_reasons
from benchbench.core.results import Tolerance
from benchbench.deploy.export import output_leaves
from benchbench.deploy.quantize import QUANT_REL_TOL
from benchbench.matrix import executorch_path, onnx_paths, torch_paths  # noqa: F401 (they register runtimes)
from benchbench.matrix.quality import EvalFn, as_model, choose_proxy, quality_delta, user_quality
from benchbench.matrix.records import DeployMatrix, MatrixRow
from benchbench.matrix.runtimes import PRECISIONS, RUNTIMES, BuildContext, NotReady, Skipped, Variant
from benchbench.measure.interleave import interleave
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import Target

INT4_REL_TOL = 0.25  # ‖int4 − fp32‖/‖fp32‖: 4-bit weights round about 16× coarser than 8-bit ones
DRAW_SEED = 2000  # draw i is made from seed DRAW_SEED + i; calibration draws from CALIBRATION_SEED + i
CALIBRATION_SEED = 3000
CLI_TIMING = TimingConfig(warmup=2, min_repeats=10, max_repeats=400, min_time_s=0.1, max_time_s=0.6)
STAGE_TIMING = TimingConfig(warmup=1, min_repeats=5, max_repeats=100, min_time_s=0.03, max_time_s=0.15)


# The order rows are listed in: eager first (the reference), then torch's own paths, then the ONNX ones.
ORDER = ("eager", "compile", "export", "export-strict", "aoti", "ort", "openvino", "executorch")
RUNTIME_NAMES = tuple(sorted(RUNTIMES, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)))


@dataclass
class MatrixConfig:
    """What to build and how to measure it."""

    runtimes: tuple[str, ...] = RUNTIME_NAMES
    precisions: tuple[str, ...] = PRECISIONS
    named_runtimes: tuple[str, ...] = ()  # runtimes the user named: opt-in ones are built only when named
    all_cells: bool = False  # also rows for precisions a runtime does not have (skipped, with the reason)
    batch_size: int = 4
    samples: int = 8
    threads: int | None = None
    timing: TimingConfig = field(default_factory=lambda: CLI_TIMING)
    max_quality_drop: float | None = None
    eval_fn: EvalFn | None = None
    eval_name: str | None = None
    calibration: int = 4
    onnx: tuple[str, float, str] | None = None  # (path, export seconds, exporter) of an fp32 export to reuse


def parse_list(text: str, kind: str, allowed: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'eager,ort' → ('eager', 'ort'); an unknown name is one BadInputError listing what is allowed."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise BadInputError(f"no {kind} given; allowed: {', '.join(allowed)}")
    for n in names:
        if n not in allowed:
            raise unknown_name(kind, n, allowed)
    return tuple(dict.fromkeys(names))


def parity_rule(precision: str) -> tuple[str | None, Tolerance | None, str]:
    """(dtype whose tolerance table applies, explicit tolerance, the rule in words) for a precision."""
    if precision in ("fp16", "bf16"):
        dtype = {"fp16": "float16", "bf16": "bfloat16"}[precision]
        return dtype, None, f"‖{precision} − eager fp32‖/‖eager fp32‖ at the {dtype} tolerance"
    if precision.startswith("int8"):
        return None, Tolerance(rel=QUANT_REL_TOL), f"‖int8 − eager fp32‖/‖eager fp32‖ <= {QUANT_REL_TOL:g}"
    if precision.startswith("int4"):
        return None, Tolerance(rel=INT4_REL_TOL), f"‖int4 − eager fp32‖/‖eager fp32‖ <= {INT4_REL_TOL:g}"
    return "float32", None, "‖got − eager fp32‖/‖eager fp32‖ at the float32 tolerance"


def draw(target: Target, batch_size: int, seed: int) -> tuple:
    """Inputs made the way the example inputs are, from another seed."""
    if target.spec is not None:
        return target.spec.example_inputs(target.size, batch_size, target.seq_len, seed=seed)
    if target.input_maker is None:
        if batch_size != target.batch_size:
            raise BadInputError(f"model {target.name!r} gives inputs at batch {target.batch_size} only; "
                                f"use --batch-size {target.batch_size}")  # fmt: skip
        return target.inputs
    torch.manual_seed(seed)
    return target.input_maker(batch_size, target.seq_len)


@dataclass
class _Reference:
    draws: list[tuple]
    outputs: list[list[torch.Tensor]]
    proxy: str
    user_value: float | None
    eager_ms: list[float] = field(default_factory=list)


def _cells(cfg: MatrixConfig) -> list[tuple[str, str, bool]]:
    """(runtime, precision, applies) in the order asked."""
    return [(r, p, p in RUNTIMES[r].precisions) for r in cfg.runtimes for p in cfg.precisions
            if cfg.all_cells or p in RUNTIMES[r].precisions]  # fmt: skip


def run_matrix(target: Target, work_dir: str | Path, config: MatrixConfig | None = None) -> DeployMatrix:
    """The deployment matrix of `target`; model failures become rows, never exceptions."""
    cfg = config or MatrixConfig()
    threads = cfg.threads or torch.get_num_threads()
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        out = DeployMatrix(target.name, target.size, cfg.batch_size, threads, cfg.samples,
                           max_quality_drop=cfg.max_quality_drop, eval_fn=cfg.eval_name)  # fmt: skip
        ref = _reference(target, cfg)
        out.quality_proxy = "user metric" if cfg.eval_fn else ref.proxy
        ctx = BuildContext(target, ref.draws[0],
                           [draw(target, cfg.batch_size, CALIBRATION_SEED + i) for i in range(cfg.calibration)],
                           Path(work_dir), threads, cfg.named_runtimes)  # fmt: skip
        ctx.work_dir.mkdir(parents=True, exist_ok=True)
        if cfg.onnx is not None:
            onnx_paths.reuse_onnx(ctx, *cfg.onnx)
        eager = _eager_call(target)
        for runtime, precision, applies in _cells(cfg):
            if not applies:
                out.rows.append(MatrixRow(runtime, precision, "skipped", reason=f"{precision} does not apply to "
                                          f"{runtime} (it has {', '.join(RUNTIMES[runtime].precisions)})"))  # fmt: skip
                continue
            out.rows.append(_row(ctx, runtime, precision, ref, eager, cfg))
        _reference_row_latency(out, ref)
    finally:
        torch.set_num_threads(saved_threads)
    out.stage_s = time.perf_counter() - start
    return out


def _eager_call(target: Target) -> Callable[[tuple], list[torch.Tensor]]:
    model = target.model.eval()

    def call(inputs: tuple) -> list[torch.Tensor]:
        with torch.inference_mode():
            return [o.detach() for o in output_leaves(model(*inputs))]

    return call


def _reference(target: Target, cfg: MatrixConfig) -> _Reference:
    draws = [draw(target, cfg.batch_size, DRAW_SEED + i) for i in range(cfg.samples)]
    eager = _eager_call(target)
    outputs = [eager(x) for x in draws]
    user = float(cfg.eval_fn(as_model(eager))) if cfg.eval_fn else None
    return _Reference(draws, outputs, choose_proxy(draws[0], outputs[0], target.task), user)


def _row(ctx: BuildContext, runtime: str, precision: str, ref: _Reference, eager: Callable,
         cfg: MatrixConfig) -> MatrixRow:  # fmt: skip
    row = MatrixRow(runtime, precision, "ready")
    try:
        variant = RUNTIMES[runtime].build(ctx, precision)
    except Skipped as exc:
        row.verdict, row.reason = "skipped", str(exc)
        return row
    except NotReady as exc:
        row.verdict, row.reason, row.blockers = "not-ready", str(exc), exc.blockers
        return row
    except Exception as exc:  # a builder's failure on this model is the row's, not the matrix's
        row.verdict, row.reason = "not-ready", f"building failed: {one_line(exc)}"
        return row
    row.build_s, row.artifact_bytes = variant.build_s, variant.artifact_bytes
    row.warnings, row.notes = list(variant.warnings), list(variant.notes)
    row.graph_breaks = variant.graph_breaks
    try:
        _measure(row, variant, ref, eager, cfg)
    except Exception as exc:
        row.verdict, row.reason = "not-ready", f"running failed: {one_line(exc)}"
        return row
    if variant.recompiles is not None:
        row.recompiles = variant.recompiles()
    _judge(row, cfg)
    return row


def _measure(row: MatrixRow, variant: Variant, ref: _Reference, eager: Callable, cfg: MatrixConfig) -> None:
    row.peak_bytes, row.peak_kind = _peak(variant, ref.draws[0])
    gots = [variant.call(x) for x in ref.draws]
    dtype, tol, row.parity_rule = parity_rule(row.precision)
    row.parity = check_outputs(gots[0], ref.outputs[0], dtype=dtype, tol=tol)
    if cfg.eval_fn is not None:
        row.quality = user_quality(cfg.eval_fn, ref.user_value, variant.call)
    else:
        row.quality = quality_delta(ref.proxy, ref.draws, ref.outputs, gots)
    if row.runtime == "eager" and row.precision == "fp32":
        row.latency_ratio, row.notes = 1.0, [*row.notes, "the reference: every ratio is against this row"]
        return
    x = ref.draws[0]
    timed = interleave({"variant": lambda: variant.call(x), "eager": lambda: eager(x)}, config=cfg.timing,
                       ratios=[("variant", "eager")])  # fmt: skip
    ratio = timed.ratio("variant", "eager")
    row.latency_ratio, row.latency_ratio_ci95, row.rounds = ratio.value, ratio.ci95, timed.rounds
    row.latency_p50_ms = timed.stats("variant", cfg.batch_size).p50_ms
    ref.eager_ms.append(timed.stats("eager", cfg.batch_size).p50_ms)


def _judge(row: MatrixRow, cfg: MatrixConfig) -> None:
    parity = row.parity
    if parity is not None and parity.verdict == "fail":
        row.verdict, row.reason = "not-ready", f"outputs differ from eager fp32: {parity.reason}"
    elif parity is not None and parity.verdict == "loose":
        row.warnings.append("parity only within the loose tolerance")
    elif parity is not None and parity.verdict == "inconclusive":
        row.warnings.append("parity inconclusive: " + "; ".join(inconclusive_reasons(parity)))
    if cfg.max_quality_drop is not None and row.quality is not None:
        row.over_budget = row.quality.drop > cfg.max_quality_drop
        if row.over_budget:
            row.warnings.append(f"quality drop {row.quality.drop:.3g} ({row.quality.proxy}) is over the budget "
                                f"max_quality_drop {cfg.max_quality_drop:g}")  # fmt: skip
    if row.verdict == "ready" and row.warnings:
        row.verdict = "ready-with-warnings"


def _reference_row_latency(out: DeployMatrix, ref: _Reference) -> None:
    row = out.row("eager", "fp32")
    if row is not None and ref.eager_ms:
        row.latency_p50_ms = sorted(ref.eager_ms)[len(ref.eager_ms) // 2]


def _peak(variant: Variant, inputs: tuple) -> tuple[int | None, str | None]:
    """Peak bytes of one call: live torch tensors where the variant is a torch module (a lower bound: weights,
    inputs and activations), else the growth of the process's peak resident set over the call."""
    if variant.module is not None:
        from benchbench.measure.memory import peak_bytes_inference

        with contextlib.suppress(Exception):
            return peak_bytes_inference(
                variant.module, _module_inputs(variant.module, inputs)
            ), "live tensors"
    before = _reset_peak_rss()
    variant.call(inputs)
    after = _status_bytes("VmHWM")
    if before is None or after is None:
        return None, None
    return max(0, after - before), "rss growth"


def _module_inputs(module: torch.nn.Module, inputs: tuple) -> tuple:
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    if dtype in (torch.float16, torch.bfloat16):
        from benchbench.matrix.runtimes import cast_inputs

        return cast_inputs(inputs, dtype)
    return inputs


def _status_bytes(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> int | None:
    """Reset the process's peak resident set to the current one (Linux: clear_refs 5); the current bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_bytes("VmRSS")
