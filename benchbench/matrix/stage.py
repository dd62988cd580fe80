"""What the `deploy_matrix` run stage measures (registered in `benchbench/stages/deploy_matrix.py`), and the value
its `max_quality_drop` budget reads.

The stage builds the cheap cells only (eager fp32, ONNX Runtime fp32 and dynamic int8, at batch 2, one
thread, 4 draws, short interleaved timing), reusing the export stage's ONNX file when that stage ran first, so
that it adds a few seconds per tiny model to the default CPU suite.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchbench.matrix.matrix import STAGE_TIMING, MatrixConfig, run_matrix
from benchbench.matrix.records import DeployMatrix
from benchbench.sources.target import Target

STAGE_RUNTIMES = ("eager", "ort")
STAGE_PRECISIONS = ("fp32", "int8-dynamic")


def stage_config(onnx: tuple[str, float, str] | None = None) -> MatrixConfig:
    """The stage's cells and effort."""
    return MatrixConfig(runtimes=STAGE_RUNTIMES, precisions=STAGE_PRECISIONS, batch_size=2, samples=4, threads=1,
                        timing=STAGE_TIMING, calibration=0, onnx=onnx)  # fmt: skip


def stage_matrix(target: Target, result: Any, ctx: Any) -> DeployMatrix:
    """The stage's cells for `target`, reusing the export stage's ONNX file when it ran; files under
    `ctx.out_dir/deploy_matrix/<model>_<size>/`."""
    start = time.perf_counter()
    readiness = getattr(result, "export", None)
    onnx = None
    if readiness is not None and getattr(readiness, "file", None) and Path(readiness.file).exists():
        onnx = (readiness.file, readiness.export_s or 0.0, readiness.exporter or "dynamo")
    work = Path(ctx.out_dir) / "deploy_matrix" / f"{_safe(target.name)}_{_safe(target.size)}"
    matrix = run_matrix(target, work, stage_config(onnx))
    matrix.stage_s = time.perf_counter() - start
    return matrix


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def max_quality_drop(profile: Any) -> float | None:
    """The largest quality drop over the rows the stage measured (None when it did not run)."""
    matrix = getattr(profile, "deploy_matrix", None)
    if not isinstance(matrix, DeployMatrix):
        return None
    drops = [r.quality.drop for r in matrix.rows if r.quality is not None]
    return max(drops, default=None)
