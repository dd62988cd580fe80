"""A kernel that returns NaN, registered at run time, fails `kernels compare` and `swap`, with the reason named."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from benchbench.cli import main
from benchbench.kernels import registry
from benchbench.kernels.registry import register_kernel


@pytest.fixture
def nan_layernorm():
    """layernorm/nan: the right shape and dtype, one NaN in every output (backward flows as usual)."""
    registry._load_kernels()

    def nan_layer_norm(x, weight, bias, eps=1e-5):
        y = F.layer_norm(x, x.shape[-1:], weight, bias, eps)
        return y + torch.where(torch.arange(y.numel(), device=y.device).view_as(y) == 0, float("nan"), 0.0)

    register_kernel("layernorm", "nan", description="returns NaN (a test)")(nan_layer_norm)
    yield "nan"
    registry._KERNELS["layernorm"].remove("nan")


def test_kernels_compare_fails_on_nan(nan_layernorm, tmp_path, capsys):
    out = tmp_path / "c.json"
    code = main(["kernels", "compare", "layernorm", "--impl", nan_layernorm, "--shapes", "M=3,N=17",
                 "--backward", "--json", str(out)])  # fmt: skip
    assert code == 1
    rows = [r for r in json.loads(out.read_text())["rows"] if r["impl"] == "nan"]
    assert rows and all(r["ok"] is False and r["note"].startswith("NaN in output") for r in rows)
    assert "NaN in output" in capsys.readouterr().out


def test_swap_fails_on_nan(nan_layernorm, tmp_path, capsys):
    out = tmp_path / "s.json"
    code = main(["swap", "bert", "--ops", "layernorm", "--impl", nan_layernorm, "--rounds", "1",
                 "--json", str(out)])  # fmt: skip
    assert code == 1
    d = json.loads(out.read_text())
    assert (
        d["swap"]["swapped_sites"] > 0 and not d["ok"] and d["parity"]["reason"].startswith("NaN in output 0")
    )
    assert "FAIL" in capsys.readouterr().out
