"""The timing core: warm-up, then timed repeats until the median is known well enough or a cap is reached.

Adaptive effort: after the floors (`min_repeats` calls and `min_time_s` seconds), repeats go on until the
distribution-free 95% CI of the median is at most `target_ci` of the median wide ((hi - lo) / p50, checked
every time the sample count grows by a quarter), or `max_time_s` or `max_repeats` is reached. The record's
`stop_reason` says which: "ci_target", "time_cap", "max_repeats" ("min_effort" when `target_ci` is None).

Long calls: `budget_s` bounds the wall time of the whole measurement, warm-up included, to about itself or
1 + `budget_min_repeats` calls, whichever is longer (3 + 10 calls of a 6 s forward would take 78 s; 7 calls take
42 s). The warm-up stops after its first call once it has used WARMUP_SHARE of the budget, and when the budget is
spent before the floors are met the repeats stop as soon as `budget_min_repeats` samples (6 by default: the fewest
with a 95% CI of the median) are in, with stop_reason "time_budget"; calls short enough to meet the floors within
the budget are measured exactly as before.

CPU timing reads `time.perf_counter_ns` around each call. CUDA timing records a pair of CUDA events around
each call and synchronises before reading them, optionally flushing the L2 cache before every repeat (outside
the timed region) so that kernel timings do not profit from a warm cache.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from benchbench.core.stats import median_ci_relative_width
from benchbench.measure.records import LatencyStats

L2_FLUSH_BYTES = 256 * 1024 * 1024  # larger than any current GPU's L2 (H100: 50 MB, MI300X: 256 MB LLC)
MIN_CI_SAMPLES = 6  # the fewest samples whose order statistics give a 95% CI of the median
WARMUP_SHARE = 0.1  # of `budget_s`: the warm-up stops after the call that passes it (a long call is warm)


@dataclass(frozen=True)
class TimingConfig:
    """How long to measure: floors (`min_repeats`, `min_time_s`), then until the CI target or a cap.

    `target_ci` is the relative width (hi - lo) / p50 of the median's 95% CI that ends the measurement
    (default 5%); None measures exactly to the floors. `max_time_s` and `max_repeats` cap the effort.
    `budget_s` (default 20 s; None: no budget) bounds warm-up plus repeats for calls so long that the floors
    would overrun it: then `budget_min_repeats` samples are taken and the stop reason is "time_budget" (the
    budget lowers the floors only; once they are met, `target_ci` and `max_time_s` decide as before).
    """

    warmup: int = 3
    min_repeats: int = 10
    max_repeats: int = 1000
    min_time_s: float = 0.2
    max_time_s: float = 1.0
    target_ci: float | None = 0.05
    flush_l2: bool = False
    budget_s: float | None = 20.0
    budget_min_repeats: int = MIN_CI_SAMPLES

    def __post_init__(self) -> None:
        if self.min_repeats < 1 or self.max_repeats < self.min_repeats or self.warmup < 0:
            raise ValueError(
                f"bad timing config {self}: need warmup >= 0 and 1 <= min_repeats <= max_repeats"
            )
        if self.min_time_s < 0 or self.max_time_s < self.min_time_s:
            raise ValueError(f"bad timing config {self}: need 0 <= min_time_s <= max_time_s")
        if self.target_ci is not None and self.target_ci <= 0:
            raise ValueError(f"bad timing config {self}: target_ci must be > 0 or None")
        if (self.budget_s is not None and self.budget_s <= 0) or self.budget_min_repeats < 1:
            raise ValueError(f"bad timing config {self}: need budget_s > 0 or None, budget_min_repeats >= 1")


def cpu_timer(fn: Callable[[], Any]) -> Callable[[], float]:
    """One timed call of `fn` on the host clock, in ms."""
    clock = time.perf_counter_ns

    def once() -> float:
        t0 = clock()
        fn()
        return (clock() - t0) * 1e-6

    return once


def cuda_timer(fn: Callable[[], Any], device: torch.device, flush_l2: bool = False) -> Callable[[], float]:
    """One timed call of `fn` between CUDA events (synchronised), in ms; the L2 flush, if any, is not timed."""
    flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device=device) if flush_l2 else None

    def once() -> float:
        if flush is not None:
            flush.zero_()  # evicts the L2; runs before the start event, so it is not timed
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        fn()
        end.record()
        end.synchronize()
        return begin.elapsed_time(end)

    return once


def timer_for(fn: Callable[[], Any], device: torch.device, flush_l2: bool = False) -> Callable[[], float]:
    """The per-call timer of `device` (CUDA events on a GPU, the host clock elsewhere)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return cuda_timer(fn, device, flush_l2)
    return cpu_timer(fn)


def sample(
    once: Callable[[], float], cfg: TimingConfig, spent_s: float = 0.0
) -> tuple[list[float], str, float]:
    """Call the timer `once` until `cfg` says stop: the samples (ms), the stop reason and the elapsed seconds.
    `spent_s`: seconds of the budget already used (by the warm-up)."""
    samples: list[float] = []
    append, clock = samples.append, time.perf_counter
    start = clock()
    next_check = max(cfg.min_repeats, MIN_CI_SAMPLES)
    budget = math.inf if cfg.budget_s is None else cfg.budget_s - spent_s
    while True:
        append(once())
        n = len(samples)
        elapsed = clock() - start
        if n >= cfg.max_repeats:
            return samples, "max_repeats", elapsed
        if n < cfg.min_repeats or elapsed < cfg.min_time_s:
            if elapsed >= budget and n >= cfg.budget_min_repeats:  # the budget only ever lowers the floors
                return samples, "time_budget", elapsed
            continue
        if cfg.target_ci is None:
            return samples, "min_effort", elapsed
        if n >= next_check:
            if median_ci_relative_width(samples) <= cfg.target_ci:
                return samples, "ci_target", elapsed
            next_check = n + max(1, n // 4)
        if elapsed >= cfg.max_time_s:
            return samples, "time_cap", elapsed


def warm_up(fn: Callable[[], Any], cfg: TimingConfig) -> float:
    """Up to `cfg.warmup` untimed calls, stopping after the one that passes WARMUP_SHARE of the budget; seconds."""
    clock = time.perf_counter
    start = clock()
    limit = math.inf if cfg.budget_s is None else WARMUP_SHARE * cfg.budget_s
    for _ in range(cfg.warmup):
        fn()
        if clock() - start >= limit:
            break
    return clock() - start


def measure(
    fn: Callable[[], Any],
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    config: TimingConfig | None = None,
) -> LatencyStats:
    """Time `fn()` on `device`: `config.warmup` untimed calls (fewer for calls long enough to spend the budget's
    warm-up share), then repeats until the config says stop."""
    cfg = config or TimingConfig()
    dev = torch.device(device)
    warm = warm_up(fn, cfg)
    samples, reason, elapsed = sample(timer_for(fn, dev, cfg.flush_l2), cfg, spent_s=warm)
    return LatencyStats.from_samples(
        samples, batch_size=batch_size, device=str(dev), threads=torch.get_num_threads(),
        stop_reason=reason, elapsed_s=elapsed,
    )  # fmt: skip
