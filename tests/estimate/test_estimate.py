"""Estimates: the training figure follows from the stated FLOPs, peak and utilisation; memory fit and budget search."""

from __future__ import annotations

import json

import pytest

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.estimate.cost import estimate, facts_from_profile, gpu_hours, inference_estimate, memory_fit
from benchbench.estimate.hardware import get_hardware
from benchbench.measure.profile import profile
from benchbench.measure.timing import TimingConfig

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=5, min_time_s=0.0)


@pytest.fixture(scope="module")
def facts():
    return facts_from_profile(
        profile("resnet18", size="tiny", batch_size=2, timing=FAST, layers=True, train_step_peak=False)
    )


@pytest.mark.parametrize(
    "hw, dtype, util", [("h100-sxm", "bfloat16", 0.4), ("t4", "float16", 0.3), ("a100-40gb", "float32", 0.5)]
)
def test_training_figure_follows_from_assumptions(facts, hw, dtype, util):
    est = estimate(facts, get_hardware(hw), train_samples=1_281_167, epochs=90, utilization=util, dtype=dtype)
    a, tr = est["assumptions"], est["training"]
    recomputed = (
        3 * a["forward_flops_per_sample"] * 1_281_167 * 90 / (a["peak_flops"] * a["utilization"]) / 3600
    )
    assert tr["gpu_hours"] == pytest.approx(recomputed, rel=1e-12)
    assert tr["cost_usd"] == pytest.approx(recomputed * a["price_per_hour"])
    assert a["forward_flops_per_sample"] == pytest.approx(facts.forward_flops)
    assert gpu_hours(facts.forward_flops, 1_281_167, 90, a["peak_flops"], util) == pytest.approx(recomputed)


def test_memory_fit_and_largest_batch(facts):
    hw = get_hardware("t4")
    m = memory_fit(facts, hw, 8)
    assert m["fits"] is True
    assert memory_fit(facts, hw, m["max_batch_size"])["fits"] is True
    assert memory_fit(facts, hw, m["max_batch_size"] + 1)["fits"] is False


def test_measured_on_the_device_it_was_measured(facts):
    # The profile ran on this CPU at batch 2: the estimate for 'cpu' at batch 2 uses that measurement.
    cpu = get_hardware("cpu")
    e = inference_estimate(facts, cpu, 2, 0.4, "float32")
    assert e["source"] == "measured" and e["latency_ms"] == facts.profile.latency.p50_ms
    assert inference_estimate(facts, get_hardware("l4"), 2, 0.4, "float32")["source"].startswith("roofline")


def test_cheapest_device_meets_budget(facts):
    est = estimate(facts, get_hardware("h100-sxm"), latency_budget_ms=0.05)
    ranked = est["budget"]["ranked"]
    assert ranked and all(r["latency_ms"] <= 0.05 for r in ranked)
    assert est["budget"]["cheapest"]["cost_per_million_usd"] == min(r["cost_per_million_usd"] for r in ranked)


@pytest.mark.parametrize(
    "kw", [{"utilization": 0}, {"utilization": 1.5}, {"batch_size": 0}, {"train_samples": -1}]
)
def test_bad_options(facts, kw):
    with pytest.raises(BadInputError):
        estimate(facts, get_hardware("l4"), **kw)


def test_cli_json_states_assumptions(tmp_path):
    out = tmp_path / "e.json"
    rc = main(["estimate", "mlp", "--size", "tiny", "--hardware", "h100-sxm", "--train-samples", "1000", "--epochs", "3",
               "--latency-budget-ms", "1", "--json", str(out)])  # fmt: skip
    assert rc == 0
    d = json.loads(out.read_text())
    for key in (
        "forward_flops_per_sample",
        "peak_flops",
        "utilization",
        "price_source",
        "backward_factor",
        "memory",
    ):
        assert key in d["assumptions"]
    tr, a = d["training"], d["assumptions"]
    assert tr["gpu_hours"] == pytest.approx(
        3 * a["forward_flops_per_sample"] * 1000 * 3 / (a["peak_flops"] * a["utilization"]) / 3600
    )
    assert d["budget"]["cheapest"] is not None


def test_cli_unknown_hardware_exits_2(capsys):
    assert main(["estimate", "mlp", "--hardware", "h100"]) == 2
