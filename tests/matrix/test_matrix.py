"""The deployment matrix on small user models: verdicts, quality checks and budgets, blockers by name."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from benchbench.matrix.matrix import STAGE_TIMING, MatrixConfig, run_matrix
from benchbench.matrix.runtimes import RUNTIMES, BuildContext, Runtime, Variant, module_call, quantized_copy
from benchbench.matrix.torch_paths import graph_breaks
from benchbench.sources.target import load_target

HAS_TORCHAO = importlib.util.find_spec("torchao") is not None


def _config(**kw) -> MatrixConfig:
    base = dict(batch_size=8, samples=6, threads=1, timing=STAGE_TIMING, calibration=2)
    return MatrixConfig(**{**base, **kw})


def _scaled_then_int8(ctx: BuildContext, precision: str) -> Variant:
    """A deliberately wrong quantization: the first layer's weights doubled, then torchao's int8 weight-only."""
    wrong = copy.deepcopy(ctx.target.model).eval()
    with torch.no_grad():
        wrong.body[0].weight.mul_(2.0)
    return Variant(module_call(quantized_copy(wrong, precision)), 0.0)


@pytest.fixture
def broken_runtime(monkeypatch):
    monkeypatch.setitem(RUNTIMES, "broken", Runtime("broken", ("int8-weight",), _scaled_then_int8))
    return "broken"


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao is not installed")
def test_wrong_quantization_is_caught_and_a_correct_int8_passes(tmp_path, broken_runtime):
    target = load_target("tests.matrix.models:classifier", batch_size=8)
    m = run_matrix(target, tmp_path, _config(runtimes=("eager", broken_runtime), precisions=("fp32", "int8-weight"),
                                             max_quality_drop=0.05))  # fmt: skip
    assert m.quality_proxy == "top-1"
    wrong = m.row("broken", "int8-weight")
    assert (
        wrong.verdict == "not-ready" and "differ from eager fp32" in wrong.reason
    )  # parity at the int8 rule
    assert wrong.quality.drop > 0.05 and wrong.over_budget is True  # the quality proxy and the budget
    assert wrong.quality.drop_ci95[0] > 0.05  # the whole CI is over the budget, not one unlucky draw
    good = m.row("eager", "int8-weight")  # the same int8 quantizer on the right weights
    assert good.verdict in ("ready", "ready-with-warnings"), good.reason
    assert good.parity.verdict in ("ok", "loose") and good.over_budget is False
    assert good.quality.drop <= 0.05 and good.latency_ratio is not None and good.latency_ratio_ci95
    assert 0 < good.artifact_bytes < m.row("eager", "fp32").artifact_bytes  # int8 weights take less room
    assert m.row("eager", "fp32").quality.drop == 0.0 and m.row("eager", "fp32").latency_ratio == 1.0


def test_cli_exits_1_over_the_quality_budget_and_0_within_it(cli, tmp_path):
    argv = ["deploy", "tests.matrix.models:regressor", "--runtimes", "eager", "--precisions", "fp32,fp16,int8-static",
            "--samples", "3", "--out", str(tmp_path)]  # fmt: skip
    code, out, _ = cli([*argv, "--max-quality-drop", "0.05"])
    assert code == 0, out
    flat = " ".join(out.split())
    assert (
        "relative error" in flat and "int8-static does not apply to eager" in flat
    )  # a skipped row is no failure
    code, out, _ = cli([*argv, "--max-quality-drop", "0"])  # fp16 rounding is a drop > 0 in relative error
    assert code == 1 and "over the quality budget: eager fp16: drop" in out
    code, _, err = cli([*argv, "--max-quality-drop", "-1"])
    assert code == 2 and "--max-quality-drop" in err


def test_unknown_runtime_and_precision_are_one_line_errors(cli):
    code, _, err = cli(["deploy", "resnet18", "--runtimes", "eager,tensorrt"])
    assert code == 2 and "unknown runtime: 'tensorrt'; allowed:" in err and "openvino" in err
    code, _, err = cli(["deploy", "resnet18", "--precisions", "int3"])
    assert code == 2 and "unknown precision: 'int3'; allowed:" in err and "int4-weight" in err


def test_user_metric_is_the_drop(tmp_path):
    from tests.matrix.models import accuracy_against_eager

    target = load_target("tests.matrix.models:classifier", batch_size=8)
    m = run_matrix(target, tmp_path, _config(runtimes=("eager",), precisions=("fp32", "fp16"),
                                             eval_fn=accuracy_against_eager, eval_name="acc"))  # fmt: skip
    assert m.quality_proxy == "user metric"
    assert m.row("eager", "fp32").quality.drop == 0.0  # the metric on eager is 1.0 by construction
    assert m.row("eager", "fp32").quality.extra["user_metric"][0] == 1.0


def test_graph_breaks_are_counted_with_the_line():
    target = load_target("tests.matrix.models:branchy", batch_size=4)
    breaks, reasons = graph_breaks(target.model, target.inputs)
    assert breaks >= 1
    assert any("models.py:" in r and "if y.sum() > 0" in r for r in reasons), reasons


def test_export_names_the_blocking_line(tmp_path):
    from tests.matrix import models

    lines = Path(models.__file__).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "# the blocking line" in text)
    target = load_target("tests.matrix.models:data_dependent", batch_size=4)
    m = run_matrix(
        target, tmp_path, _config(runtimes=("export", "export-strict"), precisions=("fp32",), samples=2)
    )
    for runtime in ("export", "export-strict"):
        row = m.row(runtime, "fp32")
        assert row.verdict == "not-ready" and "torch.export" in row.reason, row
        own = [b for b in row.blockers if not b.startswith("draft export:")]  # from the exporter's own error
        # non-strict stops where the data-dependent value is read, strict at the guard on it, one line on
        assert any(f"models.py:{line} in forward" in b or f"models.py:{line + 1} in forward: return y[:, :n]" in b
                   for b in own), row.blockers  # fmt: skip
    if hasattr(torch.export, "draft_export"):
        drafts = [b for b in m.row("export", "fp32").blockers if b.startswith("draft export:")]
        assert any(f"models.py:{line} in forward: n = int((y > 0).sum().item())" in b for b in drafts), drafts


@pytest.mark.slow
def test_compile_row_reports_graph_breaks(tmp_path):
    target = load_target("tests.matrix.models:branchy", batch_size=4)
    m = run_matrix(target, tmp_path, _config(runtimes=("compile",), precisions=("fp32",), samples=2))
    row = m.row("compile", "fp32")
    if row.verdict == "skipped":
        pytest.skip(row.reason)
    assert row.graph_breaks >= 1 and row.verdict == "ready-with-warnings" and row.parity.verdict == "ok"
    assert row.build_s > 0 and row.recompiles is not None


def test_missing_runtime_is_skipped_with_the_reason(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a)
    )
    target = load_target("tests.matrix.models:classifier", batch_size=8)
    m = run_matrix(target, tmp_path, _config(runtimes=("openvino", "aoti"), precisions=("fp32",), samples=2))
    assert m.row("openvino", "fp32").verdict == "skipped"
    assert "OpenVINO is not installed (pip install openvino)" in m.row("openvino", "fp32").reason
    assert m.row("aoti", "fp32").verdict == "skipped" and "opt-in" in m.row("aoti", "fp32").reason


def test_stage_builds_the_cheap_cells(tmp_path):  # also: ONNX Runtime's correct int8 passes the checks
    from types import SimpleNamespace

    from benchbench.stages.deploy_matrix import deploy_matrix_stage

    target = load_target("tests.matrix.models:classifier", batch_size=1)
    m = deploy_matrix_stage(target, SimpleNamespace(export=None), SimpleNamespace(out_dir=tmp_path))
    assert [(r.runtime, r.precision) for r in m.rows] == [
        ("eager", "fp32"),
        ("ort", "fp32"),
        ("ort", "int8-dynamic"),
    ]
    assert all(r.verdict in ("ready", "ready-with-warnings") for r in m.rows), [r.reason for r in m.rows]
    int8 = m.row("ort", "int8-dynamic")
    assert int8.parity.verdict in ("ok", "loose") and int8.quality.drop <= 0.05 and int8.latency_ratio_ci95
    assert m.stage_s is not None and (tmp_path / "deploy_matrix").is_dir()


@pytest.mark.slow
def test_cli_on_a_small_gpt2_config(cli, tmp_path, capsys):
    # the command's own stderr is checked only on failure (transformers remarks on the small vocab's token ids)
    transformers = pytest.importorskip("transformers")
    config_dir = tmp_path / "gpt2"
    transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=1000, n_positions=128).save_pretrained(
        config_dir
    )
    json_path = tmp_path / "m.json"
    code, _, _ = cli(["deploy", f"hf:{config_dir}", "--task", "causal-lm", "--seq-len", "16", "--runtimes",
                        "eager,ort,openvino", "--precisions", "fp32,int8-dynamic", "--samples", "3",
                        "--out", str(tmp_path / "out"), "--json", str(json_path)])  # fmt: skip
    m = json.loads(json_path.read_text())
    rows = {(r["runtime"], r["precision"]): r for r in m["rows"]}
    assert m["quality_proxy"] == "tokens" and len(rows) == 6
    assert rows[("ort", "int8-dynamic")]["verdict"] in ("ready", "ready-with-warnings")
    assert "perplexity_change" in rows[("ort", "int8-dynamic")]["quality"]["extra"]
    assert rows[("eager", "int8-dynamic")]["verdict"] == "skipped"
    ov = rows[("openvino", "fp32")]
    assert ov["verdict"] in ("ready", "ready-with-warnings") or "OpenVINO is not installed" in ov["reason"]
    assert code == 0
