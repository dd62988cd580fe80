"""Architecture health: the lint and the trainability probe together, as one `HealthReport`
(`result.health` of a profile in a run, and `benchbench health`)."""

from __future__ import annotations

from benchbench.core.files import to_jsonable
from benchbench.core.results import HealthReport
from benchbench.health.lint import LintConfig, lint_model
from benchbench.health.probe import ProbeConfig, probe_trainability
from benchbench.sources.target import Target


def check_health(
    target: Target,
    *,
    lint: LintConfig | None = None,
    probe: ProbeConfig | None = None,
    run_probe: bool = True,
    train_batch_size: int | None = None,
) -> HealthReport:
    """Lint `target`'s model for a per-device training batch (default: the target's) and, if asked, probe it."""
    lint, probe = lint or LintConfig(), probe or ProbeConfig()
    train_batch = train_batch_size or target.batch_size
    findings = lint_model(target.model, target.inputs, batch_size=train_batch, config=lint)
    result = probe_trainability(target.model, target.inputs, probe) if run_probe else None
    return HealthReport(
        lint=findings,
        probe=result,
        probe_skipped=None if run_probe else "not requested",
        train_batch_size=train_batch,
        config={"lint": to_jsonable(lint), "probe": to_jsonable(probe)},
    )
