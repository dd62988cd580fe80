"""A factory returning `(model, example_inputs)` at one batch exports at that batch, its batch axis fixed and
said so with the remedy named; profile --batch-size on it repeats the inputs along their batch axis or refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchbench.cli import main

MODELS = str(Path(__file__).with_name("pair_models.py"))
FACTORIES = ["small_lm", "two_inputs", "int_and_float", "tensor_and_none"]


@pytest.mark.parametrize("factory", FACTORIES)
def test_a_factory_at_one_batch_exports_with_its_batch_axis_fixed_and_the_remedy_named(readiness_of, factory):
    r = readiness_of(f"{MODELS}:{factory}", quantize=False)
    assert r.verdict in ("ready", "ready-with-warnings"), (r.stage_failed, r.error)
    fixed = [w for w in r.warnings if w.startswith("batch axis fixed at 1")]
    assert len(fixed) == 1 and "example_inputs(batch_size)" in fixed[0]
    assert r.dynamic_axes == {} and r.export_batch_size == 1
    assert r.parity.verdict == "ok" and [c["batch_size"] for c in r.parity.cases] == [1]
    assert r.latency_batch_size == 1 and r.ratio is not None


def test_the_none_output_is_no_graph_output(readiness_of):
    import onnx

    r = readiness_of(f"{MODELS}:tensor_and_none", quantize=False)
    assert [o.name for o in onnx.load(r.file).graph.output] == ["output_0"]


def test_export_cli_on_a_small_lm_factory(tmp_path, capsys):
    out = tmp_path / "lm.json"
    code = main(
        ["export", f"{MODELS}:small_lm", "--no-quantize", "--out", str(tmp_path / "onnx"), "--json", str(out)]
    )
    assert code == 0
    export = json.loads(out.read_text())["export"]
    assert export["verdict"] == "ready-with-warnings" and export["export_batch_size"] == 1
    assert any("batch axis fixed at 1" in w for w in export["warnings"])


def _macs(tmp_path: Path, model: str, *batch: str) -> int:
    out = tmp_path / f"p{len(batch)}.json"
    assert main(["profile", model, *batch, "--no-memory", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    return data["flops"]["macs"], data["batch_size"]


@pytest.mark.parametrize("factory", ["small_lm", "int_and_float"])
def test_profile_batch_size_3_repeats_the_inputs_and_gives_3x_the_macs(tmp_path, factory):
    one, b1 = _macs(tmp_path, f"{MODELS}:{factory}")
    three, b3 = _macs(tmp_path, f"{MODELS}:{factory}", "--batch-size", "3")
    assert (b1, b3) == (1, 3) and one > 0 and three == 3 * one


def test_profile_batch_size_without_a_batch_axis_is_one_line_refusal(tmp_path, cli):
    code, _, err = cli(["profile", f"{MODELS}:nodes_and_edges", "--batch-size", "3"])
    assert code == 2 and "no batch axis can be found" in err and "example_inputs(batch_size)" in err


def test_repeated_inputs_tile_whole_examples():
    import torch

    from benchbench.sources.target import batch_axis_size, repeat_maker

    ids, x = torch.tensor([[1, 2], [3, 4]]), torch.randn(2, 5)
    maker, how = repeat_maker((ids, x, None), None)
    got = maker(5, None)
    assert (
        got[0].tolist() == [[1, 2], [3, 4], [1, 2], [3, 4], [1, 2]]
        and got[1].shape == (5, 5)
        and got[2] is None
    )
    assert "axis 0" in how and batch_axis_size((torch.randn(3, 2), torch.randn(4))) is None
