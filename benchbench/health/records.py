"""The records of architecture health: lint findings, the trainability probe, and `benchbench health --json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.core.schema import record_kind


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


@record_kind("health")
@dataclass
class HealthResult:
    """`benchbench health --json`: one model's lint and probe."""

    model: str
    size: str
    batch_size: int
    health: HealthReport
