"""The `export` stage: ONNX export, ONNX Runtime parity and speed of each model (`deploy.readiness`), its report
section (deployment readiness) and the `onnx_ready` budget."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchbench.core.noise import UNTRUSTED, shown_ratio, untrusted
from benchbench.core.stage import BudgetMetric, BudgetVerdict, StageContext, stage
from benchbench.deploy.records import Readiness
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult
from benchbench.report.document import NOT_MEASURED, Block, Plot, Section, Table
from benchbench.report.plots import ratio_ci_svg
from benchbench.report.run_report import model_label

if TYPE_CHECKING:
    from benchbench.sources.target import Target

READY = ("ready", "ready-with-warnings")


def readiness_section(run: RunResult) -> Section:
    """Each model's export verdict, exporter, parity and ORT/eager ratio with its CI."""
    rows = []
    for p in run.profiles:
        ex = p.export
        if ex is None:
            continue
        par = ex.parity
        parity = "—" if par is None else {"ok": "strict", "fail": "failed"}.get(par.verdict, par.verdict)
        rows.append([model_label(p), ex.verdict, ex.exporter or "—", parity, shown_ratio(ex.ratio, ex.ratio_ci95, run.noise),
                     "; ".join(ex.warnings) or ex.error or "—"])  # fmt: skip
    if not rows:
        return Section(
            "readiness", "Deployment readiness (ONNX)", [f"ONNX export and parity: {NOT_MEASURED}."]
        )
    blocks: list[Block] = [
        "ORT/eager = the median of per-round ratios ONNX Runtime / eager over interleaved rounds, with its 95% CI "
        "(below 1: ORT is faster; n.s.: the CI contains 1, no significant difference).",
        Table(["model", "verdict", "exporter", "parity", "ORT/eager [95% CI]", "warnings or error"], rows),
    ]
    if untrusted(run.noise):  # no plot of ratios that are no findings
        blocks.append(f"ORT/eager ratios are {UNTRUSTED} ({run.noise.line()}).")
        return Section("readiness", "Deployment readiness (ONNX)", blocks)
    svg = ratio_ci_svg([(model_label(p), p.export.ratio, p.export.ratio_ci95) for p in run.profiles if p.export],
                       "ONNX Runtime / eager (log scale; grey: no significant difference)", "ORT/eager with 95% CIs")  # fmt: skip
    if svg:
        blocks.append(Plot("ort_ratio", "ORT/eager with 95% CIs", svg))
    return Section("readiness", "Deployment readiness (ONNX)", blocks)


def _onnx_ready(p: ProfileResult) -> float | None:
    if p.export is None:
        return None
    return 1.0 if p.export.verdict in READY else 0.0


def _check_onnx_ready(p: ProfileResult, limit: bool) -> BudgetVerdict:
    value = _onnx_ready(p)
    if value is None:
        return BudgetVerdict(None, limit, False, note="not measured")
    passed = value == 1.0
    return BudgetVerdict(value, 1.0, passed, note="" if passed else f"export verdict {p.export.verdict}")


def _only_true(where: str, key: str, value: bool) -> None:
    from benchbench.core.errors import BadInputError

    if value is not True:
        raise BadInputError(f"{where}: key {key!r} may only be true (omit it to skip the check)")


@stage("export", record=Readiness, section=readiness_section, section_id="readiness", order=50,
       suites=("default", "full"), latencies=Readiness.timed_latencies,
       budgets={"onnx_ready": BudgetMetric(_onnx_ready, types=(bool,), validate=_only_true, check=_check_onnx_ready,
                                           fmt=lambda v: "ready" if v == 1.0 else "not ready")})  # fmt: skip
def export_stage(target: Target, result: ProfileResult, ctx: StageContext) -> Readiness:
    """Readiness of `target` with short timings, files under `ctx.out_dir/onnx/`."""
    from benchbench.deploy.readiness import ReadinessConfig, check_readiness

    start = time.perf_counter()
    readiness = check_readiness(target, Path(ctx.out_dir) / "onnx", ReadinessConfig(device=ctx.device))
    readiness.stage_s = time.perf_counter() - start
    return readiness
