"""The records of deployment readiness: the ONNX export's verdict (`Readiness`), its int8 variants and
`benchbench export --json` (`ExportResult`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.core.results import NoiseVerdict, Parity
from benchbench.core.schema import record_kind
from benchbench.measure.records import LatencyStats


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
    arm_threads: dict[str, str] = field(default_factory=dict)  # timed arm ("eager", "int8", "fp32") → threads


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
    arm_threads: dict[str, str] = field(default_factory=dict)  # timed arm ("eager", "ort") → its threads

    def timed_latencies(self) -> list[LatencyStats]:
        """The latencies the check timed: ORT and eager, and each int8 variant's ORT latency."""
        found = [x for x in (self.ort_latency, self.eager_latency) if x is not None]
        for q in (self.quantized, self.quantized_static):
            if q is not None and q.ort_latency is not None:
                found.append(q.ort_latency)
        return found


@record_kind("export")
@dataclass
class ExportResult:
    """`benchbench export --json`: one model's readiness."""

    model: str
    size: str
    export: Readiness
    env: dict[str, Any] = field(default_factory=dict)
    noise: NoiseVerdict | None = None  # how far this command's timings and ratios can be trusted
