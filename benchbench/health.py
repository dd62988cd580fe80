"""Architecture health: the lint and the trainability probe together, as a CLI result and a run stage.

The section written into a profile (`result.sections["health"]`) is
`{"lint": [Finding dicts], "probe": ProbeResult dict or None, "probe_skipped": reason or None,
  "train_batch_size": the per-device training batch the lint assumed, "config": {...}}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchbench.lint import LintConfig, lint_model
from benchbench.probe import ProbeConfig, probe_trainability
from benchbench.suite import register_stage
from benchbench.target import Target

# The run stage profiles inference at batch 1, which says nothing of how the model will be trained: its
# lint assumes this per-device training batch (recorded in the section) so batch-size rules stay meaningful.
RUN_TRAIN_BATCH = 32

# The run stage probes a model only when a probe costs little: its forward pass (p50) times this
# many forward-equivalents (probe steps ×3 for forward+backward, plus the range test) stays below the budget.
PROBE_BUDGET_S = 3.0


def check_health(
    target: Target,
    *,
    lint: LintConfig | None = None,
    probe: ProbeConfig | None = None,
    run_probe: bool = True,
    train_batch_size: int | None = None,
) -> dict[str, Any]:
    """Lint `target`'s model for a per-device training batch (default: the target's) and, if asked, probe it."""
    lint, probe = lint or LintConfig(), probe or ProbeConfig()
    train_batch = train_batch_size or target.batch_size
    findings = lint_model(target.model, target.inputs, batch_size=train_batch, config=lint)
    result = probe_trainability(target.model, target.inputs, probe) if run_probe else None
    return {
        "lint": [f.to_dict() for f in findings],
        "probe": result.to_dict() if result else None,
        "probe_skipped": None if run_probe else "not requested",
        "train_batch_size": train_batch,
        "config": {"lint": dataclasses.asdict(lint), "probe": dataclasses.asdict(probe)},
    }


def probe_cost_s(forward_ms: float, cfg: ProbeConfig) -> float:
    """Rough seconds a probe takes: 3 forward-equivalents per training step, for the probe and the range test."""
    return forward_ms / 1000 * 3 * (cfg.steps + cfg.lr_steps)


@register_stage("health")
def health_stage(target: Target, result, ctx) -> dict[str, Any]:
    """Run stage: the lint for every model; the probe only where it is cheap (see PROBE_BUDGET_S)."""
    cfg = ProbeConfig()
    p50 = (result.latency or {}).get("p50_ms")
    cheap = p50 is not None and probe_cost_s(p50, cfg) <= PROBE_BUDGET_S
    section = check_health(target, probe=cfg, run_probe=cheap, train_batch_size=RUN_TRAIN_BATCH)
    if not cheap:
        est = "unknown" if p50 is None else f"{probe_cost_s(p50, cfg):.1f} s"
        section["probe_skipped"] = f"probe would take about {est} (budget {PROBE_BUDGET_S:g} s)"
    return section
