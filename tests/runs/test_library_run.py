"""`benchbench run --models torchvision:NAME,...`: a library model through the run and the gate, selected by a pattern."""

from __future__ import annotations

import importlib.util

import pytest

from benchbench.cli import main
from benchbench.record.run import load_run

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="needs torchvision")


@pytest.fixture(scope="module")
def library_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["run", "--suite", "smoke", "--models", "torchvision:squeezenet1_1,mlp",
                 "--out", str(out)]) == 0  # fmt: skip
    (run_dir,) = [d for d in out.iterdir() if d.is_dir()]
    return run_dir


def test_run_takes_library_names_once_and_zoo_names_at_each_size(library_run):
    run = load_run(library_run)
    assert [(p.model, p.size) for p in run.profiles] == [
        ("torchvision:squeezenet1_1", "default"),
        ("mlp", "tiny"),
    ]
    sq = run.profiles[0]
    assert sq.ok and sq.params.total == 1_235_496  # torchvision SqueezeNet1_1_Weights meta["num_params"]
    assert "torchvision" in sq.env["versions"]


@pytest.mark.parametrize("limit, code", [(2_000_000, 0), (1_000_000, 1)])
def test_gate_selects_library_models_by_pattern(library_run, tmp_path, capsys, limit, code):
    budgets = tmp_path / "b.toml"
    budgets.write_text(f'[[budget]]\nmodel = "torchvision:*"\nparams_max = {limit}\n')
    assert main(["gate", str(library_run), "--budgets", str(budgets)]) == code
    out = capsys.readouterr().out
    assert "torchvision:squeezenet1_1" in out
