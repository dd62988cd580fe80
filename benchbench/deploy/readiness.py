"""Deployment readiness: export → check → ORT session → parity → latency → int8, and a verdict per model.

The verdict is `ready` (dynamo export, strict parity at every probed shape), `ready-with-warnings`
(it works, but: parity only at the loose tolerance, the TorchScript fallback produced the file, an
input was dropped, shape inference failed, ...) or `not-ready` (a stage failed; the stage, the
exception's essential line and a hint are recorded). The int8 variant is informational: its failure
or loose parity is noted but does not change the verdict. Also the run stage `export`.

The result is a `benchbench.core.results.Readiness` (`result.export` of a profile, and the "export" key of
`benchbench export --json`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchbench.core.errors import chain_text, one_line
from benchbench.core.forward import to_device
from benchbench.core.parity import REINIT_RULE, inconclusive_reasons, reinitialised, with_remedy
from benchbench.core.results import Parity
from benchbench.deploy.declared_shapes import declare_symbolic, stale_output_axes, unrolled_loop
from benchbench.deploy.export import (
    ExportError,
    changed_output_axes,
    default_input_names,
    export_onnx,
    infer_dynamic_axes,
    infer_output_axes,
    other_seq_len,
)
from benchbench.deploy.fixed_axes import varied_fixed_axes
from benchbench.deploy.graph_inputs import GraphLayout, graph_layout, probe_counts
from benchbench.deploy.ort_check import (
    latency_pair,
    make_session,
    node_counts,
    ort_feed,
    parity,
    providers_for,
)
from benchbench.deploy.quantize import int8_parity, int8_variant
from benchbench.deploy.records import QuantizedVariant, Readiness
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import Target

VERDICTS = ("ready", "ready-with-warnings", "not-ready")

# The run stage times briefly (about 25 models run it on a 2-core CPU): at most 0.2 s of interleaved rounds
# for ORT/eager and 0.2 s for int8/fp32/eager per model, less once the ratios' CIs are 5% wide.
STAGE_TIMING = TimingConfig(warmup=1, min_repeats=5, max_repeats=200, min_time_s=0.05, max_time_s=0.2)
CLI_TIMING = TimingConfig(warmup=3, min_repeats=10, max_repeats=1000, min_time_s=0.2, max_time_s=1.5)


@dataclass(frozen=True)
class ReadinessConfig:
    """How to check: export batch (>= 2, size-1 dims get specialised), probe batches, timing, int8, exporter."""

    export_batch_size: int = 2
    probe_batch_sizes: tuple[int, ...] = (1, 5)
    latency_batch_size: int | None = None  # None: the target's batch size
    timing: TimingConfig = field(default_factory=lambda: STAGE_TIMING)
    quantize: bool = True
    quantize_static: bool = True  # also the static QDQ per-channel variant (covers convolutions)
    exporter: str = "auto"  # "auto" (dynamo, else TorchScript), "dynamo", "torchscript"
    opset: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.export_batch_size < 2:
            raise ValueError(
                f"export batch size must be >= 2 (a size-1 dim gets specialised), got {self.export_batch_size}"
            )
        if self.export_batch_size in self.probe_batch_sizes:
            raise ValueError(f"probe batch sizes {self.probe_batch_sizes} must differ from the export batch")


# (pattern over the error text, hint). The first match wins.
HINTS: tuple[tuple[str, str], ...] = (
    (
        r"Cache'> in output|unsupported type: \w*Cache|Cache\b.*register a pytree",
        "the outputs hold a key/value cache object (e.g. transformers' DynamicCache) that the exporter cannot "
        "flatten: call the model with use_cache=False (hf: targets do) or return plain tensors",
    ),
    (
        r"GuardOnDataDependentSymNode|data.dependent|Could not guard on data-dependent|Could not extract specialized integer",
        "a data-dependent shape or branch (e.g. .item(), nonzero, boolean-mask indexing, a Python `if` on a tensor): "
        "compute shapes from input sizes, or use torch.cond / torch._check to bound the value",
    ),
    (
        r"Constraints violated|specialized|specialised|Not all values of .* satisfy",
        "a dynamic axis was fixed by the code (shape arithmetic, a size-1 dim, or a max length): "
        "export with another batch/sequence size or make the shape computation symbolic",
    ),
    (
        r"[Uu]nsupported|No decomposition|not (yet )?supported|DispatchError|has no (ONNX )?translation|OnnxExporterError.*aten",
        "an operator has no ONNX translation in this exporter: replace it with supported ops, register a "
        "custom_translation_table entry, or raise the opset",
    ),
    (
        r"NOT_IMPLEMENTED|Could not find an implementation",
        "ONNX Runtime has no kernel for this op and type on this provider: change the dtype or op, or pick another opset",
    ),
    (
        r"ShapeInferenceError|\[ShapeInferenceError\]|Type Error|type.*mismatch",
        "the exported graph is inconsistent (shape or type): try the other exporter or another opset",
    ),
    (
        r"outputs, eager PyTorch|shape \(.*\) != |Got invalid dimensions|broadcast an axis by a dimension other than 1",
        "ONNX Runtime gives outputs of another count or shape than PyTorch: an axis was likely specialised at export",
    ),
)
_OP_PATTERN = re.compile(
    r"OpOverload\(op='([^']+)'"  # the dynamo exporter's DispatchError
    r"|\b((?:aten|prims|[a-z][a-z0-9_]*)::[A-Za-z_][A-Za-z_0-9.]*)"  # TorchScript and ORT messages
    r"|\b(torch\.ops\.[A-Za-z_0-9]+\.[A-Za-z_0-9.]+|aten\.[A-Za-z_0-9]+(?:\.[A-Za-z_0-9]+)?)"
)


def hint_for(text: str) -> str | None:
    for pattern, hint in HINTS:
        if re.search(pattern, text):
            return hint
    return None


def failing_op(text: str) -> str | None:
    m = _OP_PATTERN.search(text)
    if m is None:
        return None
    return next(g for g in m.groups() if g).rstrip(".")


class _StageError(Exception):
    def __init__(self, stage: str, exc: BaseException) -> None:
        super().__init__(stage)
        self.stage, self.exc = stage, exc


def _stage(name: str, fn):
    try:
        return fn()
    except Exception as exc:
        raise _StageError(name, exc) from exc


def _full_text(exc: BaseException) -> str:
    if isinstance(exc, ExportError):  # dynamo's reason first: it is the exporter we prefer
        return _full_text(exc.dynamo_exc) + "\n" + _full_text(exc.torchscript_exc)
    return chain_text(exc)


def check_readiness(target: Target, out_dir: str | Path, config: ReadinessConfig | None = None) -> Readiness:
    """Export `target` to `out_dir` and check it in ORT; never raises for a model failure (see module doc)."""
    cfg = config or ReadinessConfig()
    out = Readiness()
    try:
        _check(target, Path(out_dir), cfg, out)
    except _StageError as err:
        _record_failure(err, target, cfg, out)
        return out
    out.warnings += _warnings(out)
    out.verdict = "ready-with-warnings" if out.warnings else "ready"
    return out


def _record_failure(err: _StageError, target: Target, cfg: ReadinessConfig, out: Readiness) -> None:
    """`not-ready`: the stage that failed, its error's essential line, the failing op and a hint."""
    text = _full_text(err.exc)
    out.verdict, out.stage_failed, out.error = "not-ready", err.stage, one_line(err.exc)
    out.hint, out.failing_op = hint_for(text), failing_op(text)
    if out.specialised_axes and err.stage == "parity":
        out.hint = _specialised_hint(target, cfg, out.specialised_axes)
    if isinstance(err.exc, ExportError):
        out.fallback_reason = one_line(err.exc.dynamo_exc)


def _specialised_hint(target: Target, cfg: ReadinessConfig, axes: list[str]) -> str:
    loop = _unrolled(target, cfg)
    if loop is None:
        return (f"axes {axes} were specialised (fixed) at export though they vary with the batch "
                "or sequence length: find the shape the code turns into a Python int or constant")  # fmt: skip
    return (f"a Python loop over the sequence was unrolled at export: the traced graph has {loop[0]} ops "
            f"at length {loop[2]} and {loop[1]} at length {loop[3]}, so axes {axes} are "
            "fixed; write the recurrence as a scan (torch._higher_order_ops.scan, as models/mamba.py "
            "does while exporting) or a fused op that export keeps symbolic")  # fmt: skip


def _warnings(out: Readiness) -> list[str]:
    """What makes a working export `ready-with-warnings` rather than `ready`."""
    found = []
    if out.exporter != "dynamo":
        found.append(f"produced by the TorchScript fallback exporter (dynamo failed: {out.fallback_reason})")
    if "Draft" in (out.capture_strategy or ""):
        found.append("captured with torch.export.draft_export, which may be unsound where export failed")
    if out.specialised_axes:
        found.append(f"axes fixed in the file though they vary with batch/sequence: {out.specialised_axes}")
    if out.dropped_inputs:
        found.append(f"inputs unused by the graph were dropped: {out.dropped_inputs}")
    found += _parity_warnings(out.parity)
    if out.shape_inference_ok is False:
        found.append("ONNX strict shape inference failed")
    return found


def _parity_warnings(p: Parity | None) -> list[str]:
    if p is None or p.ok:
        return []
    found = []
    loose = [o.name for o in p.outputs if o.verdict == "loose"]
    if loose:
        found.append(f"parity only within the loose tolerance on {loose}")
    if p.verdict == "inconclusive":
        found.append("parity inconclusive, no verdict could be given: " + "; ".join(inconclusive_reasons(p)))
    return found


@dataclass
class _Plan:
    """What to export at, what to check at and what to time: by batch size, or by graph for a graph batch."""

    axes: dict[str, dict[int, str]]
    export_inputs: tuple
    out_axes: dict[int, list[int]]
    cases: list[tuple[dict, tuple]]
    lat_inputs: tuple
    lat_bs: int
    unit: str = "batch"
    graph: GraphLayout | None = None
    export_batch: int | None = None  # None for a graph batch


def _plan_for(target: Target, cfg: ReadinessConfig, model: torch.nn.Module, names: list[str], dev) -> _Plan:
    """A graph batch, a factory's inputs at one batch (fixed batch axis), or inputs made at any batch."""
    layout = graph_layout(target.inputs) if target.spec is None else None  # the zoo's GNNs batch whole graphs
    if layout is not None:
        return _graph_plan(layout, model, names, dev)
    if target.fixed_batch is not None or target.input_maker is None:
        return _fixed_plan(target, model, names, dev)
    return _batch_plan(target, cfg, model, names, dev)


def _fixed_plan(target: Target, model: torch.nn.Module, names: list[str], dev) -> _Plan:
    """A factory's inputs at one batch: exported, checked and timed at that batch, every axis fixed. (Repeating
    the inputs to vary the batch would guess the batch axis; a wrong guess would make a wrong file.)"""
    inputs = to_device(target.inputs, dev)
    batch = target.batch_size
    return _Plan({}, inputs, {}, [({"batch_size": batch}, inputs)], inputs, batch, export_batch=batch)


def _batch_plan(target: Target, cfg: ReadinessConfig, model: torch.nn.Module, names: list[str], dev) -> _Plan:
    def make(bs: int, sl: int | None) -> tuple:
        return to_device(target.input_maker(bs, sl), dev)

    seq = target.seq_len
    axes = _stage("inputs", lambda: infer_dynamic_axes(make, names, cfg.export_batch_size, seq))
    export_inputs = _stage("inputs", lambda: make(cfg.export_batch_size, seq))
    out_axes = _stage("inputs", lambda: infer_output_axes(model, make, cfg.export_batch_size, seq))
    # Fresh inputs (another seed) at batch sizes never seen at export, and another sequence length.
    seqs = [seq, other_seq_len(seq)] if seq is not None else [None, None]
    cases = []
    for i, bs in enumerate(cfg.probe_batch_sizes):
        sl = seqs[i % 2]
        cases.append(
            ({"batch_size": bs, "seq_len": sl}, _stage("inputs", lambda bs=bs, sl=sl: _fresh(target, bs, sl)))
        )
    lat_bs = cfg.latency_batch_size or target.batch_size
    lat_inputs = _stage("inputs", lambda: _fresh(target, lat_bs, seq))
    return _Plan(axes, export_inputs, out_axes, cases, lat_inputs, lat_bs, export_batch=cfg.export_batch_size)


def _graph_plan(layout: GraphLayout, model: torch.nn.Module, names: list[str], dev) -> _Plan:
    """A graph batch: node and edge axes dynamic, checked at two other node counts, timed per example graph."""
    probes = probe_counts(layout)

    def graph(nodes: int, edges: int, seed: int) -> tuple:
        return to_device(layout.make(nodes, edges, seed), dev)

    cases = [({"nodes": n, "edges": e}, graph(n, e, 1000 + i)) for i, (n, e) in enumerate(probes)]
    out_axes = _stage("inputs", lambda: changed_output_axes(model, [layout.inputs] + [c[1] for c in cases]))
    example = to_device(layout.inputs, dev)
    return _Plan(layout.dynamic_axes(names), example, out_axes, cases, example, 1, layout.unit, layout)


def _check(target: Target, out_dir: Path, cfg: ReadinessConfig, out: Readiness) -> None:
    """The stages in order; each records on `out` and raises `_StageError` to stop."""
    model = target.model.eval()
    dev = next((p.device for p in model.parameters()), torch.device("cpu"))  # a run may have moved it
    names = default_input_names(target.input_names, len(target.inputs))
    plan = _plan_for(target, cfg, model, names, dev)
    path, info = _export(target, out_dir, cfg, model, names, plan, out)
    _axis_notes(target, model, names, plan, out)
    session, providers = _session(path, cfg, out)
    reinit = _Reinit(model, plan, path, names, cfg, target, info.exporter, providers)
    _parity(session, model, names, plan, reinit, out)
    _stale_axes(session, names, plan, path, out)
    _latency(session, model, names, plan, cfg, dev, out)
    if cfg.quantize:
        _quantized(path, model, names, plan, session, dev, cfg, providers, reinit, out)


def _export(target: Target, out_dir: Path, cfg: ReadinessConfig, model, names, plan: _Plan, out: Readiness):
    """Export the file and record what the exporter did; the file's path and the export's record."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{_safe(target.name)}_{target.size}.onnx"
    torch.manual_seed(0)
    info = _stage("export", lambda: export_onnx(model, plan.export_inputs, path, input_names=names, dynamic_axes=plan.axes,
                                                output_axes=plan.out_axes, opset=cfg.opset, exporter=cfg.exporter,
                                                output_names=target.output_names))  # fmt: skip
    out.exporter, out.capture_strategy, out.fallback_reason = (
        info.exporter,
        info.capture_strategy,
        info.fallback_reason,
    )
    out.export_s, out.opset, out.file, out.file_bytes = info.export_s, info.opset, info.path, info.file_bytes
    out.external_data, out.shape_inference_ok = info.external_data, info.shape_inference_ok
    out.dynamic_axes = {k: {str(a): n for a, n in v.items()} for k, v in info.dynamic_axes.items()}
    out.specialised_axes, out.dropped_inputs = info.specialised_axes, info.dropped_inputs
    out.none_inputs = info.none_inputs
    if info.none_inputs:
        out.notes.append(
            f"optional inputs given as None were kept in place and are not graph inputs: {info.none_inputs}"
        )
    out.export_batch_size, out.seq_len = plan.export_batch, target.seq_len
    out.node_counts = node_counts(path)
    return path, info


def _axis_notes(target: Target, model, names: list[str], plan: _Plan, out: Readiness) -> None:
    """Say which axes the file keeps fixed where the model varies them, and how they were chosen."""
    if plan.graph is not None:
        out.graph = {"nodes": plan.graph.nodes, "edges": plan.graph.edges}
        out.notes.append(f"a graph batch: exported with node and edge axes {plan.axes}, checked at "
                         f"{[c[0] for c in plan.cases]}, timed per {plan.unit}")  # fmt: skip
        return
    if not plan.axes:
        out.warnings.append(
            f"batch axis fixed at {plan.export_batch} in the file: the factory gives its inputs at one batch size; "
            "for a dynamic batch axis, give the model an example_inputs(batch_size) method (or a factory taking "
            "batch_size)"
        )
    if target.spec is None and target.seq_len is None:
        varied = _stage("inputs", lambda: varied_fixed_axes(model, plan.export_inputs, names, plan.axes))
        if varied:
            out.warnings.append(f"axes fixed in the file at the example's size though the model runs at other sizes "
                                f"on them: {varied}; give the length with --seq-len (a factory taking seq_len) to "
                                "export them dynamic")  # fmt: skip


def _session(path: Path, cfg: ReadinessConfig, out: Readiness):
    """The ORT session the checks run on (its optimized graph saved beside the file); and its providers."""
    providers = providers_for(cfg.device)
    optimized = path.with_name(path.stem + ".opt.onnx")
    session, created_s = _stage("session", lambda: make_session(path, providers, optimized_path=optimized))
    out.providers, out.session_s, out.optimized_file = session.get_providers(), created_s, str(optimized)
    if optimized.exists():
        out.optimized_node_counts = node_counts(optimized)
    return session, providers


def _parity(session, model, names: list[str], plan: _Plan, reinit: _Reinit, out: Readiness) -> None:
    """ORT against eager on the plan's cases (again at a non-degenerate scale if inconclusive); a fail stops."""
    out.parity = _stage("parity", lambda: parity(session, model, names, plan.cases))
    if (
        out.parity.verdict == "inconclusive"
    ):  # outputs too small or flat to judge: change the scale, check again
        out.parity = _stage("parity", lambda: reinit.parity(out.parity))
        out.notes.append(f"parity at the model's own weights was inconclusive ({'; '.join(out.parity.inconclusive_before)}); "
                         f"{out.parity.remedy}: verdict {out.parity.verdict}")  # fmt: skip
    if out.parity.verdict == "fail":
        bad = next((o for o in out.parity.outputs if o.verdict == "fail"), None)
        where = f" at {bad.case}" if bad is not None and bad.case else ""
        raise _StageError(
            "parity", AssertionError(f"outside the loose tolerance: {out.parity.reason}{where}")
        )


def _stale_axes(session, names: list[str], plan: _Plan, path: Path, out: Readiness) -> None:
    """Output axes declared fixed though ONNX Runtime computes them: rewritten as symbols in the file."""
    stale = _stage("parity", lambda: stale_output_axes(session, names, out.specialised_axes, plan.cases))
    if not stale:
        return
    _stage("export", lambda: declare_symbolic(path, stale))
    gone = {s.entry for s in stale}
    out.specialised_axes = [a for a in out.specialised_axes if a not in gone]
    out.notes.append(
        "output axes declared fixed by the exporter though the graph computes them (ONNX Runtime returned "
        + ", ".join(f"{s.output}[{s.axis}]={s.seen} at {s.case}" for s in stale)
        + "); rewritten as symbols in the file. The exporter writes output types from its traced shapes, and "
        "a shape function fixed these (torch's aten.lstm steps through the sequence)"
    )


def _latency(
    session, model, names: list[str], plan: _Plan, cfg: ReadinessConfig, dev, out: Readiness
) -> None:
    """ORT and eager in interleaved rounds on the plan's latency inputs: the ratio with its CI."""
    timed = _stage("latency", lambda: latency_pair(session, model, names, plan.lat_inputs,
                                                   batch_size=plan.lat_bs, config=cfg.timing, device=dev))  # fmt: skip
    out.ort_latency, out.eager_latency, out.ratio = timed.ort, timed.eager, timed.ratio
    out.ratio_ci95, out.ratio_rounds = timed.ratio_ci95, timed.rounds
    out.latency_batch_size, out.threads, out.latency_unit = plan.lat_bs, timed.threads, plan.unit
    out.arm_threads = timed.arm_threads or {}


def _quantized(path, model, names, plan: _Plan, session, dev, cfg, providers, reinit, out: Readiness) -> None:
    """The int8 variants (informational: they never change the verdict)."""
    feeds = [
        ort_feed(session, names, inputs) for _, inputs in plan.cases
    ]  # calibration: not the timed inputs
    for method in ("dynamic", "static") if cfg.quantize_static else ("dynamic",):
        q = _int8(method, path, model, names, plan.lat_inputs, plan.lat_bs, session, dev, cfg, providers, feeds,
                  reinit)  # fmt: skip
        if method == "dynamic":
            out.quantized = q
        else:
            out.quantized_static = q
        if q.error is not None:
            out.notes.append(f"int8 {method} quantization failed: {q.error}")
            continue
        if q.parity is not None and not q.parity.ok:
            out.notes.append(f"int8 {method} variant {q.parity.verdict} against its tolerance ({q.rule})")
        out.notes += q.warnings


class _Reinit:
    """The remedy for an inconclusive parity: the model re-initialised to a non-degenerate scale, exported
    again beside the original file (made once, on first use), and checked on the same inputs."""

    def __init__(
        self, model, plan: _Plan, path: Path, names, cfg, target: Target, exporter: str, providers
    ) -> None:
        self.model, self.plan, self.names, self.cfg, self.target = model, plan, names, cfg, target
        self.exporter, self.providers = exporter, providers
        self.path = path.with_name(path.stem + ".reinit.onnx")
        self.tensors: int | None = None

    def _export(self) -> None:
        if self.tensors is not None:
            return
        with reinitialised(self.model) as n:
            export_onnx(self.model, self.plan.export_inputs, self.path, input_names=self.names,
                        dynamic_axes=self.plan.axes, output_axes=self.plan.out_axes, opset=self.cfg.opset,
                        exporter=self.exporter, output_names=self.target.output_names)  # fmt: skip
        self.tensors = n

    @property
    def rule(self) -> str:
        return f"{REINIT_RULE} ({self.tensors} tensors, seed 0), exported again as {self.path.name}"

    def parity(self, first: Parity) -> Parity:
        self._export()
        session, _ = make_session(self.path, self.providers)
        with reinitialised(self.model):
            second = parity(session, self.model, self.names, self.plan.cases)
        return with_remedy(first, second, self.rule + " and checked on the same inputs")

    def int8_parity(self, first: Parity, method: str, inputs: tuple, feeds) -> Parity:
        self._export()
        with reinitialised(self.model):
            second = int8_parity(self.path, self.model, self.names, inputs, providers=self.providers,
                                 method=method, feeds=feeds)  # fmt: skip
        return with_remedy(
            first, second, self.rule + f", quantized ({method}) and checked on the same inputs"
        )


def _int8(
    method, path, model, names, inputs, lat_bs, fp32_session, dev, cfg, providers, feeds, reinit: _Reinit
):
    """One int8 variant, its parity remedied as the fp32 one is when the reference is too small to judge."""
    try:
        q = int8_variant(path, model, names, inputs, batch_size=lat_bs, fp32_session=fp32_session, timing=cfg.timing,
                         providers=providers, device=dev, method=method, feeds=feeds)  # fmt: skip
        if q.parity is not None and q.parity.verdict == "inconclusive":
            q.parity = reinit.int8_parity(q.parity, method, inputs, feeds)
        return q
    except Exception as exc:
        return QuantizedVariant(error=one_line(exc), method=method)


def _unrolled(target: Target, cfg: ReadinessConfig) -> tuple[int, int, int, int] | None:
    """(ops, ops, length, length) when tracing `target` at two sequence lengths gives graphs of different sizes."""
    if target.seq_len is None or target.input_maker is None:
        return None
    lengths = (target.seq_len, other_seq_len(target.seq_len))
    try:
        grown = unrolled_loop(target.model, target.input_maker, cfg.export_batch_size, lengths)
    except Exception:  # the diagnosis is best effort: the verdict stands without it
        return None
    return None if grown is None else (*grown, *lengths)


def _fresh(target: Target, batch_size: int, seq_len: int | None) -> tuple:
    """Inputs from another seed than the export's: a Target's maker is fixed-seed, so reseed torch around it."""
    if target.spec is not None:
        inputs = target.spec.example_inputs(target.size, batch_size, seq_len, seed=1000 + batch_size)
    else:
        torch.manual_seed(1000 + batch_size)
        inputs = target.input_maker(batch_size, seq_len)
    return to_device(inputs, next((p.device for p in target.model.parameters()), torch.device("cpu")))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
