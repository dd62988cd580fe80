"""The records of the deployment matrix: one `MatrixRow` per runtime × precision, gathered in a `DeployMatrix`.

Missing measurements are None, never 0; a skipped row says why in `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbench.core.results import Parity
from benchbench.core.schema import record_kind

ROW_VERDICTS = ("ready", "ready-with-warnings", "not-ready", "skipped")


@dataclass
class QualityDelta:
    """How much worse a variant answers than eager fp32, over `samples` fresh input draws.

    `drop` is the median over the samples of the proxy's per-sample drop (`proxy` says which: 1 − top-1
    agreement, 1 − token agreement, the relative error ‖y − y_ref‖/‖y_ref‖, or the user metric's eager value
    minus the variant's), with the distribution-free 95% CI of that median (`drop_ci95`). `extra` holds the
    proxy's side figures (KL divergence, perplexity change), each a median with its CI."""

    proxy: str
    drop: float
    drop_ci95: list[float] | None
    samples: int
    extra: dict[str, list[float]] = field(default_factory=dict)  # name → [median, ci lo, ci hi]


@dataclass
class MatrixRow:
    """One runtime × precision: whether it works, what blocks it, and what it costs against eager fp32."""

    runtime: str
    precision: str
    verdict: str  # one of ROW_VERDICTS
    reason: str | None = None  # why skipped or not-ready, one line
    blockers: list[str] = field(default_factory=list)  # ops or source lines that block it, by name
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parity: Parity | None = None
    parity_rule: str | None = None
    quality: QualityDelta | None = None
    latency_ratio: float | None = None  # variant / eager fp32, median of interleaved rounds' ratios
    latency_ratio_ci95: list[float] | None = None
    latency_p50_ms: float | None = None
    rounds: int = 0
    peak_bytes: int | None = None
    peak_kind: str | None = (
        None  # "live tensors" (a lower bound) or "rss growth" (the process's resident set)
    )
    artifact_bytes: int | None = None
    build_s: float | None = None  # time to compile, export or quantize
    graph_breaks: int | None = None
    recompiles: int | None = None
    over_budget: bool | None = None  # quality drop above the matrix's max_quality_drop (None: no budget)


@record_kind("deploy")
@dataclass
class DeployMatrix:
    """Every row of one model's deployment matrix, and how it was measured."""

    model: str
    size: str
    batch_size: int
    threads: int
    samples: int
    rows: list[MatrixRow] = field(default_factory=list)
    quality_proxy: str | None = None
    max_quality_drop: float | None = None
    eval_fn: str | None = None
    stage_s: float | None = None

    def row(self, runtime: str, precision: str) -> MatrixRow | None:
        """The row of `runtime` × `precision`, or None."""
        return next((r for r in self.rows if r.runtime == runtime and r.precision == precision), None)
