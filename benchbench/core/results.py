"""Every record benchbench writes, from measurement to report, as typed dataclasses.

Measuring code fills these; reports and the gate read them; `benchbench.core.schema` turns them into versioned
JSON and back (validating on load). Missing measurements are None, never 0. A property named in a class's
`__derived__` is written to JSON for readers and ignored on load.

    ProfileResult                    one model at one size, batch, device and dtype
      params     ParamCount          flops      FlopCount          latency   LatencyStats
      memory     MemoryProfile       layers     [LayerRow]         sweeps    [SweepPoint]
      export     Readiness           health     HealthReport       swap      SwapRun
    RunResult                        a suite run: its profiles, the kernel campaign, the environment
      campaign   Campaign            ceilings, goals, checks and comparisons (CompareRow), swaps
    CompareResult                    one `benchbench kernels compare`
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchbench.core.stats import cv, median_ci, percentile, tukey_outliers


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


# ---- measurement ---------------------------------------------------------------------------------


@dataclass
class ParamCount:
    total: int
    trainable: int
    by_module: dict[str, int]  # top-level child name → parameters it holds ("(own)" for direct ones)
    bytes: int


@dataclass
class CrossCheck:
    """Other counters' totals beside the dispatch count, or the error each met (fvcore counts MACs, torch FLOPs)."""

    dispatch_macs: int
    fvcore_macs: int | None = None
    fvcore_unsupported_ops: dict[str, int] = field(default_factory=dict)
    fvcore_vs_dispatch: float | None = None
    fvcore_error: str | None = None
    torch_flop_counter_flops: int | None = None
    torch_flop_counter_vs_dispatch: float | None = None
    torch_flop_counter_error: str | None = None


@dataclass
class FlopCount:
    """One forward pass's work. macs are multiply-accumulates; flops = 2 × macs."""

    macs: int
    flops: int
    uncounted_ops: dict[str, int] = field(default_factory=dict)  # op → calls no formula handled
    # qualified name → inclusive MACs: a module's own ops plus its children's ("" = the whole model)
    by_module: dict[str, int] = field(default_factory=dict)
    by_module_self: dict[str, int] = field(default_factory=dict)  # MACs of ops a module runs itself
    elementwise_flops: int = 0  # norms, softmax, activations, pointwise, reductions
    elementwise_by_kind: dict[str, int] = field(default_factory=dict)
    macs_by_op: dict[str, int] = field(default_factory=dict)
    causal_attention_macs: int = 0  # MACs of causal attention included in macs (not halved)
    counters: CrossCheck | None = None  # cross-check counters' totals
    conventions: dict[str, str] = field(default_factory=dict)


STOP_REASONS = {
    "ci_target": "the median's 95% CI narrowed to the target relative width",
    "time_cap": "the time cap was reached before the CI narrowed to the target",
    "max_repeats": "the repeat cap was reached",
    "min_effort": "no CI target: the minimum repeats and time were met",
    "external": "timed by another tool (e.g. pytest-benchmark)",
}


@dataclass
class LatencyStats:
    """Percentiles of per-call latency in milliseconds, their uncertainty, and throughput for a batch size.

    `ci95_ms` is the distribution-free 95% CI of the median (p50) from order statistics (below 6 samples it
    is [min, max], which covers less); `cv` is stdev / mean; `outliers` counts samples outside Tukey's fences
    [Q1 - 1.5 IQR, Q3 + 1.5 IQR]; `stop_reason` says what ended the measurement (a key of STOP_REASONS).
    """

    n: int
    mean_ms: float
    stdev_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float | None  # None where only summary statistics are known (pytest-benchmark without data)
    p99_ms: float | None
    max_ms: float
    batch_size: int
    throughput_per_s: float | None  # None when p50 is 0 (a clock too coarse for the call)
    device: str
    threads: int
    samples_ms: list[float] = field(default_factory=list, repr=False)
    ci95_ms: list[float] | None = None  # None only where the raw samples are unknown
    cv: float | None = None
    outliers: int | None = None
    stop_reason: str | None = None
    elapsed_s: float | None = None  # wall time of the timed repeats

    __derived__ = ("ci95_rel_width",)

    @property
    def ci95_rel_width(self) -> float | None:
        """(hi - lo) / p50 of the median's CI: 0.05 means the median is known to about ±2.5%."""
        if self.ci95_ms is None or self.p50_ms <= 0:
            return None
        return (self.ci95_ms[1] - self.ci95_ms[0]) / self.p50_ms

    @classmethod
    def from_samples(
        cls,
        samples_ms: list[float],
        *,
        batch_size: int = 1,
        device: str = "cpu",
        threads: int = 1,
        stop_reason: str | None = None,
        elapsed_s: float | None = None,
    ) -> LatencyStats:
        if not samples_ms:
            raise ValueError("no timing samples")
        if stop_reason is not None and stop_reason not in STOP_REASONS:
            raise ValueError(f"unknown stop reason {stop_reason!r}; allowed: {', '.join(STOP_REASONS)}")
        s = sorted(samples_ms)
        p50 = percentile(s, 50)
        return cls(
            n=len(s),
            mean_ms=statistics.fmean(s),
            stdev_ms=statistics.stdev(s) if len(s) > 1 else 0.0,
            min_ms=s[0],
            p50_ms=p50,
            p90_ms=percentile(s, 90),
            p99_ms=percentile(s, 99),
            max_ms=s[-1],
            batch_size=batch_size,
            throughput_per_s=batch_size * 1000.0 / p50 if p50 > 0 else None,
            device=device,
            threads=threads,
            samples_ms=list(samples_ms),
            ci95_ms=list(median_ci(s, presorted=True)),
            cv=cv(s),
            outliers=tukey_outliers(s),
            stop_reason=stop_reason,
            elapsed_s=elapsed_s,
        )

    def uncertainty(self) -> str:
        """'95% CI [0.981, 1.020] ms (3.9% wide), CV 0.04, 2 outliers, ci_target': how sure the p50 is."""
        if self.ci95_ms is None:
            return "no CI (raw samples unknown)"
        parts = [f"95% CI [{self.ci95_ms[0]:.3f}, {self.ci95_ms[1]:.3f}] ms"]
        if self.ci95_rel_width is not None:
            parts[0] += f" ({self.ci95_rel_width:.1%} wide)"
        if self.cv is not None:
            parts.append(f"CV {self.cv:.2f}")
        if self.outliers is not None:
            parts.append(f"{self.outliers} outliers")
        if self.stop_reason:
            parts.append(f"stopped: {self.stop_reason}")
        return ", ".join(parts)

    def without_samples(self) -> LatencyStats:
        """The same figures without the raw samples (for records that keep many latencies)."""
        from dataclasses import replace

        return replace(self, samples_ms=[])


@dataclass
class TrainingState:
    """Bytes a training run keeps between steps for one (optimizer, precision) plan."""

    optimizer: str
    precision: str
    param_bytes: int
    grad_bytes: int
    optimizer_bytes: int  # optimizer state, plus the fp32 master weights under mixed precision
    master_bytes: int = 0

    __derived__ = ("total_bytes",)

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.grad_bytes + self.optimizer_bytes


@dataclass
class MemoryProfile:
    """The `memory.*` keys of a profile; peaks are None when not measured."""

    param_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    activation_bytes_train: int | None = None
    peak_bytes_inference: int | None = None
    peak_bytes_train_step: int | None = None
    plan: str = "fp32/adamw"
    plans: dict[str, TrainingState] = field(default_factory=dict)  # "precision/optimizer" → plan
    device: str = "cpu"
    method: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # measurement → "Type: message"


Shape = list[int]


@dataclass
class LayerRow:
    name: str  # qualified module name; "" is the whole model
    type: str
    depth: int  # 0 for the model, 1 for its children, ...
    input_shapes: list[Shape] = field(default_factory=list)
    output_shapes: list[Shape] = field(default_factory=list)
    params: int = 0  # parameters held by the module and its children, each counted once
    macs: int = 0  # inclusive MACs of one forward pass
    calls: int = 0  # times the module ran in that pass
    order: int = -1  # position of its first call, -1 if never called
    # per input tensor, the modules whose outputs it was computed from ("input": the model's inputs);
    # for the model itself, `output_sources` says the same of each output tensor
    sources: list[list[str]] = field(default_factory=list)
    output_sources: list[list[str]] = field(default_factory=list)


SWEEP_MODES = ("eval", "train-step")  # a no-grad forward pass; forward + backward + AdamW step


@dataclass
class SweepPoint:
    """One point of a latency sweep: its latency, or the error that stopped it."""

    batch_size: int
    seq_len: int | None
    dtype: str
    mode: str  # "eval" or "train-step"
    latency: LatencyStats | None = None
    error: str | None = None


# ---- correctness (one check for kernel compare, swap and ONNX parity: benchbench.core.parity) ---------


@dataclass(frozen=True)
class Tolerance:
    """The bound a tensor must meet against its reference.

    rel: the relative error ||got - want|| / ||want|| (2-norms over the tensor), scale-free; the verdict.
    atol, rtol: the elementwise bound |got - want| <= atol + rtol * |want| (numpy.allclose's rule), used only
    where `rel` is None (records written before the relative check, and callers that ask for it).
    """

    atol: float = 0.0
    rtol: float = 0.0
    rel: float | None = None


@dataclass
class WorstElement:
    index: list[int]
    got: float | None
    want: float | None


@dataclass
class TensorParity:
    """One tensor against its reference: the verdict, why it failed, and the worst elements."""

    name: str
    dtype: str
    shape: list[int]
    ok: bool
    ok_loose: bool
    tol: Tolerance
    loose_tol: Tolerance
    reason: str | None = None  # why not ok: "NaN in output 0", a shape mismatch, elements outside tol
    max_abs: float | None = None  # secondary figure: max |got - want|
    max_rel: float | None = None  # max |got - want| / max |want|
    n_bad: int = 0
    worst: list[WorstElement] = field(default_factory=list)
    case: dict[str, Any] | None = None  # the inputs it was judged on (e.g. batch size, sequence length)
    rel_err: float | None = None  # ||got - want|| / ||want||: what the verdict is judged on
    ref_rms: float | None = None  # root mean square of the reference's finite elements
    inconclusive: str | None = None  # why no verdict can be given (a numerically zero or constant reference)

    __derived__ = ("verdict",)

    @property
    def verdict(self) -> str:
        """'ok', 'loose' (within the loose tolerance only), 'inconclusive' or 'fail'."""
        if self.ok:
            return "ok"
        if self.inconclusive:
            return "inconclusive"
        return "loose" if self.ok_loose else "fail"


@dataclass
class Parity:
    """Every compared tensor; ok when each is, with the first failure's reason."""

    ok: bool
    ok_loose: bool
    outputs: list[TensorParity]
    reason: str | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)
    # what was done to reach a verdict when the first check was inconclusive (e.g. weights re-initialised),
    # and the first check's reasons
    remedy: str | None = None
    inconclusive_before: list[str] = field(default_factory=list)

    __derived__ = ("verdict",)

    @property
    def verdict(self) -> str:
        """'fail' when a tensor fails (or the counts differ), else 'inconclusive' when one is, else 'loose' or 'ok'."""
        verdicts = {o.verdict for o in self.outputs}
        if "fail" in verdicts or (not self.ok_loose and not verdicts - {"ok", "loose"}):
            return "fail"
        for v in ("inconclusive", "loose"):
            if v in verdicts:
                return v
        return "ok" if self.ok else "fail"

    @property
    def is_inconclusive(self) -> bool:
        return self.verdict == "inconclusive"

    @property
    def max_abs(self) -> float | None:
        values = [o.max_abs for o in self.outputs if o.max_abs is not None]
        return max(values) if values else None

    @property
    def max_rel(self) -> float | None:
        values = [o.max_rel for o in self.outputs if o.max_rel is not None]
        return max(values) if values else None


# ---- deployment ------------------------------------------------------------------------------------


@dataclass
class QuantizedVariant:
    """The int8 variant of an export: its file, parity against eager fp32, and speed."""

    file: str | None = None
    file_bytes: int | None = None
    quantized_ops: dict[str, int] = field(default_factory=dict)
    parity: Parity | None = None
    rule: str = ""
    session_s: float | None = None
    ort_latency: LatencyStats | None = None
    ratio: float | None = None  # int8 ORT / eager fp32 (median of interleaved rounds' ratios)
    ratio_ci95: list[float] | None = None
    ratio_vs_fp32_ort: float | None = None  # int8 ORT / fp32 ORT, from the same rounds
    ratio_vs_fp32_ort_ci95: list[float] | None = None
    error: str | None = None  # why quantization failed
    method: str = "dynamic"  # "dynamic" (int8 weights, activations quantized at run time) or "static" (QDQ)
    per_channel: bool = False
    op_types: list[str] = field(default_factory=list)  # the ONNX op types asked to be quantized
    weight_share: float | None = None  # quantized weight elements / all floating weight elements of the graph
    mac_share: float | None = (
        None  # MACs of the nodes whose weight is int8 / MACs of every Conv, MatMul, Gemm
    )
    quantized_weights: int | None = None  # weight elements stored as int8
    total_weights: int | None = None  # floating weight elements of the fp32 graph
    warnings: list[str] = field(default_factory=list)  # e.g. a small quantized share


@dataclass
class Readiness:
    """Deployment readiness of one model: the verdict, and what each stage of the check found.

    verdict: "ready" (dynamo export, strict parity at every probed shape), "ready-with-warnings" (it works,
    but see `warnings`) or "not-ready" (`stage_failed` failed with `error`; `hint` says what to do).
    """

    verdict: str = "not-ready"
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # informational (the int8 variant, ...)
    stage_failed: str | None = None  # "inputs", "export", "session", "parity" or "latency"
    error: str | None = None  # the exception's essential line
    hint: str | None = None
    failing_op: str | None = None  # e.g. "aten::nonzero", when the error names one
    exporter: str | None = None  # "dynamo" or "torchscript"
    capture_strategy: str | None = None
    fallback_reason: str | None = None  # why dynamo was not used
    export_s: float | None = None
    opset: int | None = None
    file: str | None = None
    file_bytes: int | None = None
    external_data: bool | None = None
    export_batch_size: int | None = None
    seq_len: int | None = None
    dynamic_axes: dict[str, dict[str, str]] = field(default_factory=dict)  # input → {axis: label}
    specialised_axes: list[str] = field(default_factory=list)  # "input[axis]=size": fixed though it varies
    dropped_inputs: list[str] = field(default_factory=list)  # tensor inputs the graph does not take (unused)
    none_inputs: list[str] = field(
        default_factory=list
    )  # optional inputs given as None: kept in place, not graph inputs
    graph: dict[str, int] | None = None  # a graph batch: the example's {"nodes": N, "edges": E}
    latency_unit: str = "batch"  # what one timed call processes: "batch", or "graph (N nodes, E edges)"
    shape_inference_ok: bool | None = None
    providers: list[str] = field(default_factory=list)  # ORT providers of the session (asserted)
    session_s: float | None = None
    optimized_file: str | None = None
    node_counts: dict[str, int] = field(default_factory=dict)
    optimized_node_counts: dict[str, int] = field(default_factory=dict)
    parity: Parity | None = None  # ORT against eager PyTorch at unseen batch sizes and sequence lengths
    ort_latency: LatencyStats | None = None
    eager_latency: LatencyStats | None = None
    ratio: float | None = None  # ORT / eager (< 1: ORT is faster): median of interleaved rounds' ratios
    ratio_ci95: list[float] | None = None  # its 95% CI; containing 1 means no significant difference
    ratio_rounds: int | None = None
    latency_batch_size: int | None = None
    threads: int | None = None
    quantized: QuantizedVariant | None = None  # dynamic int8 (MatMul, Gemm)
    quantized_static: QuantizedVariant | None = None  # static QDQ int8, per-channel (Conv, MatMul, Gemm)
    stage_s: float | None = None  # wall time of the whole check in a run


# ---- health ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "error", "warning" or "info"
    module: str  # qualified module path ("" for the whole model)
    message: str
    why: str
    fix: str


@dataclass
class LrAttempt:
    """One overfitting run of the probe at one peak learning rate: the loss at every step."""

    lr: float
    losses: list[float | None]
    fell: bool


@dataclass
class GradientFlag:
    """A layer whose gradient-to-weight norm ratio is outside the probe's bounds."""

    layer: str
    kind: str  # "vanishing" (ratio below the floor, 0 for a dead layer) or "exploding" (above the ceiling, or not finite)
    ratio: float | None  # ‖grad‖ / ‖weight‖ of the layer's own parameters; None when not finite
    step: str  # "first" or "last": the step of the probe it was measured at


@dataclass
class ProbeResult:
    loss_first: float | None
    loss_last: float | None
    loss_fell: bool
    grad_norms_first: dict[str, float | None]  # parameter-holding module → gradient norm
    grad_norms_last: dict[str, float | None]
    vanishing: list[str] = field(default_factory=list)
    exploding: list[str] = field(default_factory=list)
    grad_to_weight_ratio: float | None = None  # whole model, at the first step
    diverging_lr: float | None = None  # None: the loss never diverged within the range (or no range test ran)
    lr: float | None = None  # the peak learning rate of the run reported (the one that worked, if any)
    notes: list[str] = field(default_factory=list)
    loss: str = "mse"  # "next-token cross-entropy", "cross-entropy" or "mse"
    loss_outputs: list[str] = field(default_factory=list)  # the outputs the loss reads
    loss_reason: str = ""  # why that loss: what the model returned
    ladder: list[float] = field(default_factory=list)  # peak learning rates, in the order tried
    warmup_steps: int = 0  # linear warm-up steps before the peak rate
    attempts: list[LrAttempt] = field(default_factory=list)
    grad_to_weight: dict[str, float | None] = field(default_factory=dict)  # layer → ratio at the first step
    grad_to_weight_last: dict[str, float | None] = field(default_factory=dict)  # and at the last
    flags: list[GradientFlag] = field(default_factory=list)
    batch_size: int | None = None  # the batch the probe trained on
    seq_len: int | None = None  # and its sequence length, if the model has one
    shrunk: str | None = None  # what the probe shrank to stay in budget ("batch 8 → 4, sequence 128 → 32")
    seconds: float | None = None
    budget_s: float | None = None
    complete: bool = True  # False: the time budget ended the ladder before a learning rate worked

    __derived__ = ("verdict", "healthy")

    @property
    def verdict(self) -> str:
        """ "unhealthy" (a gradient flag, or no rate of the whole ladder made the loss fall), "inconclusive"
        (the budget ran out before any rate worked, no flag), or "healthy"."""
        if self.vanishing or self.exploding or (not self.loss_fell and self.complete):
            return "unhealthy"
        return "healthy" if self.loss_fell else "inconclusive"

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"


@dataclass
class HealthReport:
    lint: list[Finding] = field(default_factory=list)
    probe: ProbeResult | None = None
    probe_skipped: str | None = None  # why the probe did not run
    train_batch_size: int = 1  # the per-device training batch the lint assumed
    config: dict[str, Any] = field(default_factory=dict)


# ---- kernels ---------------------------------------------------------------------------------------


@dataclass
class Ceilings:
    """What this device reached in this run: the best n×n matmul rate and the best large-copy bandwidth."""

    device: str
    dtype: str
    matmul_tflops: float
    copy_gbs: float
    matmul_n: int
    copy_bytes: int
    source: str = "measured in this run (best of repeats)"

    @property
    def ridge(self) -> float:
        """FLOPs per byte above which a kernel is compute-bound on this device."""
        return self.matmul_tflops * 1e12 / (self.copy_gbs * 1e9)


@dataclass
class CompareRow:
    """One implementation of an op at one shape, forward or backward."""

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
    ci95_ms: list[float] | None = None  # 95% CI of p50 (order statistics)
    cv: float | None = None
    stop_reason: str | None = None
    baseline_p50_ms: float | None = None
    reference: str | None = None  # the row the speed-up is against (the baseline unless asked otherwise)
    speedup: float | None = None  # reference / this, the median of interleaved rounds' ratios (> 1: faster)
    ratio_ci95: list[float] | None = None  # 95% CI of speedup; containing 1 means no significant difference
    tflops: float | None = None
    gbps: float | None = None
    pct_peak: float | None = None  # of the measured ceiling of the bound resource
    bound: str | None = None  # "compute" or "memory"
    ok: bool | None = None  # every output (and gradient) within tolerance of the fp32 baseline
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)


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


@dataclass
class SwapSite:
    """One call site of a swapped op: where it is, which implementation, and what happened to its calls."""

    op: str
    site: str  # module path and what is called there, e.g. "encoder.0.attn: attention()"
    kind: str  # "dispatch" (the zoo's attention()), "sdpa" (F.scaled_dot_product_attention) or "module"
    impl: str
    calls: int = 0
    swapped_calls: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # fallback reason -> number of calls

    __derived__ = ("status",)

    @property
    def status(self) -> str:
        if self.calls == 0:
            return "not called"
        if self.swapped_calls == self.calls:
            return "swapped"
        return "fallback" if self.swapped_calls == 0 else "mixed"


@dataclass
class SiteCounts:
    sites: int = 0
    swapped: int = 0
    fallback: int = 0  # wholly or in part
    not_called: int = 0
    calls: int = 0
    swapped_calls: int = 0


@dataclass
class UnroutedSite:
    """An attention-like module that ran with no call the swap could route, and the likely reason."""

    op: str
    module: str  # module path
    type: str  # its class name
    calls: int
    reason: str


@dataclass
class SwapSummary:
    """What a swap did to a model on one forward pass."""

    ops: list[str]
    impl: dict[str, str]  # op → implementation name
    swapped_sites: int
    counts: dict[str, SiteCounts]
    sites: list[SwapSite]
    notes: list[str] = field(default_factory=list)
    unrouted: list[UnroutedSite] = field(default_factory=list)  # what stayed eager, and why
    # attention-like ops that ran outside every route, with counts: "aten::_native_multi_head_attention",
    # "matmul + softmax + matmul" (kernels/attention_ops.py)
    uncovered_ops: dict[str, int] = field(default_factory=dict)


@dataclass
class SwapSpeed:
    """Latency before and after the swap, measured side by side."""

    status: str  # "timed", "interpreted" (Triton in the CPU interpreter: no meaningful time) or "skipped"
    before_p50_ms: float | None = None
    after_p50_ms: float | None = None
    speedup: float | None = (
        None  # before / after (> 1: the swap is faster), median of interleaved rounds' ratios
    )
    ratio_ci95: list[float] | None = None  # 95% CI of speedup; containing 1 means no significant difference
    samples: int = 0
    rounds: int = 0
    before_ci95_ms: list[float] | None = None
    after_ci95_ms: list[float] | None = None
    stop_reason: str | None = None
    note: str = ""


@dataclass
class SwapRun:
    """One swap: what was swapped, whether the answers stayed, and how the speed changed."""

    model: str
    size: str
    device: str
    dtype: str
    batch_size: int
    ops: list[str]
    impl: dict[str, str]
    swap: SwapSummary
    parity: Parity
    speed: SwapSpeed
    env: dict[str, Any] = field(default_factory=dict)
    # each swapped site's module output against the unswapped model's (None: no site module to compare)
    site_parity: Parity | None = None
    notes: list[str] = field(default_factory=list)

    __derived__ = ("ok", "verdict")

    @property
    def verdict(self) -> str:
        """'nothing-swapped' (no call site was swapped: nothing was tested), 'fail' (an output or a site's output
        is outside the tolerance), 'inconclusive' (too small or flat to judge), else 'ok'."""
        if self.swap.swapped_sites == 0:
            return "nothing-swapped"
        checks = [self.parity] + ([self.site_parity] if self.site_parity is not None else [])
        verdicts = {p.verdict for p in checks}
        if verdicts - {"ok", "inconclusive"}:
            return "fail"
        return "inconclusive" if "inconclusive" in verdicts else "ok"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


@dataclass
class GoalVerdict:
    """One performance goal of the fused attention at one shape: measured value against its threshold."""

    goal: str
    op: str
    mode: str
    metric: str  # "speedup_vs_flash", "tflops", "bwd_vs_fwd_rate", "copy_fraction", "speedup_vs_<impl>"
    shape: str
    threshold: float
    value: float | None
    met: bool | None  # None: not measured
    value_ci95: list[float] | None = None  # 95% CI of a speed-up value (interleaved rounds)
    ours_p50_ms: float | None = None
    yardstick: str = ""
    yardstick_p50_ms: float | None = None
    ours_tflops: float | None = None
    matmul_tflops: float | None = None
    note: str = ""


@dataclass
class CampaignSwap:
    """A zoo model swapped to fused kernels in the campaign, or why it was not."""

    model: str
    size: str
    batch_size: int
    status: str  # the swap's speed status, "error" or "skipped"
    note: str = ""
    run: SwapRun | None = None


@dataclass
class Campaign:
    """The GPU kernel campaign of a run (`--suite gpu`)."""

    notes: list[str] = field(default_factory=list)
    ceilings: Ceilings | None = None
    goal_timings: list[CompareRow] = field(default_factory=list)
    goals: list[GoalVerdict] = field(default_factory=list)
    checks: list[CompareRow] = field(default_factory=list)  # correctness on awkward shapes, every dtype
    comparisons: list[CompareRow] = field(default_factory=list)
    swaps: list[CampaignSwap] = field(default_factory=list)
    status: str = "done"  # "running" in a checkpoint written mid-way, then "done" or "budget spent"
    budget_s: float | None = None
    elapsed_s: float | None = None


# ---- profiles and runs -----------------------------------------------------------------------------


# ---- serving (benchbench.serve) -------------------------------------------------------------------


@dataclass
class EndToEndLatency:
    """Percentiles of end-to-end query latency (arrival to answer, queueing included) in ms over `n` queries,
    with the distribution-free 95% CI of the p90 and the p99 (`core.stats.quantile_ci`; a bound is None where
    `n` is too small to give it: the p99 needs 368 queries for an upper bound)."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    p90_ci95_ms: list[float | None]
    p99_ci95_ms: list[float | None]

    @classmethod
    def from_samples(cls, samples_ms: list[float]) -> EndToEndLatency:
        from benchbench.core.stats import quantile_ci

        if not samples_ms:
            raise ValueError("no latency samples")
        s = sorted(samples_ms)
        return cls(n=len(s), p50_ms=percentile(s, 50), p90_ms=percentile(s, 90), p99_ms=percentile(s, 99),
                   max_ms=s[-1], mean_ms=statistics.fmean(s), p90_ci95_ms=list(quantile_ci(s, 0.90, presorted=True)),
                   p99_ci95_ms=list(quantile_ci(s, 0.99, presorted=True)))  # fmt: skip


@dataclass
class SingleStream:
    """One query at a time, the next issued when the previous is answered (MLPerf's SingleStream): the p90."""

    latency: EndToEndLatency
    elapsed_s: float


@dataclass
class OfflinePoint:
    """Throughput at one batch size: `latency` of whole batches; throughput = batch × 1000 / p50, with the
    interval that the p50's 95% CI gives it."""

    batch_size: int
    latency: LatencyStats
    throughput_per_s: float
    throughput_ci95: list[float] | None = None


@dataclass
class Offline:
    """Every query available at once (MLPerf's Offline): the largest throughput over the batch sizes that fit."""

    points: list[OfflinePoint]
    best_batch_size: int
    best_throughput_per_s: float
    skipped_batches: dict[str, str] = field(default_factory=dict)  # batch size -> why it was not run


@dataclass
class ServerProbe:
    """Poisson arrivals at `target_qps` for `queries` queries, served with dynamic batching.

    `latency` is end to end (queueing included) over the queries answered; `unanswered` queries were still
    waiting when the probe stopped and enter the percentiles with their waiting time so far (a lower bound, so a
    p99 with `unanswered` above 1% of the queries is itself a lower bound). `within_budget` is None when no p99
    budget was given. `stop_reason`: "done" (all answered), "over_budget" (so many queries had already exceeded
    the budget that the p99 could no longer meet it), "time_cap"."""

    target_qps: float
    queries: int
    answered: int
    unanswered: int
    latency: EndToEndLatency
    achieved_qps: float  # answered / (last answer - first arrival)
    mean_batch: float
    queue_p99_ms: float  # waiting before the batch started, p99
    issue_lag_p99_ms: float  # how late the load generator issued queries against the Poisson schedule
    elapsed_s: float
    stop_reason: str
    budget_ms: float | None = None
    within_budget: bool | None = None


@dataclass
class MaxQpsSearch:
    """The highest Poisson rate whose p99 stays within `budget_ms`: bracket (rates ×2 or ÷2) then bisect, at
    most `max_probes` probes. `max_qps` is the highest passing rate (None: none passed); `at` is its probe and
    `above` the confirming probe at `check_factor` × `max_qps`."""

    budget_ms: float
    probes: list[ServerProbe]
    max_qps: float | None
    at: ServerProbe | None
    above: ServerProbe | None
    lowest_failing_qps: float | None
    stop_reason: (
        str  # "resolved" (bracket within the tolerance), "max_probes", "none_passed", "no_failure_found"
    )
    tolerance: float
    max_probes: int
    check_factor: float = 1.2
    min_queries: int = 368


@dataclass
class ServingCost:
    """Cost per 1M queries from a measured rate: price_per_hour / (qps × 3600) × 1e6, on the device measured.
    `cost_per_million_usd` is None when there is no price ("no price"): benchbench never assumes one."""

    device: str  # what was measured: "local CPU (...)" or a GPU's name
    qps: float | None
    qps_source: str  # "max QPS with p99 <= 20 ms (server)", "best offline throughput (batch 32)"
    price_per_hour: float | None
    price_source: str
    cost_per_million_usd: float | None
    label: str = "measured"


@dataclass
class BackendServing:
    """One backend's scenarios; `skipped` says why it did not run (e.g. torch.compile without a compiler)."""

    backend: str
    skipped: str | None = None
    single: SingleStream | None = None
    offline: Offline | None = None
    server: ServerProbe | None = None
    search: MaxQpsSearch | None = None
    cost: ServingCost | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ServeSettings:
    """How the scenarios ran: dynamic batching, queries per probe, the load generator's seed, threads."""

    scenario: str
    max_batch: int
    max_delay_ms: float
    queries: int
    min_duration_s: float
    max_duration_s: float
    seed: int
    threads: int
    target_qps: float | None = None
    p99_budget_ms: float | None = None
    batch_sizes: list[int] = field(default_factory=list)


@dataclass
class ServeResult:
    """`benchbench serve --json` and the run's `serving` stage: one model's scenarios per backend."""

    model: str
    size: str
    device: str
    measured_on: str  # the device in words ("local CPU (x86_64, 1 threads)")
    settings: ServeSettings
    backends: list[BackendServing]
    env: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)


@dataclass
class StageError:
    """A stage that failed for one model: which stage, the exception type and its one-line message."""

    stage: str
    error: str
    type: str = "Exception"

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException) -> StageError:
        from benchbench.core.errors import one_line

        return cls(stage=stage, error=one_line(exc, with_type=False), type=type(exc).__name__)


@dataclass
class JobOutcome:
    """How a job's worker ended when it returned no result: it crashed (a signal, an exit, an out-of-memory
    kill) or ran past the job timeout and was killed."""

    kind: str  # "crashed" or "timeout"
    detail: str  # one line: "killed by SIGSEGV", "exited with code 3", "ran past the 300 s job timeout"
    signal: str | None = None  # "SIGSEGV", "SIGKILL", ...
    exit_code: int | None = None
    stderr_tail: list[str] = field(default_factory=list)  # the worker's last lines on stderr and stdout
    elapsed_s: float | None = None


@dataclass
class ProfileResult:
    """What was measured for one model configuration."""

    model: str
    modality: str
    size: str
    batch_size: int
    device: str
    dtype: str
    seq_len: int | None = None
    params: ParamCount | None = None
    flops: FlopCount | None = None
    latency: LatencyStats | None = None
    memory: MemoryProfile | None = None
    layers: list[LayerRow] | None = None
    diagram: str | None = None  # Mermaid flowchart of the top-level blocks
    sweeps: list[SweepPoint] | None = None
    export: Readiness | None = None
    health: HealthReport | None = None
    swap: SwapRun | None = None
    serving: ServeResult | None = None
    errors: list[StageError] = field(default_factory=list)
    outcome: JobOutcome | None = None  # set when the job's worker crashed or timed out
    job: str | None = None  # the key of the run's job that measured it
    env: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)

    __derived__ = ("status",)

    @property
    def ok(self) -> bool:
        return not self.errors and self.outcome is None

    @property
    def status(self) -> str:
        """ok, failed (a stage raised), crashed or timeout (the job's worker did not come back)."""
        if self.outcome is not None:
            return self.outcome.kind
        return "ok" if not self.errors else "failed"


@dataclass(frozen=True)
class Job:
    """One job of a run: a model at one size, batch size and dtype, run in a worker."""

    model: str  # a zoo name or a user factory pkg.module:factory
    size: str  # "user" for a user factory, which has no sizes
    batch_size: int
    dtype: str

    @property
    def key(self) -> str:
        return f"{self.model} {self.size} bs{self.batch_size} {self.dtype}"


def parse_shard(text: str | None, what: str = "--shard") -> tuple[int, int] | None:
    """'2/4' → (2, 4): the I-th of N shards, 1 <= I <= N; anything else is one BadInputError line."""
    if text is None:
        return None
    from benchbench.core.errors import BadInputError

    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise BadInputError(f"{what} must look like I/N (e.g. 1/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise BadInputError(f"{what} {text!r}: need 1 <= I <= N")
    return i, n


@dataclass
class RunSettings:
    """Everything that says how a run measures, recorded in the run so `--resume` runs the rest the same way."""

    suite: str
    models: list[str]  # zoo globs and pkg.module:factory paths, as given
    sizes: list[str]
    batch_sizes: list[int]
    dtypes: list[str]
    stages: list[str]
    timing: dict[str, Any]  # the TimingConfig of every job
    job_timeout_s: float
    device: str = "cpu"
    workers: int = 1
    executor: str = "local"  # "local" (worker processes) or "ray"
    ray_address: str | None = None
    shard: str | None = None
    kernels: bool = False  # run the GPU kernel campaign after the jobs
    campaign_budget_s: float | None = None  # the campaign's time budget (None: the device's default)


@dataclass
class GitState:
    """The repository a run was started in (the user's project, not benchbench)."""

    repo: str
    commit: str | None
    dirty: bool | None
    branch: str | None = None


@dataclass
class NoiseVerdict:
    """How much a run's numbers can be trusted: quiet, noisy or unusable, with the reasons
    (thresholds and rules in `benchbench.core.noise`)."""

    verdict: str  # "quiet", "noisy" or "unusable"
    reasons: list[str] = field(default_factory=list)
    load1: float | None = None  # at the start
    cpus: int | None = None
    load_per_cpu: float | None = None
    steal: float | None = None  # share of CPU time stolen during the run
    governor: str | None = None
    threads: int | None = None  # torch threads
    procs_running: int | None = None  # runnable threads machine-wide at the start
    latencies: int = 0
    time_capped: int = 0
    ci_rel_width_median: float | None = None  # (hi - lo) / p50 of the median's CI, over the run's latencies
    ci_rel_width_max: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One sentence: the verdict and why."""
        why = "; ".join(self.reasons) if self.reasons else "no sign of noise"
        return f"{self.verdict} ({why})"


@dataclass
class RunResult:
    """A suite run: profiles and the kernel campaign measured together, with their environment.

    A run is a snapshot: its settings, the environment, the repository's commit and the device's measured
    ceilings are recorded when it starts, so rendering its report measures nothing.
    """

    suite: str
    device: str
    profiles: list[ProfileResult]
    campaign: Campaign | None = None
    settings: RunSettings | None = None
    jobs: list[Job] = field(default_factory=list)  # every job planned (profiles hold the ones done)
    ceilings: Ceilings | None = None  # measured on `device` at the start of the run
    git: GitState | None = None
    env: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=new_run_id)
    created_at: str = field(default_factory=now_iso)
    elapsed_s: float | None = None
    shard: str | None = None
    noise: NoiseVerdict | None = None

    __derived__ = ("missing",)

    @property
    def missing(self) -> list[str]:
        """Keys of planned jobs with no profile (an interrupted run, before `--resume`)."""
        done = {p.job for p in self.profiles}
        return [j.key for j in self.jobs if j.key not in done]


@dataclass
class ExportResult:
    """`benchbench export --json`: one model's readiness."""

    model: str
    size: str
    export: Readiness
    env: dict[str, Any] = field(default_factory=dict)


@dataclass
class HealthResult:
    """`benchbench health --json`: one model's lint and probe."""

    model: str
    size: str
    batch_size: int
    health: HealthReport


# ---- GPU truth without a GPU: the compile check --------------------------------------------------


@dataclass
class KernelCompileRow:
    """One Triton kernel, at one recorded launch and one config, compiled for a GPU target without running it."""

    op: str
    kernel: str  # the @triton.jit function, e.g. "_attn_fwd"
    case: str  # the host call whose launch this is, e.g. "bfloat16 B=1,H=2,T=256,D=128,causal=1"
    dtype: str
    config: str  # e.g. "BLOCK_M=128 BLOCK_N=64 warps=8 stages=3"
    source: str  # "autotune" (one of the autotuner's configs), "fixed" (autotuning off) or "host" (its only launch)
    target: str  # "sm_90", "sm_100"
    num_warps: int
    num_stages: int
    compiled: bool
    launchable: bool  # compiled, and within the target's shared-memory, register and thread limits
    spills: bool  # local memory per thread > 0: registers spilled (ptxas puts them in the stack frame)
    registers: int | None = None  # per thread
    shared_bytes: int | None = None  # dynamic shared memory the launch requests
    local_bytes: int | None = (
        None  # local memory per thread: the stack frame (spilled registers) + local arrays
    )
    stack_bytes: int | None = None  # of which the stack frame
    tensor_core: dict[str, int] = field(default_factory=dict)  # SASS mnemonic → count: HGMMA, HMMA, UTC*MMA
    problem: str = ""  # why it cannot launch, or the compile error
    compile_s: float = 0.0
    compile_cpu_s: float | None = None  # CPU seconds of triton.compile (ptxas included): load-independent
    spill_stores: int | None = None  # ptxas -v's "bytes spill stores" (None: no report; local memory judged)
    tma_loads: int = 0  # SASS UTMALDG: tensor-memory-accelerator (TMA) loads
    note: str = ""

    __derived__ = ("ok",)

    @property
    def ok(self) -> bool:
        """Launchable without spilling."""
        return self.launchable and not self.spills


@dataclass
class KernelCheck:
    """`benchbench kernels check`: every Triton kernel × config compiled for each target, and what failed."""

    targets: list[str]
    subset: str  # "full" or "ci"
    rows: list[KernelCompileRow]
    failures: list[str] = field(default_factory=list)  # each one line; any makes the check fail (exit 1)
    notes: list[str] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    created_at: str = field(default_factory=now_iso)

    __derived__ = ("ok",)

    @property
    def ok(self) -> bool:
        return not self.failures


# ---- three GPU timers, and the five-minute GPU check ---------------------------------------------


@dataclass
class TimerReading:
    """One timer's reading of one call: "events" (CUDA events around each call, synchronised), "batched"
    (events around each call, one synchronisation at the end: do_bench-style), "graph" (CUDA-graph replay), or
    "cpu" (perf_counter, on a CPU). The L2 flush between calls is outside every timed region."""

    timer: str
    p50_ms: float | None
    min_ms: float | None = None
    repeats: int = 0
    note: str = ""


@dataclass
class TimedCall:
    """One implementation at one shape and direction: checked once against the fp32 reference, then timed with
    each timer side by side."""

    op: str
    impl: str
    shape: str
    mode: str  # "fwd" or "bwd"
    dtype: str
    status: str  # "timed", "interpreted" (checked, not timed), "unsupported", "error" or "skipped"
    ok: bool | None = None
    max_rel_err: float | None = None
    backend: str = ""  # SDPA: the backend that ran, read from the names of the GPU kernels that ran
    kernels: list[str] = field(default_factory=list)  # those names (SDPA rows)
    timers: list[TimerReading] = field(default_factory=list)
    spread: float | None = None  # slowest p50 / fastest p50 across the timers
    disagree: bool = False  # spread > 1.10: the timers tell different stories, read them side by side
    flops: float | None = None
    nbytes: float | None = None
    tflops: float | None = None  # from the primary timer (batched)
    gbps: float | None = None
    note: str = ""

    def p50(self, timer: str = "batched") -> float | None:
        return next((t.p50_ms for t in self.timers if t.timer == timer), None)


@dataclass
class GpuCheckStep:
    """One step of `benchbench gpu-check`; the JSON is rewritten after each, so a timeout keeps what was done."""

    name: str
    status: str  # "done", "failed" (a check in it failed), "error" (it raised), "skipped" (budget spent)
    started_s: float  # seconds since the check began
    elapsed_s: float = 0.0
    note: str = ""


@dataclass
class GpuCheck:
    """`benchbench gpu-check`: versions, device, clocks, ceilings, every kernel checked once, the attention targets
    and norms timed with three timers, and the goals judged where they were measured."""

    device: str
    budget_s: float
    status: str = "running"  # "running" until the last step, then "done" or "budget spent"
    device_name: str = ""
    interpreted: bool = False  # a CPU run: Triton kernels ran in the interpreter, checked but not timed
    env: dict[str, Any] = field(default_factory=dict)
    clocks: dict[str, Any] = field(default_factory=dict)
    ceilings: Ceilings | None = None
    steps: list[GpuCheckStep] = field(default_factory=list)
    checks: list[CompareRow] = field(default_factory=list)
    timings: list[TimedCall] = field(default_factory=list)
    goals: list[GoalVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    elapsed_s: float = 0.0

    __derived__ = ("failures",)

    @property
    def failures(self) -> list[str]:
        """What failed: a wrong or non-finite kernel output, or a step that raised."""
        out = [f"{r.op}/{r.impl} {r.dtype} {r.shape} {r.mode}: {r.note or 'wrong'}" for r in self.checks
               if r.ok is False]  # fmt: skip
        out += [f"{t.op}/{t.impl} {t.dtype} {t.shape} {t.mode}: {t.note or 'wrong'}" for t in self.timings
                if t.ok is False]  # fmt: skip
        out += [f"step {s.name}: {s.note}" for s in self.steps if s.status == "error"]
        return out
