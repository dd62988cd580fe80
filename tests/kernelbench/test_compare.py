"""Kernel comparison, the GPU campaign's code path and `list --kernels`, exercised on the CPU with a dummy op."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.core.schema import read
from benchbench.estimate.ceilings import Ceilings
from benchbench.kernelbench.compare import compare_op, parse_shape
from benchbench.kernelbench.records import CompareRow
from benchbench.kernels import registry
from benchbench.kernels.registry import OpSpec, get_op, register_kernel, register_op
from benchbench.report.plots import write_compare
from benchbench.runs.campaign import ATTENTION_GOALS, CampaignConfig, judge_goals, run_campaign

CEILINGS = Ceilings("cpu", "float32", matmul_tflops=1.0, copy_gbs=10.0, matmul_n=8, copy_bytes=8)


@pytest.fixture
def dummy_op():
    """An op 'dummy' (y = 2x): a baseline, a correct impl, a wrong one and an 'interpreted' one; removed after."""
    registry._load_kernels()
    register_kernel("dummy", "eager", baseline=True, default=True)(lambda x: x * 2)
    register_kernel("dummy", "fast")(lambda x: x + x)
    register_kernel("dummy", "wrong")(lambda x: x * 2.5)
    register_kernel("dummy", "interp", interpreted_on_cpu=True)(lambda x: 2 * x)
    register_kernel("dummy", "picky", check=lambda x: "too big" if x.numel() > 100 else None)(lambda x: x * 2)
    register_op(OpSpec(
        name="dummy",
        make_inputs=lambda s, dt, dev: ((torch.randn(s["M"], s["N"], dtype=dt, device=dev),), {}),
        shapes=({"M": 4, "N": 8}, {"M": 64, "N": 64}, {"M": 4096, "N": 4096, "set": "gpu"}),
        flops=lambda s: float(s["M"] * s["N"]),
        backward_flops=lambda s: float(s["M"] * s["N"]),
        bytes_moved=lambda s, dt: 8.0 * s["M"] * s["N"],
        backward_bytes_moved=lambda s, dt: 12.0 * s["M"] * s["N"],
    ))  # fmt: skip
    yield "dummy"
    registry._KERNELS.pop("dummy", None)
    registry._OPS.remove("dummy")
    registry._DEFAULTS.pop("dummy", None)


def test_compare_rows_on_the_cpu(dummy_op):
    res = compare_op(dummy_op, device="cpu", backward=True, ceilings=CEILINGS)
    rows = {(r.impl, r.shape, r.mode): r for r in res.rows}
    assert {r.shape for r in res.rows} == {
        "M=4,N=8",
        "M=64,N=64",
    }  # the gpu-only shape is left out on the CPU
    for mode in ("fwd", "bwd"):
        base, fast = rows[("eager", "M=4,N=8", mode)], rows[("fast", "M=4,N=8", mode)]
        assert base.baseline and base.status == "timed" and base.speedup == pytest.approx(1.0)
        assert base.ratio_ci95 == [1.0, 1.0] and base.reference == fast.reference == "eager"
        lo, hi = fast.ratio_ci95  # the speed-up is the median of interleaved rounds' ratios, inside its CI
        assert fast.ok and lo <= fast.speedup <= hi and fast.baseline_p50_ms == base.p50_ms
        assert fast.ci95_ms[0] <= fast.p50_ms <= fast.ci95_ms[1] and fast.stop_reason in (
            "ci_target",
            "time_cap",
            "max_repeats",
        )
        assert fast.gbps > 0 and fast.bound == "memory" and fast.pct_peak == pytest.approx(10 * fast.gbps)
        assert rows[("wrong", "M=4,N=8", mode)].ok is False
        interp = rows[("interp", "M=4,N=8", mode)]
        assert interp.status == "interpreted" and interp.p50_ms is None and interp.ok
    assert rows[("picky", "M=64,N=64", "fwd")].status == "unsupported"
    assert rows[("picky", "M=64,N=64", "fwd")].note == "too big"


def test_attention_compare_marks_triton_interpreted():
    shape = parse_shape("B=1,H=1,T=17,D=16,causal=1", get_op("attention"))
    res = compare_op("attention", impls=["triton"], shapes=[shape], device="cpu", ceilings=CEILINGS)
    by_impl = {r.impl: r for r in res.rows}
    assert set(by_impl) == {"eager", "triton"}  # the baseline joins to give speed-ups
    assert by_impl["triton"].status == "interpreted" and by_impl["triton"].ok
    assert by_impl["eager"].tflops > 0


@pytest.mark.parametrize("text, match", [("B=x", "integer"), ("Q=3", "keys from"), ("B=0", ">= 1"),
                                         ("causal=maybe", "true/false")])  # fmt: skip
def test_parse_shape_rejects_bad_shapes(text, match):
    with pytest.raises(BadInputError, match=match):
        parse_shape(text, get_op("attention"))


def test_parse_shape_fills_defaults():
    assert parse_shape("T=33,causal=true", get_op("attention")) == {
        "B": 1,
        "H": 2,
        "T": 33,
        "D": 64,
        "causal": True,
    }


def test_write_compare_saves_json_and_plots(dummy_op, tmp_path):
    res = compare_op(dummy_op, impls=["fast", "interp"], shapes=[{"M": 4, "N": 8}], ceilings=CEILINGS)
    paths = write_compare(res, tmp_path / "dummy.json")
    assert [p.suffix for p in paths] == [".json", ".png", ".svg"] and all(p.stat().st_size for p in paths)
    data = json.loads(paths[0].read_text())
    assert data["op"] == "dummy" and {r["impl"] for r in data["rows"]} == {"eager", "fast", "interp"}


def test_cli_compare_prints_interpreted(capsys):
    rc = main(["kernels", "compare", "attention", "--device", "cpu", "--impl", "sdpa", "--impl", "triton",
               "--shapes", "B=1,H=1,T=17,D=16"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "interpreted" in out and "triton" in out and "sdpa" in out and "TFLOP/s" in out


def test_cli_compare_unknown_impl_is_bad_input(capsys):
    assert main(["kernels", "compare", "attention", "--impl", "nope"]) == 2
    assert "unknown implementation" in capsys.readouterr().err


def test_a_skipped_yardstick_keeps_its_row_with_the_reason(tmp_path):
    """`--skip-impl compile` leaves torch.compile out (minutes of C++ on a small CPU) and says so in its rows."""
    out = tmp_path / "gelu.json"
    rc = main(["kernels", "compare", "gelu", "--device", "cpu", "--skip-impl", "compile", "--shapes", "M=3,N=17",
               "--json", str(out)])  # fmt: skip
    assert rc == 0
    rows = json.loads(out.read_text())["rows"]
    skipped = [r for r in rows if r["impl"] == "compile"]
    assert skipped and all(r["status"] == "skipped" and "--skip-impl" in r["note"] for r in skipped)
    assert {r["impl"] for r in rows if r["status"] == "timed"} >= {"eager", "torch"}
    assert main(["kernels", "compare", "gelu", "--skip-impl", "nope"]) == 2


def test_list_kernels_json(capsys):
    assert main(["list", "--kernels", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["kernels"]
    triton = next(r for r in rows if r["op"] == "attention" and r["name"] == "triton")
    assert triton["backward"] and triton["interpreted_on_cpu"] and "bfloat16" in triton["dtypes"]
    assert next(r for r in rows if r["op"] == "attention" and r["name"] == "sdpa")["default"]


def _row(impl: str, mode: str, p50: float, tflops: float | None = None, ok: bool = True) -> CompareRow:
    return CompareRow("attention", impl, False, "cuda", "bfloat16", "s", mode, "timed", p50_ms=p50,
                      tflops=tflops, ok=ok)  # fmt: skip


def test_judge_goals_met_and_missed():
    ceil = Ceilings("cuda", "bfloat16", matmul_tflops=800.0, copy_gbs=1000.0, matmul_n=8192, copy_bytes=1)
    rows = [_row("triton", "fwd", 1.0, tflops=500.0), _row("sdpa_flash", "fwd", 1.4),
            _row("triton", "bwd", 2.0, tflops=375.0), _row("sdpa_flash", "bwd", 1.5)]  # fmt: skip
    got = {g.goal: g for g in judge_goals(rows, {"T": 2048}, "sdpa_flash", ceil)}
    speed = got["forward >= 1.3x SDPA flash"]
    assert speed.met and speed.value == pytest.approx(1.4) and speed.yardstick == "sdpa_flash"
    assert (
        got["forward >= 470 TFLOP/s"].met
        and got["forward >= 470 TFLOP/s"].yardstick == "Triton tutorial on Hopper"
    )
    assert got["forward >= 600 TFLOP/s (stretch)"].met is False
    bwd = got["backward >= 0.8x the forward's rate"]
    assert (
        bwd.met is False and bwd.value == pytest.approx(0.75) and bwd.yardstick == "triton fwd"
    )  # 375 / 500
    wrong = judge_goals([_row("triton", "fwd", 0.5, 900.0, ok=False), _row("sdpa_flash", "fwd", 1.0)],
                        {"T": 2048}, "sdpa_flash", ceil)  # fmt: skip
    assert wrong[0].met is False and "WRONG" in wrong[0].note  # fast but wrong is a miss
    assert wrong[1].met is False  # 900 TFLOP/s, but wrong
    assert wrong[3].met is None and "triton bwd: not run" in wrong[3].note  # no backward measured


def _tiny_campaign() -> CampaignConfig:
    return CampaignConfig(
        dtype=torch.float32, budget_s=120, check_dtypes=(torch.float32,),
        target_shapes=({"B": 1, "H": 1, "T": 17, "D": 16, "causal": True},), yardstick="sdpa",
        ops=("attention", "dummy"), attention_check_shapes=({"B": 1, "H": 2, "Hkv": 1, "T": 9, "D": 80, "pad": 3},),
        smallest_shape_only=True, shrink_to=16, skip_impls=("compile",), notes=["test run"],
        swap_models=(("bert", "tiny", 1),), swap_ops=("attention",),
    )  # fmt: skip


def test_campaign_code_path_on_the_cpu(dummy_op, tmp_path):
    camp = run_campaign("cpu", tmp_path, _tiny_campaign(), log=lambda s: None)
    assert camp.notes == ["test run"] and camp.ceilings is not None and camp.goal_timings and camp.comparisons
    (swapped,) = camp.swaps
    assert swapped.run.ok and swapped.run.swap.swapped_sites == 2 and swapped.status == "interpreted"
    assert len(camp.goals) == len(ATTENTION_GOALS) and all(
        g.met is None for g in camp.goals
    )  # interpreted: not judged
    checks = [r for r in camp.checks if r.op == "attention" and r.impl == "triton"]
    assert checks and all(c.ok for c in checks)
    assert any(r.impl == "wrong" and r.ok is False for r in camp.checks)
    assert (tmp_path / "targets.md").read_text().count("| not measured |") == len(ATTENTION_GOALS)
    assert (tmp_path / "kernels_dummy.png").exists() and (tmp_path / "kernels_attention.json").exists()
    saved = read(
        tmp_path / "campaign.json", kinds=("campaign",)
    )  # the checkpoint, rewritten after every step
    assert saved.status == camp.status == "done" and len(saved.comparisons) == len(camp.comparisons)
    assert len(saved.swaps) == 1 and saved.budget_s == 120


def test_campaign_checkpoints_after_every_step(dummy_op, tmp_path, monkeypatch):
    from benchbench.runs import campaign as kernel_campaign

    seen = []
    real = kernel_campaign.write

    def spy(path, record):
        seen.append((record.status, len(record.goal_timings), len(record.checks), len(record.comparisons),
                     len(record.swaps)))  # fmt: skip
        return real(path, record)

    monkeypatch.setattr(kernel_campaign, "write", spy)
    run_campaign("cpu", tmp_path, _tiny_campaign(), log=lambda s: None)
    # start, 1 target, 2 ops checked, 2 ops compared, 1 swap, the end
    assert [s[0] for s in seen] == ["running"] * 7 + ["done"]
    assert seen[0][1:] == (0, 0, 0, 0)  # written before any work
    assert seen[1][1] > 0 and seen[1][2:] == (0, 0, 0)  # after the target: its timings, nothing else yet
    assert seen[-2][4] == 1  # the swap is in before the end
    grows = [all(p <= q for p, q in zip(x[1:], y[1:])) for x, y in itertools.pairwise(seen)]
    assert all(grows)  # a checkpoint never loses what an earlier one had


def test_campaign_skips_work_past_its_budget(dummy_op, tmp_path):
    cfg = _tiny_campaign()
    cfg.budget_s = 0.0
    camp = run_campaign("cpu", tmp_path, cfg, log=lambda s: None)
    rows = [*camp.checks, *camp.comparisons, *camp.swaps]
    assert rows and all(r.status == "skipped" for r in rows)
    assert read(tmp_path / "campaign.json", kinds=("campaign",)).status == "budget spent"


def test_gpu_suite_runs_the_campaign_into_the_run_folder(dummy_op, tmp_path, monkeypatch):
    from benchbench.record.run import load_run
    from benchbench.runs import campaign as kernel_campaign
    from benchbench.runs.run import run_suite
    from benchbench.runs.suite import SUITES

    monkeypatch.setattr(
        kernel_campaign.CampaignConfig,
        "for_device",
        classmethod(lambda cls, d, budget_s=None: _tiny_campaign()),
    )
    run_dir = run_suite(SUITES["gpu"].settings(device="cpu"), tmp_path, progress=False).run_dir
    run = load_run(run_dir)
    assert run.suite == "gpu" and not run.profiles
    assert any(r.op == "dummy" for r in run.campaign.comparisons)
    assert (run_dir / "targets.md").exists() and (run_dir / "report.md").exists()
