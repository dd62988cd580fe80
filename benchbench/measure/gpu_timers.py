"""Three ways to time one GPU call, reported side by side, because each is wrong in its own way.

- **events**: a pair of CUDA events around each call and a synchronisation after it. Honest about one call in
  isolation, but a µs-scale kernel then also pays the CPU's launch overhead and the GPU idles between calls.
- **batched** (what `triton.testing.do_bench` does): events around each call, no synchronisation until the
  end, so the CPU queues ahead and launch overhead hides behind the previous call. The primary timer.
- **graph**: the call captured once into a CUDA graph and replayed: no per-kernel CPU launch cost at all, the
  floor a graph-captured training step would see (it removes overhead a real eager run pays).

In all three the L2 cache is flushed before every timed call by zeroing a buffer larger than any L2, on the same
stream but before the start event, so the flush is never inside the timed region (the CUDA-graph variant of
do_bench once flushed inside the graph or not at all: meta-pytorch/tritonbench#519, #527). Where the timers'
medians differ by more than 10% (`DISAGREE_ABOVE`), the result says so and all three are reported.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from benchbench.core.errors import BadInputError, one_line
from benchbench.measure.records import TimerReading

TIMERS = ("events", "batched", "graph")
DISAGREE_ABOVE = 1.10  # slowest / fastest median across the timers
L2_FLUSH_BYTES = 256 * 1024 * 1024  # larger than any current GPU's L2 (H100: 50 MB, MI300X: 256 MB LLC)


@dataclass(frozen=True)
class GpuTimerConfig:
    """Untimed warm-up calls (autotuning happens here), then `repeats` timed calls per timer."""

    warmup: int = 3
    repeats: int = 25
    flush_l2: bool = True

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"bad GPU timer config {self}: need repeats >= 1 and warmup >= 0")


def _cuda(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type != "cuda":
        raise BadInputError(
            f"GPU timers need a CUDA device, got {dev}; on a CPU use benchbench.measure.timing"
        )
    return dev


def _reading(timer: str, samples: list[float]) -> TimerReading:
    return TimerReading(timer, statistics.median(samples), min(samples), len(samples))


def _flush_buffer(dev: torch.device, cfg: GpuTimerConfig) -> torch.Tensor | None:
    return torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device=dev) if cfg.flush_l2 else None


def time_events(fn: Callable[[], Any], device: str | torch.device, cfg: GpuTimerConfig) -> TimerReading:
    """Events around each call, synchronised after each: one call in isolation, launch overhead included."""
    dev = _cuda(device)
    flush = _flush_buffer(dev, cfg)
    samples = []
    for _ in range(cfg.repeats):
        if flush is not None:
            flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return _reading("events", samples)


def _queued(run: Callable[[], Any], dev: torch.device, cfg: GpuTimerConfig) -> list[float]:
    """`run` repeated with events around each repeat and one synchronisation at the end."""
    flush = _flush_buffer(dev, cfg)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(cfg.repeats)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(cfg.repeats)]
    torch.cuda.synchronize(dev)
    for start, end in zip(starts, ends):
        if flush is not None:
            flush.zero_()  # before the start event: queued on the stream, outside the timed region
        start.record()
        run()
        end.record()
    torch.cuda.synchronize(dev)
    return [s.elapsed_time(e) for s, e in zip(starts, ends)]


def time_batched(fn: Callable[[], Any], device: str | torch.device, cfg: GpuTimerConfig) -> TimerReading:
    """do_bench-style: events around each call, one synchronisation at the end (launches overlap the GPU)."""
    return _reading("batched", _queued(fn, _cuda(device), cfg))


def time_graph(fn: Callable[[], Any], device: str | torch.device, cfg: GpuTimerConfig) -> TimerReading:
    """The call captured once into a CUDA graph, then each replay timed; the flush stays outside the graph."""
    dev = _cuda(device)
    side = torch.cuda.Stream(dev)
    side.wait_stream(torch.cuda.current_stream(dev))
    with torch.cuda.stream(side):  # capture needs warmed-up allocations on a side stream
        for _ in range(2):
            fn()
    torch.cuda.current_stream(dev).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return _reading("graph", _queued(graph.replay, dev, cfg))


def time_all(
    fn: Callable[[], Any], device: str | torch.device, cfg: GpuTimerConfig | None = None
) -> list[TimerReading]:
    """Each of the three timers on `fn` after `cfg.warmup` untimed calls; a timer that fails says why."""
    cfg = cfg or GpuTimerConfig()
    dev = _cuda(device)
    for _ in range(cfg.warmup):
        fn()
    torch.cuda.synchronize(dev)
    readings = []
    for name, timer in (("events", time_events), ("batched", time_batched), ("graph", time_graph)):
        try:
            readings.append(timer(fn, dev, cfg))
        except Exception as exc:  # e.g. a call that cannot be captured into a graph
            readings.append(TimerReading(name, None, note=one_line(exc)))
    return readings


def spread(readings: list[TimerReading]) -> float | None:
    """Slowest median / fastest median among the timers that gave one (None with fewer than two)."""
    p50s = [r.p50_ms for r in readings if r.p50_ms]
    return max(p50s) / min(p50s) if len(p50s) >= 2 else None


def disagree(readings: list[TimerReading]) -> bool:
    """Whether the timers differ by more than DISAGREE_ABOVE (then all of them are to be read)."""
    s = spread(readings)
    return s is not None and s > DISAGREE_ABOVE
