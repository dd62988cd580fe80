"""Roofline: the latency bound on the CPU, from measured ceilings, never exceeds the measured time."""

from __future__ import annotations

import pytest

from benchbench.estimate.hardware import local_cpu
from benchbench.estimate.roofline import (
    model_roofline,
    model_traffic,
    point,
)
from benchbench.measure.profile import profile
from benchbench.measure.timing import TimingConfig
from benchbench.report.plots import roofline_svg

FAST = TimingConfig(warmup=2, min_repeats=5, max_repeats=20, min_time_s=0.0)


@pytest.fixture(scope="module")
def cpu():
    return local_cpu()


@pytest.mark.parametrize("model, batch", [("mlp", 4), ("resnet18", 2), ("bert", 1)])
def test_bound_below_measured(cpu, model, batch):
    p = profile(model, size="tiny", batch_size=batch, timing=FAST, memory=False)
    measured = p.latency.min_ms  # the fastest run: the strictest test of the bound
    pt = model_roofline(p, cpu, measured)
    assert pt is not None and 0 < pt.bound_ms <= measured
    assert 0 < pt.efficiency <= 1
    # the unfused traffic is at least the floor minus the inputs counted once
    t = model_traffic(p)
    assert t.bytes_unfused >= t.bytes_min * 0.5


def test_point_arithmetic(cpu):
    hw = cpu
    ridge = hw.ridge_point("float32")
    low, high = (
        point("a", ridge / 2 * 1e6, 1e6, hw, "float32"),
        point("b", ridge * 2 * 1e6, 1e6, hw, "float32"),
    )
    assert low.bound == "memory" and high.bound == "compute"
    assert low.bound_ms == pytest.approx(1e6 / hw.bandwidth_bytes_per_s * 1e3)
    assert high.bound_ms == pytest.approx(ridge * 2e6 / hw.peak_flops("float32") * 1e3)


def test_plot(cpu):
    p = profile("mlp", size="tiny", batch_size=2, timing=FAST, memory=False)
    svg = roofline_svg([model_roofline(p, cpu, 1.0)], cpu)
    assert svg.startswith("<svg") and "</svg>" in svg
