"""The `health` stage: the architecture lint of every model and the trainability probe where it fits in
PROBE_BUDGET_S (`health.check`), and its report section (architecture health)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchbench.core.stage import StageContext, stage
from benchbench.health.records import HealthReport
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult
from benchbench.report.document import NOT_MEASURED, Section, Table
from benchbench.report.run_report import model_label

if TYPE_CHECKING:
    from benchbench.health.probe import ProbeConfig
    from benchbench.sources.target import Target

# The run profiles inference at batch 1, which says nothing of how the model will be trained: the health
# stage's lint assumes this per-device training batch (recorded in the section) so batch-size rules stay meaningful.
RUN_TRAIN_BATCH = 32

# The health stage's probe has this many seconds (the probe stops itself there, `ProbeResult.complete`); a model
# whose fewest probe steps would not fit, judged from its profiled forward pass, is not probed and the section
# says why.
PROBE_BUDGET_S = 10.0


def probe_cost_s(forward_ms: float, cfg: ProbeConfig, batch_size: int = 1) -> float:
    """Rough seconds of the fewest probe steps: 3 forward-equivalents per step, at the probe's batch."""
    from benchbench.health.check import ProbeSize

    scale = ProbeSize().max_batch / max(batch_size, 1)
    return forward_ms / 1000 * 3 * cfg.min_steps * max(scale, 1.0)


def _probe_cells(h: HealthReport) -> list[str]:
    """Verdict, loss, learning rate and gradient flags of a probe; why it did not run or decide, when so."""
    probe = h.probe
    if probe is None:
        return [f"not run: {h.probe_skipped or 'no reason recorded'}", "—", "—", "—"]
    verdict = probe.verdict
    if verdict == "inconclusive":
        verdict += ": " + next((n for n in probe.notes if "budget" in n), "the budget ran out")
    elif probe.shrunk:
        verdict += f" (probed at {probe.shrunk})"
    worked = next((a for a in probe.attempts if a.fell), None)
    flags = "; ".join(
        f"{f.layer} {f.kind} {'inf' if f.ratio is None else f'{f.ratio:.1e}'}" for f in probe.flags[:3]
    )
    more = f" (+{len(probe.flags) - 3})" if len(probe.flags) > 3 else ""
    return [
        verdict,
        probe.loss,
        "none fell" if worked is None else f"{worked.lr:g}",
        (flags + more) or "none",
    ]


def health_section(run: RunResult) -> Section:
    """Lint findings and the probe's verdict per model."""
    rows = []
    for p in run.profiles:
        h = p.health
        if h is None:
            continue
        sev: dict[str, int] = {}
        for f in h.lint:
            sev[f.severity] = sev.get(f.severity, 0) + 1
        rows.append([
            model_label(p), ", ".join(f"{n} {s}" for s, n in sorted(sev.items())) or "none",
            "; ".join(f"{f.rule}: {f.message}" for f in h.lint[:3]) or "—", *_probe_cells(h),
        ])  # fmt: skip
    if not rows:
        return Section("health", "Architecture health", [f"Lint and trainability probe: {NOT_MEASURED}."])
    return Section("health", "Architecture health", [
        "The probe overfits one batch with AdamW (a learning-rate ladder with warm-up, a task-shaped loss) and "
        "flags layers whose ‖grad‖/‖weight‖ leaves its bounds.",
        Table(["model", "lint findings", "first findings", "probe", "loss", "lr that worked", "gradient flags"],
              rows),
    ])  # fmt: skip


@stage("health", record=HealthReport, section=health_section, order=70, suites=("default", "full"))
def health_stage(target: Target, result: ProfileResult, ctx: StageContext) -> HealthReport:
    """The lint for every model; the probe within PROBE_BUDGET_S where its fewest steps fit."""
    from benchbench.health.check import check_health
    from benchbench.health.probe import ProbeConfig

    cfg = ProbeConfig(budget_s=PROBE_BUDGET_S)
    p50 = result.latency.p50_ms if result.latency else None
    cost = None if p50 is None else probe_cost_s(p50, cfg, result.batch_size)
    cheap = cost is not None and cost <= PROBE_BUDGET_S
    report = check_health(target, probe=cfg, run_probe=cheap, train_batch_size=RUN_TRAIN_BATCH)
    if not cheap:
        est = "an unknown time (no latency measured)" if cost is None else f"about {cost:.1f} s"
        report.probe_skipped = (
            f"{cfg.min_steps} probe steps would take {est}, over the {PROBE_BUDGET_S:g} s budget"
        )
    return report
