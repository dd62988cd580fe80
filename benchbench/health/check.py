"""Architecture health: the lint and the trainability probe together, as a CLI result and a run stage.

The section written into a profile (`result.sections["health"]`) is
`{"lint": [Finding dicts], "probe": ProbeResult dict or None, "probe_skipped": reason or None,
  "train_batch_size": the per-device training batch the lint assumed, "config": {...}}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchbench.core.target import Target
from benchbench.health.lint import LintConfig, lint_model
from benchbench.health.probe import ProbeConfig, probe_trainability


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
