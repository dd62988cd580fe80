"""Architecture health: the lint and the trainability probe together, as a CLI result and a run stage.

The section written into a profile (`result.sections["health"]`) is
`{"lint": [Finding dicts], "probe": ProbeResult dict or None, "probe_skipped": reason or None,
  "config": {...}}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchbench.lint import LintConfig, lint_model
from benchbench.probe import ProbeConfig, probe_trainability
from benchbench.suite import register_stage
from benchbench.target import Target

# The run stage probes a model only when a probe costs little: its forward pass (p50) times this
# many forward-equivalents (probe steps ×3 for forward+backward, plus the range test) stays below the budget.
PROBE_BUDGET_S = 3.0


def check_health(
    target: Target,
    *,
    lint: LintConfig | None = None,
    probe: ProbeConfig | None = None,
    run_probe: bool = True,
) -> dict[str, Any]:
    """Lint `target`'s model at its batch size and, if asked, run the trainability probe."""
    lint, probe = lint or LintConfig(), probe or ProbeConfig()
    findings = lint_model(target.model, target.inputs, batch_size=target.batch_size, config=lint)
    result = probe_trainability(target.model, target.inputs, probe) if run_probe else None
    return {
        "lint": [f.to_dict() for f in findings],
        "probe": result.to_dict() if result else None,
        "probe_skipped": None if run_probe else "not requested",
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
    section = check_health(target, probe=cfg, run_probe=cheap)
    if not cheap:
        est = "unknown" if p50 is None else f"{probe_cost_s(p50, cfg):.1f} s"
        section["probe_skipped"] = f"probe would take about {est} (budget {PROBE_BUDGET_S:g} s)"
    return section
