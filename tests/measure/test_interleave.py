"""Interleaved rounds: the same calls per arm, rotating order, contexts around blocks, and ratios with CIs."""

from __future__ import annotations

import contextlib
import time

import pytest

from benchbench.measure.interleave import MIN_ROUNDS, interleave
from benchbench.measure.timing import TimingConfig


def test_rounds_rotate_and_give_every_arm_the_same_calls():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    cfg = TimingConfig(warmup=0, min_repeats=1, max_repeats=1000, min_time_s=0.0, target_ci=None)
    res = interleave(fns, config=cfg, calls_per_round=3, lead_in_s=0.0)
    assert res.rounds == -(-MIN_ROUNDS // 3) * 3 and res.stop_reason == "min_effort"  # whole turns of 3
    assert {len(v) for v in res.samples.values()} == {3 * res.rounds}
    assert len(calls) == 9 * res.rounds  # no warm-up, and no probe calls when calls_per_round is given
    assert [calls[9 * r] for r in range(res.rounds)] == ["a", "b", "c"] * (
        res.rounds // 3
    )  # each leads in turn
    assert calls[:9] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3  # a block of calls per arm


def test_a_context_wraps_each_block_of_its_arm():
    entered = []

    @contextlib.contextmanager
    def paused():
        entered.append(1)
        yield

    cfg = TimingConfig(warmup=2, min_repeats=1, max_repeats=100, min_time_s=0.0, target_ci=None)
    res = interleave(
        {"a": lambda: None, "b": lambda: None},
        config=cfg,
        contexts={"b": paused},
        calls_per_round=4,
        lead_in_s=0.0,
    )
    assert len(entered) == 1 + res.rounds  # once around the warm-up, once per round


def test_every_block_opens_with_untimed_calls_inside_its_context():
    """The calls right after another arm's block are not timed: untimed calls lasting `lead_in_s` open each
    block, inside the arm's context, and only the `calls_per_round` after them are samples."""
    calls: list[tuple[str, bool]] = []
    inside = {"b": False}

    @contextlib.contextmanager
    def marked():
        inside["b"] = True
        yield
        inside["b"] = False

    fns = {"a": lambda: calls.append(("a", False)), "b": lambda: calls.append(("b", inside["b"]))}
    cfg = TimingConfig(warmup=0, min_repeats=1, max_repeats=1000, min_time_s=0.0, target_ci=None)
    res = interleave(fns, config=cfg, calls_per_round=2, contexts={"b": marked}, lead_in_s=0.002)
    assert res.lead_in_s == {"a": 0.002, "b": 0.002}
    assert {len(v) for v in res.samples.values()} == {2 * res.rounds}  # samples: the timed calls only
    per_arm = {n: sum(1 for c in calls if c[0] == n) for n in fns}
    assert all(per_arm[n] > 2 * res.rounds + res.rounds for n in fns)  # >= 1 lead-in call per block, untimed
    assert all(in_ctx for n, in_ctx in calls if n == "b")


def test_the_lead_in_defaults_to_a_few_ms_and_is_skipped_for_slow_arms():
    from benchbench.measure.interleave import LEAD_IN_LONG_S, LEAD_IN_S

    cfg = TimingConfig(warmup=0, min_repeats=1, max_repeats=8, min_time_s=0.0, target_ci=None)
    res = interleave({"fast": lambda: None, "slow": lambda: time.sleep(LEAD_IN_LONG_S * 1.2)}, config=cfg,
                     calls_per_round=1, min_rounds=2)  # fmt: skip
    assert res.lead_in_s == {"fast": LEAD_IN_S, "slow": 0.0}


def test_a_threefold_difference_is_found_through_the_noise():
    """Sleeps of 2 and 6 ms: on a loaded machine wake-ups come late, which only pulls the ratio towards 1."""
    cfg = TimingConfig(warmup=1, min_repeats=6, max_repeats=200, min_time_s=0.0, max_time_s=1.0)
    res = interleave({"short": lambda: time.sleep(0.002), "long": lambda: time.sleep(0.006)}, config=cfg)
    r = res.ratio("long", "short")
    assert r.lo <= r.value <= r.hi and r.significant and r.lo > 1.3
    assert res.stats("long").p50_ms > res.stats("short").p50_ms
    assert res.stats("short").stop_reason == res.stop_reason


def test_one_arm_is_refused():
    with pytest.raises(ValueError, match="two or more arms"):
        interleave({"a": lambda: None})
