"""The timing core: warm-up, then timed repeats until a minimum time and count, summarised as percentiles.

CPU timing reads `time.perf_counter_ns` around each call. CUDA timing records a pair of CUDA
events around each call and synchronises before reading them, optionally flushing the L2 cache
before every repeat (outside the timed region) so that kernel timings do not profit from a warm cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from benchbench.core.results import LatencyStats

L2_FLUSH_BYTES = 256 * 1024 * 1024  # larger than any current GPU's L2 (H100: 50 MB, MI300X: 256 MB LLC)


@dataclass(frozen=True)
class TimingConfig:
    """How long to measure: at least `min_repeats` and `min_time_s`, at most `max_repeats`."""

    warmup: int = 3
    min_repeats: int = 10
    max_repeats: int = 1000
    min_time_s: float = 0.2
    flush_l2: bool = False

    def __post_init__(self) -> None:
        if self.min_repeats < 1 or self.max_repeats < self.min_repeats or self.warmup < 0:
            raise ValueError(
                f"bad timing config {self}: need warmup >= 0 and 1 <= min_repeats <= max_repeats"
            )


def _cpu_samples(fn: Callable[[], Any], cfg: TimingConfig) -> list[float]:
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < cfg.max_repeats and (
        len(samples) < cfg.min_repeats or time.perf_counter() - start < cfg.min_time_s
    ):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples


def _cuda_samples(fn: Callable[[], Any], cfg: TimingConfig, device: torch.device) -> list[float]:
    flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device=device) if cfg.flush_l2 else None
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < cfg.max_repeats and (
        len(samples) < cfg.min_repeats or time.perf_counter() - start < cfg.min_time_s
    ):
        if flush is not None:
            flush.zero_()  # evicts the L2; runs before the start event, so it is not timed
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(begin.elapsed_time(end))
    return samples


def measure(
    fn: Callable[[], Any],
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    config: TimingConfig | None = None,
) -> LatencyStats:
    """Time `fn()` on `device`: `config.warmup` untimed calls, then repeats until the config is met."""
    cfg = config or TimingConfig()
    dev = torch.device(device)
    for _ in range(cfg.warmup):
        fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        samples = _cuda_samples(fn, cfg, dev)
    else:
        samples = _cpu_samples(fn, cfg)
    return LatencyStats.from_samples(
        samples, batch_size=batch_size, device=str(dev), threads=torch.get_num_threads()
    )
