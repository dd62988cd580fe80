"""The matrix in documents: table, frontier plot, report and card sections, the gate metric, the stage."""

from __future__ import annotations

from types import SimpleNamespace

from benchbench.matrix.records import DeployMatrix, MatrixRow, QualityDelta
from benchbench.matrix.stage import max_quality_drop
from benchbench.report.document import Plot, Table
from benchbench.report.markdown import markdown_table
from benchbench.report.matrix import (
    best_row,
    card_section,
    deployment_card_section,
    matrix_section,
    matrix_table,
)


def _matrix() -> DeployMatrix:
    m = DeployMatrix("m", "tiny", 2, 1, 4, quality_proxy="top-1")
    m.rows = [
        MatrixRow("eager", "fp32", "ready", quality=QualityDelta("top-1", 0.0, [0.0, 0.0], 4), latency_ratio=1.0),
        MatrixRow("ort", "fp32", "ready", quality=QualityDelta("top-1", 0.0, [0.0, 0.0], 4), latency_ratio=0.8,
                  latency_ratio_ci95=[0.7, 0.9], artifact_bytes=1000),
        MatrixRow("ort", "int8-dynamic", "ready-with-warnings", quality=QualityDelta("top-1", 0.2, [0.1, 0.3], 4),
                  latency_ratio=0.5, latency_ratio_ci95=[0.4, 0.6], warnings=["w"]),
        MatrixRow("export", "fp32", "not-ready", reason="torch.export failed | <b>", blockers=["model.py:3 in f: x"]),
        MatrixRow("openvino", "fp32", "skipped", reason="OpenVINO is not installed (pip install openvino)"),
    ]  # fmt: skip
    return m


def test_table_and_best_row_under_a_budget():
    m = _matrix()
    t = matrix_table(m)
    assert isinstance(t, Table) and len(t.rows) == 5
    assert "blocked by model.py:3 in f: x" in t.rows[3][-1] and "OpenVINO is not installed" in t.rows[4][-1]
    assert "\\|" in markdown_table(t)  # a pipe from an error message cannot break the Markdown table
    assert best_row(m, 0.01).runtime == "ort" and best_row(m, 0.01).precision == "fp32"
    assert best_row(m, 0.5).precision == "int8-dynamic"  # faster and within the looser budget
    assert best_row(m, -1.0) is None


def test_sections_and_plot():
    m = _matrix()
    card = deployment_card_section(m, 0.01)
    assert card.id == "deployment" and any("ort fp32" in b for b in card.blocks if isinstance(b, str))
    assert any(isinstance(b, Plot) and b.svg.startswith("<svg") for b in card.blocks)
    run = SimpleNamespace(profiles=[SimpleNamespace(deploy_matrix=m), SimpleNamespace()])
    section = matrix_section(run)
    assert section.id == "deploy_matrix" and any(isinstance(b, Table) for b in section.blocks)
    assert matrix_section(SimpleNamespace(profiles=[SimpleNamespace()])) is None
    assert "not measured" in deployment_card_section(None).blocks[0]
    assert (
        card_section(SimpleNamespace(deploy_matrix=m))
        .blocks[1]
        .startswith("Best within budget: **ort fp32**")
    )


def test_gate_metric():
    import benchbench.stages  # noqa: F401  (registers the built-in stages)
    from benchbench.core.stage import STAGES

    metric = STAGES.get("deploy_matrix").budgets["max_quality_drop"]
    extractor, direction = metric.extract, metric.direction
    assert direction == "max" and extractor is max_quality_drop
    assert extractor(SimpleNamespace(deploy_matrix=_matrix())) == 0.2
    assert extractor(SimpleNamespace()) is None
