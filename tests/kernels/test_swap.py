"""The swap: zoo attention(), direct F.scaled_dot_product_attention calls and norm modules routed, with fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchbench.core.errors import BadInputError
from benchbench.core.files import to_jsonable
from benchbench.kernelbench.swap_check import check_swap, compare_outputs
from benchbench.kernels import swap
from benchbench.kernels.attention import attention_sdpa
from benchbench.kernels.registry import dispatch
from benchbench.sources.target import load_target

SDPA = F.scaled_dot_product_attention

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # user_sdpa_model, as a user's package would be importable

pytestmark = pytest.mark.interpreter


def test_zoo_bert_attention_sites_are_swapped_and_restored():
    target = load_target("bert", "tiny", 2)
    model = target.model.eval()
    with torch.no_grad():
        ref = model(*target.inputs)
        with swap(model, ["attention"], "triton") as report:
            out = model(*target.inputs)
            assert "forward" in model.__dict__ and F.scaled_dot_product_attention is not SDPA
    counts = report.counts()["attention"]
    assert counts.sites == 2 and counts.swapped == 2 and counts.calls == 2  # one per layer, not double
    assert all(s.kind == "dispatch" for s in report.sites.values())
    assert compare_outputs(ref, out, torch.float32).ok
    assert "forward" not in model.__dict__ and F.scaled_dot_product_attention is SDPA
    assert dispatch("attention") is attention_sdpa


@pytest.mark.parametrize("intercept", ["patch", "mode"])
def test_user_model_sdpa_calls_are_intercepted_with_a_fallback_reason(intercept):
    import user_sdpa_model

    model = user_sdpa_model.make_model().eval()
    x = model.example_inputs(2)
    with torch.no_grad():
        ref = model(*x)
        with swap(model, "attention,layernorm", "triton", intercept=intercept) as report:
            out = model(*x)
    assert user_sdpa_model.sdpa is SDPA  # the imported name is restored
    sites = {s.site: s for s in report.sites.values()}
    assert sites["blocks.0: F.scaled_dot_product_attention"].status == "swapped"
    wide = sites["wide: F.scaled_dot_product_attention"]
    assert wide.status == "fallback" and any("head dim 160" in r for r in wide.reasons)
    assert to_jsonable(report.counts()["attention"]) == {"sites": 3, "swapped": 2, "fallback": 1, "not_called": 0,
                                            "calls": 3, "swapped_calls": 2}  # fmt: skip
    assert report.counts()["layernorm"].swapped == 3
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


class _Float64Norm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8).double()
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(x))


def test_module_swap_falls_back_on_an_unsupported_dtype():
    model = _Float64Norm()
    x = torch.randn(3, 8, dtype=torch.float64)
    ref = model(x)
    with swap(model, ["layernorm", "gelu"], "triton") as report:
        out = model(x)
    assert torch.equal(out, ref)  # the original modules ran
    for site in report.sites.values():
        assert site.status == "fallback"
        assert any("float64" in r for r in site.reasons)
    assert set(model.state_dict()) == {"norm.weight", "norm.bias"}


def test_sdpa_with_dropout_is_left_to_sdpa():
    class Drop(nn.Module):
        def forward(self, q):
            return F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)

    model = Drop()
    q = torch.randn(1, 2, 4, 16)
    with swap(model, ["attention"], "eager") as report:
        model(q)
    (site,) = report.sites.values()
    assert site.status == "fallback" and "dropout_p=0.5" in next(iter(site.reasons))


def test_paused_report_runs_the_original_and_counts_nothing():
    from user_sdpa_model import make_model

    model = make_model().eval()
    with swap(model, ["attention"], "eager") as report, torch.no_grad(), report.paused():
        model(*model.example_inputs(1))
    assert report.sites == {}


def test_calls_outside_the_swapped_model_are_not_routed():
    from user_sdpa_model import make_model

    model, other = make_model().eval(), make_model().eval()
    with torch.no_grad(), swap(model, ["attention"], "eager") as report:
        other(*other.example_inputs(1))
    assert report.sites == {}


@pytest.mark.parametrize("ops, impl, match", [("nonsense", "triton", "unknown op"),
                                              ("attention", "nonsense", "unknown implementation"),
                                              ("", "triton", "no ops")])  # fmt: skip
def test_bad_names_are_bad_input(ops, impl, match):
    with pytest.raises(BadInputError, match=match):
        swap(nn.Linear(2, 2), ops, impl)
    with pytest.raises(BadInputError, match="allowed: patch, mode"):
        swap(nn.Linear(2, 2), "attention", intercept="spy")


def test_check_swap_times_non_interpreted_impls_side_by_side():
    target = load_target("bert", "tiny", 1)
    result = check_swap(target, ["attention"], "eager", rounds=1)
    assert result.ok and len(result.parity.outputs) == 2
    assert result.speed.status == "timed" and result.speed.speedup > 0
    lo, hi = result.speed.ratio_ci95  # before / after in interleaved rounds: the median ratio inside its CI
    assert lo <= result.speed.speedup <= hi and result.speed.rounds >= 8 and result.speed.rounds % 2 == 0
    assert result.speed.stop_reason in ("ci_target", "time_cap", "max_repeats")
    assert result.swap.counts["attention"].swapped == 2


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "benchbench", *args], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


@pytest.mark.parametrize("model, swapped, sites", [("bert", 2, 2), ("user_sdpa_model:make_model", 2, 3)])
def test_cli_swap_reports_sites_and_parity(tmp_path, model, swapped, sites):
    out = tmp_path / "swap.json"
    proc = _cli("swap", model, "--size", "tiny", "--ops", "attention", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"attention: {swapped} of {sites} call sites swapped" in proc.stdout
    assert "PASS" in proc.stdout and "interpreted" in proc.stdout
    data = json.loads(out.read_text())
    assert data["parity"]["ok"] and data["ok"] and data["speed"]["status"] == "interpreted"
    assert data["swap"]["counts"]["attention"]["swapped"] == swapped


class _ScanBlock(nn.Module):
    """Calls the zoo's dispatch('selective_scan'), as the Mamba mixer does."""

    def __init__(self) -> None:
        super().__init__()
        self.A = nn.Parameter(-torch.rand(4, 3))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(0)
        B, C = torch.randn(1, 3, u.shape[-1], generator=g), torch.randn(1, 3, u.shape[-1], generator=g)
        delta = torch.rand(u.shape, generator=g)
        return dispatch("selective_scan")(u, delta, self.A, B, C)


def test_dispatch_calls_of_any_op_are_routed_with_fallback():
    model = _ScanBlock()
    u = torch.randn(1, 4, 9)
    with torch.no_grad():
        ref = model(u)
        with swap(model, ["selective_scan"], "triton") as report:
            out = model(u)
    (site,) = report.sites.values()
    assert site.site == "<root>: selective_scan()" and site.status == "swapped"
    assert any("dispatch('selective_scan')" in n for n in report.notes)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    with swap(model, ["selective_scan"], "triton") as report:  # with grad: the Triton scan has no backward
        model(u.requires_grad_())
    (site,) = report.sites.values()
    assert site.status == "fallback" and "no backward" in next(iter(site.reasons))


# ---- nothing swapped is not a pass; outputs too small to judge are judged at another scale ----------------


def _swap_json(tmp_path, model: str, *extra: str) -> tuple[int, dict]:
    from benchbench.cli import main

    out = tmp_path / "swap.json"
    code = main(["swap", f"only_mha_model:{model}", "--ops", "attention", "--impl", "eager", "--rounds", "1",
                 "--json", str(out), *extra])  # fmt: skip
    return code, json.loads(out.read_text())


def test_an_mha_model_with_the_mha_route_off_is_nothing_swapped_and_exits_1(tmp_path, capsys):
    code, d = _swap_json(tmp_path, "only_mha", "--no-mha-route")
    assert code == 1 and d["verdict"] == "nothing-swapped" and d["ok"] is False
    assert d["swap"]["swapped_sites"] == 0
    assert d["swap"]["uncovered_ops"] == {"aten::_native_multi_head_attention": 1}
    printed = capsys.readouterr().out
    assert "verdict: nothing-swapped" in printed and "aten::_native_multi_head_attention ×1" in printed
    code, d = _swap_json(tmp_path, "only_mha")  # the route on: swapped, checked, passed
    assert code == 0 and d["verdict"] == "ok" and d["swap"]["swapped_sites"] == 1
    assert d["swap"]["uncovered_ops"] == {}


def test_attention_written_out_as_matmul_softmax_matmul_is_listed(tmp_path):
    code, d = _swap_json(tmp_path, "written_out")
    assert code == 1 and d["verdict"] == "nothing-swapped"
    assert d["swap"]["uncovered_ops"] == {"matmul + softmax + matmul": 1}


@pytest.fixture
def wrong_attention():
    """attention/wrong: softmax at twice the scale, the right shapes and dtype."""
    from benchbench.kernels import registry

    registry._load_kernels()

    def doubled_scale(q, k, v, *, attn_mask=None, is_causal=False, scale=None):
        s = (scale or q.shape[-1] ** -0.5) * 2
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=s)

    registry.register_kernel("attention", "wrong", description="doubled scale (a test)")(doubled_scale)
    yield "wrong"
    registry._KERNELS["attention"].remove("wrong")


@pytest.mark.parametrize("impl, verdict", [("eager", "ok"), ("wrong", "fail")])
def test_outputs_of_about_1e_17_get_a_real_verdict_after_reinitialising(wrong_attention, impl, verdict):
    target = load_target(f"{HERE / 'only_mha_model.py'}:vanishing", batch_size=2)
    with torch.no_grad():
        ref = target.model(*target.inputs)
    assert 1e-19 < ref.abs().max() < 1e-15  # the scale of torchvision EfficientNet-B0's random-init logits
    before = {k: v.clone() for k, v in target.model.state_dict().items()}
    r = check_swap(target, ["attention"], impl, rounds=1)
    assert r.parity.inconclusive_before and "below the float32 floor" in r.parity.inconclusive_before[0]
    assert "re-initialised" in r.parity.remedy and r.parity.outputs[0].ref_rms > 1e-3
    assert r.verdict == verdict and r.parity.verdict == verdict
    if verdict == "fail":
        assert r.parity.outputs[0].rel_err > 1e-2 and "relative error" in r.parity.reason
    assert all(torch.equal(v, before[k]) for k, v in target.model.state_dict().items())  # weights put back
