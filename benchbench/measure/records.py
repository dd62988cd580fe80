"""The records measurement fills: parameters, FLOPs, latency, memory, layers, sweeps, GPU timer readings, and
`ProfileResult`, one model measured at one configuration.

`ProfileResult` is defined here, in the lowest layer that knows every figure of a profile: its measurement
fields are typed with the records beside it, and the records of run stages (deploy, health, kernel swaps,
serving: higher layers) sit in its `stages` mapping, typed by the stage registry (`benchbench.core.stage`), so
no layer below a stage has to name the stage's record. Missing measurements are None, never 0; a property
named in a class's `__derived__` is written to JSON for readers and ignored on load.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchbench.core.results import JobOutcome, NoiseVerdict, StageError, now_iso
from benchbench.core.schema import record_kind
from benchbench.core.stage import STAGES
from benchbench.core.stats import cv, median_ci, percentile, tukey_outliers


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
    "time_budget": "the calls were so long that the time budget ran out: only the minimum sample count was taken",
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
        if self.stop_reason == "time_budget":
            parts.append(f"stopped: time_budget, only {self.n} samples (calls too long for the usual floors)")
        elif self.stop_reason:
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


@dataclass
class CountedOnly:
    """A profile of a model too big to build here: what was counted on the meta device (shapes, no weights) in
    place of a measurement, and why nothing that runs the model was measured. The profile's `params`, `flops`
    and `layers` are then counts of the meta model; its `latency` and `memory` stay None.

    For a decoder config, the figures of its causal LM (head included, whatever head the profile built): its
    parameters, MACs per token of a `prompt_tokens` prefill, MACs of one decode token after `decode_context`
    positions, and KV cache bytes per token in `kv_dtype`."""

    counted_on: str  # "meta device (no weights allocated)"
    not_measured: str  # the reason latency and memory were not measured, with the figures
    weight_bytes_float32: int
    memory_free_bytes: int | None = None
    causal_lm_params: int | None = None  # with its LM head (the published count), for a bare model too
    prompt_tokens: int | None = None
    macs_per_prefill_token: float | None = None
    decode_context: int | None = None
    macs_per_decode_token: int | None = None
    kv_bytes_per_token: int | None = None
    kv_dtype: str | None = None


@record_kind("profile")
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
    counted: CountedOnly | None = None  # set instead of measurements when the model is too big to build here
    # stage name -> its record (benchbench.core.stage.STAGES); in JSON each is a top-level key of the profile
    noise: NoiseVerdict | None = None  # `profile`'s own verdict (a run's is the run's)
    stages: dict[str, Any] = field(default_factory=dict)
    errors: list[StageError] = field(default_factory=list)
    outcome: JobOutcome | None = None  # set when the job's worker crashed or timed out
    job: str | None = None  # the key of the run's job that measured it
    env: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)

    __derived__ = ("status",)
    __flatten__ = ("stages",)  # written as top-level keys of the profile, as before stages were plug-ins

    def __getattr__(self, name: str) -> Any:
        """A registered stage's record as an attribute (`profile.export`), None when the stage did not run."""
        if name != "stages" and not name.startswith("__") and name in STAGES:
            return self.__dict__.get("stages", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in STAGES and name not in self.__dataclass_fields__:
            if value is None:
                self.stages.pop(name, None)
            else:
                self.stages[name] = value
            return
        object.__setattr__(self, name, value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Validate each registered stage's top-level key against its record type, then gather every key that is
        not a field into `stages` (a stage whose plug-in is not loaded keeps its plain data)."""
        from pydantic_core import core_schema

        dataclass_schema = handler(source)
        keys = {name: core_schema.typed_dict_field(handler.generate_schema(spec.record | None), required=False)
                for name, spec in STAGES.items() if name not in cls.__dataclass_fields__}  # fmt: skip
        known = set(cls.__dataclass_fields__) | set(cls.__derived__)

        def gather(data: dict[str, Any]) -> dict[str, Any]:
            out = {k: v for k, v in data.items() if k in known and k not in cls.__derived__}
            stages = dict(data.get("stages") or {})
            stages.update({k: v for k, v in data.items() if k not in known and v is not None})
            return {**out, "stages": stages}

        from_data = core_schema.chain_schema([
            core_schema.typed_dict_schema(keys, extra_behavior="allow"),
            core_schema.no_info_plain_validator_function(gather),
            dataclass_schema,
        ])  # fmt: skip

        def instance_or_data(value: Any, validate: Any) -> Any:
            return value if isinstance(value, cls) else validate(value)

        return core_schema.no_info_wrap_validator_function(instance_or_data, from_data)

    @property
    def ok(self) -> bool:
        return not self.errors and self.outcome is None

    @property
    def status(self) -> str:
        """ok, failed (a stage raised), crashed or timeout (the job's worker did not come back)."""
        if self.outcome is not None:
            return self.outcome.kind
        return "ok" if not self.errors else "failed"


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
