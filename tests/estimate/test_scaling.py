"""Scaling: scaled configs per family, exponent fits, and a small measured plan."""

from __future__ import annotations

import math

import pytest

from benchbench.core.errors import BadInputError
from benchbench.estimate.scaling import TOKENS_PER_PARAM, fit_exponent, scaled_config, scaling_plan
from benchbench.measure.timing import TimingConfig
from benchbench.models.registry import get_model_spec, list_models


@pytest.mark.parametrize("name", list_models())
def test_width_scaling_builds_and_grows(name):
    spec = get_model_spec(name)
    cfg = spec.config("tiny")
    try:
        wide = scaled_config(cfg, "width", 2.0)
    except BadInputError as e:
        pytest.skip(f"no width field: {e}")
    assert wide != cfg
    n0 = sum(p.numel() for p in spec.builder(cfg).parameters())
    n1 = sum(p.numel() for p in spec.builder(wide).parameters())
    assert n1 > n0


@pytest.mark.parametrize("b", [0.5, 1.0, 2.0, 3.0])
def test_fit_exponent_recovers_power_law(b):
    xs = [1.0, 2.0, 4.0]
    assert fit_exponent(xs, [7 * x**b for x in xs]) == pytest.approx(b)


def test_fit_needs_two_points():
    assert fit_exponent([1.0, 2.0], [3.0, None]) is None


def test_no_depth_field_is_bad_input():
    with pytest.raises(BadInputError, match="no depth field"):
        scaled_config(get_model_spec("pointnet").config("tiny"), "depth", 2.0)


def test_plan_for_a_sequence_model():
    plan = scaling_plan(
        "bert", size="tiny", factors=(1.0, 2.0), timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0.0)
    )
    assert set(plan.exponents) == {"width", "depth"}
    # width: the weight matrices grow quadratically, the embeddings linearly → between 1 and 2
    assert 1.0 < plan.exponents["width"]["params"] <= 2.0
    # depth: FLOPs of the encoder layers dominate → close to linear
    assert 0.7 < plan.exponents["depth"]["flops"] <= 1.05
    assert plan.sequence_model and all(
        p.compute_optimal_tokens == TOKENS_PER_PARAM * p.params for p in plan.points
    )
    assert math.isclose(plan.doubling["width"]["params"], 2 ** plan.exponents["width"]["params"])
