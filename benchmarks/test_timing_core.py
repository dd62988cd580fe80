"""The timing core against torch.utils.benchmark.Timer on one fixed workload, measured side by side.

Both time a 512×512 fp32 matmul on the CPU with one thread, in alternating rounds so that drift in
the machine's speed hits both alike; on a quiet machine the ratio of their medians should be within 0.95–1.05.
Run: `python -m pytest benchmarks/test_timing_core.py -s`.
"""

import statistics

import torch
import torch.utils.benchmark as tb

from benchbench.measure.timing import TimingConfig, measure

ROUNDS = 5


def timing_core_vs_torch_timer(n: int = 512, rounds: int = ROUNDS) -> tuple[float, float]:
    """Median per-call ms of a matmul from benchbench.measure.timing and from torch's Timer, in alternating rounds."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    ours, theirs = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(rounds):
            ours.append(
                measure(lambda: a @ b, config=TimingConfig(warmup=5, min_repeats=20, min_time_s=0.3)).p50_ms
            )
            timer = tb.Timer(stmt="a @ b", globals={"a": a, "b": b}, num_threads=1)
            theirs.append(timer.blocked_autorange(min_run_time=0.3).median * 1e3)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(ours), statistics.median(theirs)


def test_timing_core_agrees_with_torch_timer():
    ours, theirs = timing_core_vs_torch_timer()
    ratio = ours / theirs
    print(
        f"\n512x512 matmul, 1 thread: benchbench.measure.timing p50 {ours:.4f} ms, torch Timer median {theirs:.4f} ms, ratio {ratio:.3f}"
    )
    assert 0.95 <= ratio <= 1.05, f"timing core disagrees with torch.utils.benchmark.Timer: ratio {ratio:.3f}"
