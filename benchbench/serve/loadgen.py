"""The load generator: a Poisson arrival schedule, issued in real time by its own thread.

Arrivals follow a Poisson process (as MLPerf's Server scenario issues queries) conditioned on its count: given n
arrivals in [0, n / rate], a Poisson process's arrival times are n sorted uniforms on that interval. So every probe
offers exactly its nominal rate on average (independent exponential gaps would offer a realised rate a few percent
off it over a few hundred queries), with the exponential-like gaps and bursts of Poisson traffic. The generator
is seeded, so two probes with the same seed see the same pattern. The thread puts
`(index, scheduled time)` on a queue at each scheduled time; a query's latency is measured from its scheduled
time, so a generator that falls behind (it shares the cores with the model) makes latency worse, never better,
and how far behind it fell is recorded (`lag_ms`).
"""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

SPIN_S = 0.0005  # the last half millisecond before an arrival is waited out by yielding, not by sleep()


def poisson_offsets(rate_per_s: float, n: int, seed: int) -> np.ndarray:
    """Arrival times in seconds after the start of `n` queries of a Poisson process at `rate_per_s`, conditioned
    on n arrivals in [0, n / rate_per_s] (sorted uniforms)."""
    if not rate_per_s > 0 or n < 1:
        raise ValueError(f"need a rate > 0 and n >= 1, got rate {rate_per_s}, n {n}")
    return np.sort(np.random.default_rng(seed).uniform(0.0, n / rate_per_s, size=n))


class LoadGenerator(threading.Thread):
    """Issues query i on `out` at `start + offsets[i]` (perf_counter seconds) until all are issued or `stop`."""

    def __init__(
        self, start: float, offsets: np.ndarray, out: queue.SimpleQueue, stop: threading.Event
    ) -> None:
        super().__init__(name="benchbench-loadgen", daemon=True)
        self.due = start + offsets
        self.out, self.stop = out, stop
        self.issued = 0
        self.lag_ms: list[float] = []

    def run(self) -> None:
        clock = time.perf_counter
        for i, due in enumerate(self.due.tolist()):
            while not self.stop.is_set():
                wait = due - clock()
                if wait <= 0:
                    break
                if wait > SPIN_S:
                    time.sleep(wait - SPIN_S)
                else:
                    time.sleep(0)  # yield the GIL until the arrival
            if self.stop.is_set():
                return
            self.lag_ms.append((clock() - due) * 1e3)
            self.out.put((i, due))
            self.issued = i + 1
