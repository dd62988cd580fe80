"""The `deploy_matrix` stage: the cheap cells of the deployment matrix (eager fp32, ONNX Runtime fp32 and dynamic
int8) for every model, its report section (the table and the frontier of latency against quality drop) and the
`max_quality_drop` budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchbench.core.stage import BudgetMetric, StageContext, stage
from benchbench.matrix.records import DeployMatrix
from benchbench.matrix.stage import max_quality_drop, stage_matrix
from benchbench.measure.records import ProfileResult
from benchbench.report.matrix import matrix_section

if TYPE_CHECKING:
    from benchbench.sources.target import Target


def _fraction(where: str, key: str, value: float) -> None:
    from benchbench.core.errors import BadInputError

    if not 0 <= value <= 1:
        raise BadInputError(f"{where}: {key} is a fraction of quality lost, from 0 to 1; got {value}")


@stage("deploy_matrix", record=DeployMatrix, section=matrix_section, order=55, suites=("default", "full"),
       budgets={"max_quality_drop": BudgetMetric(max_quality_drop, "max", validate=_fraction)})  # fmt: skip
def deploy_matrix_stage(target: Target, result: ProfileResult, ctx: StageContext) -> DeployMatrix:
    """Eager fp32, ORT fp32 and ORT int8-dynamic side by side: parity, quality drop and latency against eager."""
    return stage_matrix(target, result, ctx)
