"""The `generation` stage: what a decoder costs per token (TTFT, TPOT, tokens/s, cache bytes) for every decoder of
a run (other models are skipped), its report section "Cost per token", and the budgets `ttft_ms`, `tpot_ms`,
`decode_tokens_per_s` and `kv_bytes_per_token`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchbench.core.stage import BudgetMetric, StageContext, stage
from benchbench.generate.records import GenerationRecord
from benchbench.generate.stage import GATE_METRICS
from benchbench.measure.records import ProfileResult
from benchbench.report.generation import cost_per_token_section

if TYPE_CHECKING:
    from benchbench.sources.target import Target

TIMED = (
    "ttft_ms",
    "tpot_ms",
    "decode_tokens_per_s",
)  # figures that load can move: the gate marks noisy verdicts


@stage("generation", record=GenerationRecord, section=cost_per_token_section, section_id="cost-per-token",
       order=85, suites=("default", "full"),
       budgets={key: BudgetMetric(fn, direction, timing=key in TIMED) for key, (fn, direction) in GATE_METRICS.items()})  # fmt: skip
def generation_stage(target: Target, result: ProfileResult, ctx: StageContext) -> GenerationRecord | None:
    """Per-token figures of `target` when it is a decoder (None otherwise), on the run's device and dtype."""
    from benchbench.generate.stage import generation_stage as measure_generation

    return measure_generation(target, result, ctx)
